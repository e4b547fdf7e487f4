"""The one YAML field reader every loader uses: its loading, and each kind of field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from callcenter.core.yaml_fields import (
    FieldError,
    Fields,
    NotYaml,
    SafeLoader,
    in_file,
    load_yaml,
    parse_yaml,
)


class LoaderError(Exception):
    """A loader's own exception, made through in_file."""


def refusal(data: Any, read: Any) -> str:
    with pytest.raises(FieldError) as caught:
        read(Fields(data, "top"))
    return str(caught.value)


# -- loading ----------------------------------------------------------------------------
def test_the_c_loader_is_used_where_pyyaml_has_it() -> None:
    expected = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
    assert SafeLoader is expected


def test_a_file_loads_safely(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("name: Cabinet\nclosures: [2026-12-25]\n", encoding="utf-8")
    data = load_yaml(path)
    assert data["name"] == "Cabinet" and str(data["closures"][0]) == "2026-12-25"
    with pytest.raises(NotYaml):
        parse_yaml("!!python/object/apply:os.system ['true']")


def test_an_empty_text_is_none() -> None:
    assert parse_yaml("") is None


def test_a_syntax_error_names_the_line_in_one_line() -> None:
    with pytest.raises(NotYaml) as caught:
        parse_yaml("a: 1\nb: [unclosed\n")
    assert str(caught.value).startswith("not valid YAML at line")
    assert caught.value.line is not None and "\n" not in str(caught.value)


def test_duplicate_keys_are_refused_only_when_asked() -> None:
    text = "a: 1\nb: 2\na: 3\n"
    assert parse_yaml(text) == {"a": 3, "b": 2}
    with pytest.raises(NotYaml) as caught:
        parse_yaml(text, unique_keys=True)
    assert str(caught.value) == "not valid YAML at line 3 (duplicate key 'a')"


# -- fields -----------------------------------------------------------------------------
def test_a_mapping_is_required() -> None:
    with pytest.raises(FieldError, match=r"^top: must be a mapping \(a, b\)$"):
        Fields([1], "top", shape="a mapping (a, b)")
    with pytest.raises(FieldError, match=r"^must be a mapping$"):
        Fields("text")


def test_required_and_optional_values() -> None:
    fields = Fields({"name": "Cabinet", "blank": None, "count": 3})
    assert fields.value("name", str, "a text") == "Cabinet"
    assert fields.value("blank", str, "a text", default="x") == "x"
    assert fields.get("missing", 7) == 7
    assert refusal({}, lambda f: f.value("name", str, "a text")) == "top.name: is required"
    assert refusal({"name": 3}, lambda f: f.value("name", str, "a text")) == (
        "top.name: must be a text"
    )
    # true is no whole number, though Python's bool is an int.
    message = refusal({"n": True}, lambda f: f.value("n", int, "a number"))
    assert message == "top.n: must be a number"


def test_texts() -> None:
    fields = Fields({"a": "x", "empty": ""})
    assert fields.text("a") == "x"
    assert fields.text("empty", required=False) is None
    assert fields.text("missing", required=False) is None
    assert refusal({"a": ""}, lambda f: f.text("a")) == "top.a: is required"
    assert refusal({"a": 1}, lambda f: f.text("a", required=False)) == "top.a: must be a text"


def test_flags() -> None:
    assert Fields({"a": False}).flag("a") is False
    assert Fields({}).flag("a", default=True) is True
    assert refusal({"a": "yes"}, lambda f: f.flag("a")) == "top.a: must be true or false"


@pytest.mark.parametrize("value", [4, 121, "20", 2.5, True, None])
def test_a_whole_number_in_a_range(value: object) -> None:
    message = refusal({"ring": value}, lambda f: f.whole("ring", 5, 120, default=20))
    assert message == "top.ring: must be a whole number from 5 to 120"


def test_whole_numbers_default_and_bounds() -> None:
    fields = Fields({"ring": 5, "calls": 0})
    assert fields.whole("ring", 5, 120) == 5
    assert fields.whole("absent", 5, 120, default=20) == 20
    assert fields.whole("calls", 0, 600, note=" (0: no limit)") == 0
    message = refusal({"calls": -1}, lambda f: f.whole("calls", 0, 600, note=" (0: no limit)"))
    assert message == "top.calls: must be a whole number from 0 to 600 (0: no limit)"
    assert refusal({}, lambda f: f.whole("ring", 5, 120)) == "top.ring: is required"


def test_a_whole_number_with_no_upper_bound_names_its_unit() -> None:
    assert Fields({"days": 400}).whole("days", unit="days") == 400
    assert refusal({"days": -1}, lambda f: f.whole("days", unit="days")) == (
        "top.days: -1 is not a whole number of days (0 or more)"
    )


def test_one_of() -> None:
    fields = Fields({"mode": "sequential"})
    assert fields.one_of("mode", ("simultaneous", "sequential")) == "sequential"
    assert fields.one_of("absent", ("a", "b"), default="a") == "a"
    assert refusal({"mode": "x"}, lambda f: f.one_of("mode", ("a", "b"))) == (
        "top.mode: must be 'a' or 'b'"
    )
    assert refusal({"e": "x"}, lambda f: f.one_of("e", ("a", "b", "c"))) == (
        "top.e: 'x' is not one of a, b, c"
    )


def test_unknown_keys_are_refused() -> None:
    Fields({"a": 1}).refuse_unknown({"a", "b"})
    assert refusal({"a": 1, "zz": 2, "c": 3}, lambda f: f.refuse_unknown({"a"})) == (
        "top.c: unknown field"
    )
    message = refusal({"c": 1}, lambda f: f.refuse_unknown(("a", "b"), list_known=True))
    assert message == "top.c: unknown field (expected: a, b)"
    message = refusal({"password": "x"}, lambda f: f.refuse_unknown(("a",), hint="use a file"))
    assert message == "top.password: unknown field (use a file)"


def test_sections_name_their_fields_from_the_top() -> None:
    fields = Fields({"transfer": {"queue": {"size": 101}}})
    queue = fields.section("transfer").section("queue")
    with pytest.raises(FieldError, match=r"^transfer\.queue\.size: must be a whole number"):
        queue.whole("size", 0, 100)
    assert fields.section("absent").get("x") is None
    assert refusal({}, lambda f: f.section("s", required=True)) == "top.s: is required"
    assert refusal({"s": [1]}, lambda f: f.section("s", "a mapping (x)")) == (
        "top.s: must be a mapping (x)"
    )


def test_a_loader_words_its_errors_and_names_its_file() -> None:
    fields = Fields(
        {"transcription": None},
        error=in_file(LoaderError, "policy.yaml"),
        missing="required, {what}",
        wrong="required, {what}",
    )
    with pytest.raises(LoaderError, match=r"^policy\.yaml: transcription: required, a mapping$"):
        fields.section("transcription", required=True)
    with pytest.raises(LoaderError, match=r"^policy\.yaml: must be a mapping$"):
        Fields([], error=in_file(LoaderError, "policy.yaml"), wrong="must be {what}")
