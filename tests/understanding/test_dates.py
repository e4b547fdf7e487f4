"""Days asked for, relative to Tuesday 1 December 2026, 10:00 in Paris."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from callcenter.understanding import understand
from tests.understanding.corpus import DOCTORS, catalogue, run


@pytest.mark.parametrize(
    ("said", "day"),
    [
        ("aujourd'hui", "2026-12-01"),
        ("demain", "2026-12-02"),
        ("après-demain", "2026-12-03"),
        ("après demain", "2026-12-03"),
        ("jeudi", "2026-12-03"),
        ("ce jeudi", "2026-12-03"),
        ("jeudi qui vient", "2026-12-03"),
        # A weekday alone is the next one, today excluded: « mardi » said on a Tuesday.
        ("mardi", "2026-12-08"),
        ("lundi", "2026-12-07"),
        # « prochain »: in next week (Monday to Sunday), even when this week's is to come.
        ("jeudi prochain", "2026-12-10"),
        ("lundi prochain", "2026-12-07"),
        ("mercredi de la semaine prochaine", "2026-12-09"),
        ("lundi en huit", "2026-12-14"),
        ("jeudi en huit", "2026-12-10"),
        ("vendredi dernier", "2026-11-27"),
        ("le 3", "2026-12-03"),
        ("le trois", "2026-12-03"),
        ("le trois décembre", "2026-12-03"),
        ("3 décembre", "2026-12-03"),
        ("le premier", "2026-12-01"),  # today's own date: today
        ("le 1er janvier", "2027-01-01"),
        ("le premier février", "2027-02-01"),
        ("le 30", "2026-12-30"),
        ("le vingt-huit novembre", "2026-11-28"),  # a recent day stays in the past
        ("le 15 octobre", "2027-10-15"),  # more than a month past: next year's
        ("jeudi 10 décembre", "2026-12-10"),
        ("dans quinze jours", "2026-12-15"),
        ("dans huit jours", "2026-12-08"),
        ("dans 3 jours", "2026-12-04"),
        ("dans deux semaines", "2026-12-15"),
        ("la semaine prochaine", "2026-12-07"),
    ],
)
def test_days(said: str, day: str):
    assert run(f"un rendez-vous {said}").as_json()["date"] == day


@pytest.mark.parametrize(
    "said",
    ["un rendez-vous", "à 3 heures", "le 2 enfants", "mon fils a 3 ans", "le premier rendez-vous"],
)
def test_no_day(said: str):
    assert run(said).date is None


def test_next_week_is_the_practice_first_open_day():
    moment = datetime.fromisoformat("2026-12-01T10:00:00+01:00")
    tz = ZoneInfo("Europe/Paris")
    closed_mondays = understand(
        "la semaine prochaine", catalogue(), DOCTORS, moment, tz, open_days=[1, 2, 3, 4]
    )
    assert closed_mondays.date == date(2026, 12, 8)
    holiday = understand(
        "la semaine prochaine",
        catalogue(),
        DOCTORS,
        moment,
        tz,
        open_days=[0, 1, 2, 3, 4],
        closed=lambda day: day == date(2026, 12, 7),
    )
    assert holiday.date == date(2026, 12, 8)
    # Nothing known of the practice's hours: Monday.
    assert understand("la semaine prochaine", catalogue(), DOCTORS, moment, tz).date == date(
        2026, 12, 7
    )


def test_today_is_the_practice_day_not_utc():
    # 23:30 UTC on Monday is already Tuesday in Paris: « demain » is Wednesday.
    moment = datetime.fromisoformat("2026-11-30T23:30:00+00:00")
    request = understand("demain", catalogue(), DOCTORS, moment, ZoneInfo("Europe/Paris"))
    assert request.date == date(2026, 12, 2)


def test_end_of_month_rolls_over():
    moment = datetime.fromisoformat("2026-12-30T10:00:00+01:00")
    tz = ZoneInfo("Europe/Paris")
    assert understand("le 3", catalogue(), DOCTORS, moment, tz).date == date(2027, 1, 3)
    assert understand("jeudi", catalogue(), DOCTORS, moment, tz).date == date(2026, 12, 31)
    assert understand("dans 15 jours", catalogue(), DOCTORS, moment, tz).date == date(2027, 1, 13)


@pytest.mark.parametrize(
    "said",
    ["j'ai mal depuis ce matin", "il saigne depuis une heure", "j'ai de la fièvre depuis lundi"],
)
def test_a_day_dating_the_past_is_not_asked_for(said: str):
    got = run(said).as_json()
    assert (got["date"], got["period"], got["time"]) == (None, None, None)
