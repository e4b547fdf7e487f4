"""The day a caller asks for, keyed or said; the words come from the catalogue."""

from __future__ import annotations

from datetime import date

import pytest

from callcenter.appointments.wishes import Wish, keyed_day, spoken_wish
from callcenter.config.prompts import Catalogue
from callcenter.config.settings import DEFAULT_FLOWS_DIR

TODAY = date(2026, 11, 24)  # a Tuesday
CATALOGUE = Catalogue.load(DEFAULT_FLOWS_DIR, "fr-FR")


@pytest.mark.parametrize(
    ("keys", "day"),
    [("2611", date(2026, 11, 26)), ("0301", date(2027, 1, 3)), ("2411", TODAY),
     ("3102", None), ("261", None), ("26a1", None), ("2311", date(2027, 11, 23))],
)  # fmt: skip
def test_a_keyed_day_is_the_next_such_date(keys: str, day: date | None) -> None:
    assert keyed_day(keys, TODAY) == day


@pytest.mark.parametrize(
    ("speech", "wish"),
    [
        ("jeudi", Wish(date(2026, 11, 26))),
        ("Jeudi matin.", Wish(date(2026, 11, 26), "morning")),
        ("lundi après-midi", Wish(date(2026, 11, 30), "afternoon")),
        ("mardi", Wish(TODAY)),
        ("demain", Wish(date(2026, 11, 25))),
        ("plutôt l'après-midi", Wish(None, "afternoon")),
        ("le 3 décembre", Wish(date(2026, 12, 3))),
        ("le premier décembre au matin", Wish(date(2026, 12, 1), "morning")),
        ("le 1er janvier", Wish(date(2027, 1, 1))),
        ("le premier", None),
        ("autres créneaux", None),
    ],
)
def test_a_spoken_day_and_half_day(speech: str, wish: Wish | None) -> None:
    assert spoken_wish(speech, CATALOGUE, TODAY) == wish
