"""The French formatting helpers shared by the console, the digests, the prompts and the CLI."""

from __future__ import annotations

from datetime import date

import pytest

from callcenter.core.french import counted, humanised, long_date, phone


@pytest.mark.parametrize(
    ("number", "shown"),
    [
        ("+33611223355", "06 11 22 33 55"),
        ("+33184880000", "01 84 88 00 00"),
        ("0611223355", "06 11 22 33 55"),
        ("+41446681800", "+41 44 668 18 00"),  # foreign: international
        ("+447911123456", "+44 7911 123456"),
        ("anonymous", "anonymous"),  # what Twilio sent, when it is no number
        ("", ""),
        (None, ""),
    ],
)
def test_numbers_are_written_by_pairs_at_home_and_internationally_abroad(number, shown):
    assert phone(number) == shown


@pytest.mark.parametrize(
    ("day", "shown"),
    [
        ("1975-04-02", "2 avril 1975"),
        (date(2026, 5, 1), "1er mai 2026"),
        ("1980-12-31", "31 décembre 1980"),
        ("not a date", "not a date"),
        (None, ""),
    ],
)
def test_dates_of_birth_are_written_out(day, shown):
    assert long_date(day) == shown


def test_counts_agree_with_their_noun_and_french_keeps_zero_singular():
    assert counted(0, "message") == "0 message"
    assert counted(1, "appel") == "1 appel"
    assert counted(2, "appel") == "2 appels"
    assert counted(3, "rendez-vous") == "3 rendez-vous"
    assert counted(2, "demande de rappel") == "2 demandes de rappel"
    assert counted(2, "cheval", "chevaux") == "2 chevaux"


def test_an_identifier_without_a_label_is_made_readable():
    assert humanised("premiere-consultation") == "Premiere consultation"
