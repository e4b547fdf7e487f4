"""Dates and times as a French caller hears them."""

from __future__ import annotations

from datetime import datetime

import pytest

from callcenter.core.spoken import spoken_datetime, spoken_time


@pytest.mark.parametrize(
    ("moment", "spoken"),
    [
        (datetime(2026, 11, 24, 9, 30), "mardi 24 novembre à 9 h 30"),
        (datetime(2026, 12, 1, 14, 0), "mardi 1er décembre à 14 h"),
        (datetime(2026, 2, 1, 8, 5), "dimanche 1er février à 8 h 05"),
        (datetime(2026, 8, 15, 0, 0), "samedi 15 août à 0 h"),
        (datetime(2026, 11, 23, 8, 30), "lundi 23 novembre à 8 h 30"),
    ],
)
def test_spoken_datetime_reads_as_french_speech(moment: datetime, spoken: str) -> None:
    """Weekday, day ('1er' on the first), month, then the time in 'h' form."""
    assert spoken_datetime(moment) == spoken


def test_the_first_of_the_month_is_said_premier() -> None:
    """Day 1 is '1er', other days are plain numbers."""
    assert " 1er " in spoken_datetime(datetime(2026, 6, 1, 10, 0))
    assert " 2 " in spoken_datetime(datetime(2026, 6, 2, 10, 0))


@pytest.mark.parametrize(
    ("moment", "spoken"),
    [
        (datetime(2026, 11, 24, 14, 0), "14 h"),
        (datetime(2026, 11, 24, 9, 30), "9 h 30"),
        (datetime(2026, 11, 24, 9, 5), "9 h 05"),
    ],
)
def test_on_the_hour_no_minutes_are_said(moment: datetime, spoken: str) -> None:
    """'14 h' on the hour; minutes otherwise, on two digits."""
    assert spoken_time(moment) == spoken


def test_the_next_opening_is_said_relative_to_now() -> None:
    from callcenter.core.spoken import spoken_relative

    now = datetime(2026, 12, 7, 13, 0)  # Monday, at the lunch break
    assert spoken_relative(datetime(2026, 12, 7, 14, 0), now) == "cet après-midi à 14 h"
    assert spoken_relative(datetime(2026, 12, 7, 8, 30), datetime(2026, 12, 7, 7)) == (
        "ce matin à 8 h 30"
    )
    assert spoken_relative(datetime(2026, 12, 8, 8, 30), now) == "demain à 8 h 30"
    assert spoken_relative(datetime(2026, 12, 9, 8, 30), now) == "mercredi 9 décembre à 8 h 30"


def test_a_phone_number_is_read_back_in_pairs() -> None:
    from callcenter.core.spoken import spoken_phone

    assert spoken_phone("+33612345678") == "06 12 34 56 78"


@pytest.mark.parametrize(
    ("called", "said"),
    [
        ("docteur Bernard", "le docteur Bernard"),
        ("Docteure Martin", "la Docteure Martin"),
        ("Dr Bernard", "le Dr Bernard"),
        ("professeure Lenoir", "la professeure Lenoir"),
        ("Madame Martin", "Madame Martin"),
        ("le docteur Bernard", "le docteur Bernard"),
    ],
)
def test_a_doctor_is_named_with_the_article_of_their_title(called: str, said: str) -> None:
    from callcenter.core.spoken import with_article

    assert with_article(called) == said
