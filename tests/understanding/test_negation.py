"""Negations and corrections: the caller's last word, unless denied."""

from __future__ import annotations

import pytest

from tests.understanding.corpus import run


@pytest.mark.parametrize(
    ("said", "day"),
    [
        ("pas mardi mercredi", "2026-12-02"),
        ("mercredi pas mardi", "2026-12-02"),
        ("mardi non mercredi", "2026-12-02"),
        ("mardi ou plutôt mercredi", "2026-12-02"),
        ("mardi enfin mercredi", "2026-12-02"),
        ("mercredi plutôt que mardi", "2026-12-02"),
        ("mercredi ou jeudi", "2026-12-02"),  # an offer of two: the first
        ("jeudi non pas jeudi vendredi", "2026-12-04"),
        ("je ne peux pas venir mardi", "2026-12-08"),  # only denied: still what was said
    ],
)
def test_days(said: str, day: str):
    assert run(said).as_json()["date"] == day


@pytest.mark.parametrize(
    ("said", "doctor"),
    [
        ("non pas le docteur martin le docteur bernard", "dr-bernard"),
        ("le docteur bernard pas le docteur martin", "dr-bernard"),
        ("le docteur bernard non pardon le docteur martin", "dr-martin"),
        ("le docteur martin ou le docteur bernard", "dr-martin"),
    ],
)
def test_doctors(said: str, doctor: str):
    assert run(f"un rendez-vous avec {said}").doctor == doctor


def test_periods():
    assert run("le matin pas l'après-midi").period == "morning"
    assert run("pas le matin l'après-midi").period == "afternoon"


@pytest.mark.parametrize(
    ("said", "intent"),
    [
        ("je ne veux pas de rendez-vous juste une ordonnance", "prescription"),
        ("je ne veux pas annuler je veux déplacer mon rendez-vous", "move"),
        ("je n'ai pas eu mes résultats", "results"),  # only denied: still the subject
        ("un certificat sans rendez-vous", "certificate"),
    ],
)
def test_intents(said: str, intent: str):
    assert run(said).intent == intent
