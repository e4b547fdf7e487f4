"""Phone numbers: E.164 normalisation and withheld caller IDs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.core.phone_numbers import is_withheld, normalize


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("06 12 34 56 78", "+33612345678"),
        ("06.12.34.56.78", "+33612345678"),
        ("06-12-34-56-78", "+33612345678"),
        ("0612345678", "+33612345678"),
        (" 06 12 34 56 78 ", "+33612345678"),
        ("+33612345678", "+33612345678"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("+33 (0)6 12 34 56 78", "+33612345678"),
        ("0033612345678", "+33612345678"),
        ("01 84 88 00 00", "+33184880000"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_french_and_international_formats_become_e164(number: str, expected: str) -> None:
    """Every way a number is written reaches one canonical E.164 form."""
    assert normalize(number) == expected


@pytest.mark.parametrize(
    "caller", ["anonymous", "Anonymous", "+266696687", "266696687", "RESTRICTED", "", None]
)
def test_withheld_sentinels_normalize_to_none(caller: str | None) -> None:
    """A withheld caller ID is no number at all."""
    assert normalize(caller) is None


@pytest.mark.parametrize("garbage", ["hello", "12", "06 12 34", "+", "07 00 00 00 00", "\x00"])
def test_garbage_normalizes_to_none(garbage: str) -> None:
    """Text that is not a valid number gives None, not an exception."""
    assert normalize(garbage) is None


@pytest.mark.parametrize("overlong", ["1" * 41, "06 12 34 56 78 " * 3, "+33612345678" + " " * 40])
def test_overlong_input_normalizes_to_none(overlong: str) -> None:
    """More than 40 characters is refused before parsing, even around a valid number."""
    assert normalize(overlong) is None


@pytest.mark.parametrize(
    "caller",
    [
        None,
        "",
        "   ",
        "anonymous",
        "ANONYMOUS",
        "+anonymous",
        "restricted",
        "Private",
        "unknown",
        "unavailable",
        "blocked",
        "+266696687",
        " 266696687 ",
        "+7378742833",
        "+2562533",
        "+8656696",
        "+86282452253",
    ],
)
def test_withheld_caller_ids_are_recognised(caller: str | None) -> None:
    """Carrier sentinels, as words or keypad digits, any case, with or without '+'."""
    assert is_withheld(caller)


@pytest.mark.parametrize("caller", ["+33612345678", "06 12 34 56 78", "hello", "+266696688"])
def test_real_or_unparseable_numbers_are_not_withheld(caller: str) -> None:
    """Only the sentinels are withheld; a mere invalid number is not."""
    assert not is_withheld(caller)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.text(alphabet="0123456789 +-.()", max_size=45)))
def test_normalize_never_raises_and_returns_e164_or_none(text: str) -> None:
    """Any text gives None or a '+'-prefixed E.164 string that normalises to itself."""
    result = normalize(text)
    assert result is None or (result.startswith("+") and result[1:].isdigit())
    if result is not None:
        assert normalize(result) == result
