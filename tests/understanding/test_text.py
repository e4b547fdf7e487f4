"""Numbers in words and the plain form every catalogue word is compared with."""

from __future__ import annotations

import pytest

from callcenter.understanding.text import digits, plain


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("Rendez-vous à 14h30 !", "rendez vous a 14 h 30"),
        ("Aujourd'hui, l'après-midi", "aujourd hui l apres midi"),
        ("le 1er", "le 1 er"),
        ("cœur", "coeur"),
        ("  plusieurs   espaces ", "plusieurs espaces"),
    ],
)
def test_plain(written: str, expected: str):
    assert plain(written) == expected


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("dans quinze jours", "dans 15 jours"),
        ("à quatorze heures trente", "a 14 heures 30"),
        ("le vingt et un décembre", "le 21 decembre"),
        ("le deux", "le 2"),  # small numbers too
        ("dix-sept heures", "17 heures"),
        ("le premier", "le 1 er"),
    ],
)
def test_digits(said: str, expected: str):
    assert digits(said, "fr-FR") == expected


def test_digits_of_an_unknown_language_keeps_the_words():
    assert digits("quinze jours", "xx-XX") == "quinze jours"
