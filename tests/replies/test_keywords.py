"""A text is a keyword only when it is the keyword alone, however it is typed."""

from __future__ import annotations

import pytest

from callcenter.replies.keywords import ANNULER, MAX_CHARS, OUI, START, STOP, keyword


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("oui", OUI), ("Oui !", OUI), ("OUI merci", OUI), ("  oui\n", OUI), ("Oui 👍", OUI),
        ("ＯＵＩ", OUI), ("oui oui", OUI), ("Bonjour, oui merci beaucoup.", OUI),
        ("annuler", ANNULER), ("ANNULER", ANNULER), ("Annulé", ANNULER), ("annulez svp", ANNULER),
        ("Annulation s'il vous plaît", ANNULER), ("annulée", ANNULER),
        ("STOP", STOP), ("Stop", STOP), ("stop.", STOP), ("ARRET", STOP), ("arrêt", STOP),
        ("Arrêter", STOP), ("START", START), ("start", START),
    ],
)  # fmt: skip
def test_a_keyword_typed_any_way_is_read(body: str, expected: str) -> None:
    assert keyword(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        "", "   ", "?!", "non", "Non merci", "oui mais pas mardi", "je voudrais annuler jeudi",
        "STOP ANNULER", "oui stop", "ouiii", "annul", "stopper l'envoi de ventoline",
        "A" * (MAX_CHARS + 1), "oui" + " merci" * 400,
        "\u202eiuo", "o\u0000ui", "\U0001f600" * 50,
    ],
)  # fmt: skip
def test_anything_more_or_less_than_a_keyword_is_none(body: str) -> None:
    """A sentence asks something a person should answer: no action is guessed from a word."""
    assert keyword(body) is None


def test_invisible_characters_do_not_hide_a_keyword() -> None:
    """Zero-width spaces and joiners some phones insert split nothing and add nothing."""
    assert keyword("o\u200bui") is None  # split into two non-words: not read as OUI
    assert keyword("oui\u200b") == OUI
    assert keyword("\ufeffSTOP") == STOP
