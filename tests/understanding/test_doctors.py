"""Doctors heard by name, despite titles and small misrecognitions."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from callcenter.config.staff import Doctor
from callcenter.understanding import understand
from tests.understanding.corpus import catalogue, run


@pytest.mark.parametrize(
    ("said", "doctor"),
    [
        ("avec le docteur martin", "dr-martin"),
        ("avec la docteure martin", "dr-martin"),
        ("avec la doctoresse martin", "dr-martin"),
        ("avec dr martin", "dr-martin"),
        ("avec le docteur martine", "dr-martin"),  # misheard
        ("avec le docteur marin", "dr-martin"),
        ("avec le docteur bernar", "dr-bernard"),
        ("avec le docteur bernhard", "dr-bernard"),
        ("avec le docteur claire martin", "dr-martin"),
        ("avec le docteur paul", "dr-bernard"),  # a first name after a title
        ("avec claire martin", "dr-martin"),
        ("avec bernard", "dr-bernard"),  # an exact surname needs no title
        ("avec madame martin", "dr-martin"),
        ("avec monsieur bernard", "dr-bernard"),
    ],
)
def test_named(said: str, doctor: str):
    assert run(f"un rendez-vous {said}").doctor == doctor


@pytest.mark.parametrize(
    "said",
    [
        "un rendez-vous demain matin",  # « matin » is close to « martin », but has no title
        "un rendez-vous avec le docteur",
        "avec le docteur dupont",
        "mon médecin traitant",
        "avec paul",  # a first name alone is too common
    ],
)
def test_nobody_named(said: str):
    assert run(said).doctor is None


def test_any_practice_doctors_and_their_called_name():
    doctors = [Doctor(id="dr-n", name="Nguyen Van An", called="docteur Nguyen")]
    moment = datetime.fromisoformat("2026-12-01T10:00:00+01:00")
    tz = ZoneInfo("Europe/Paris")
    heard = understand("rendez-vous avec le docteur nguyen", catalogue(), doctors, moment, tz)
    assert heard.doctor == "dr-n"
    assert understand("avec docteur nguyen", catalogue(), [], moment, tz).doctor is None


def test_two_titled_names_in_a_row_are_both_heard():
    assert run("le docteur bernard non le docteur martine").doctor == "dr-martin"
    assert run("pas le docteur martin le docteur bernar").doctor == "dr-bernard"
