"""Periods and clock times: said, bounded, or derived."""

from __future__ import annotations

import pytest

from tests.understanding.corpus import run


@pytest.mark.parametrize(
    ("said", "period", "clock"),
    [
        ("le matin", "morning", None),
        ("dans la matinée", "morning", None),
        ("l'après-midi", "afternoon", None),
        ("l'aprèm", "afternoon", None),
        ("en fin d'après-midi", "evening", None),
        ("le soir", "evening", None),
        ("après 17 h", "evening", None),
        ("après 14 heures", "afternoon", None),
        ("avant 10 h", "morning", None),
        ("avant midi", "morning", None),
        ("vers 10 h", "morning", "10:00"),
        ("à 14 h 30", "afternoon", "14:30"),
        ("à 14h30", "afternoon", "14:30"),
        ("à quatorze heures trente", "afternoon", "14:30"),
        ("à dix heures et demie", "morning", "10:30"),
        ("à dix heures et quart", "morning", "10:15"),
        ("à onze heures moins le quart", "morning", "10:45"),
        ("à 3 heures", "afternoon", "15:00"),  # the practice sleeps at night
        ("à 3 heures du matin", "morning", "03:00"),
        ("à 7 h du soir", "evening", "19:00"),
        ("à midi", "afternoon", "12:00"),
        ("vers midi et demi", "afternoon", "12:30"),
        ("à 17 h", "evening", "17:00"),
        ("jeudi matin vers 10 h", "morning", "10:00"),
    ],
)
def test_periods_and_times(said: str, period: str, clock: str | None):
    got = run(f"un rendez-vous {said}").as_json()
    assert (got["period"], got["time"]) == (period, clock)


def test_a_time_against_a_later_period_keeps_the_period_alone():
    got = run("pas à 10 h plutôt l'après-midi").as_json()
    assert (got["period"], got["time"]) == ("afternoon", None)


def test_nothing_said():
    got = run("un rendez-vous jeudi").as_json()
    assert (got["period"], got["time"]) == (None, None)
