"""Schedules in the practice file and the free slots they leave: pure functions, no clock."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from callcenter.config.practice import PracticeError, load_practice
from callcenter.config.schedules import BookingRules, SlotQuery, cells, free_slots, parse_rules
from callcenter.config.staff import StaffError
from callcenter.instance import DEMO_APPOINTMENTS, DEMO_PRACTICE

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=PARIS)  # a Tuesday
DOCTORS = ["dr-martin", "dr-bernard"]


def rules(**changes: Any) -> BookingRules:
    parsed = parse_rules({**DEMO_APPOINTMENTS, **changes}, DOCTORS)
    assert parsed is not None
    return parsed


def slots(r: BookingRules, doctor: str = "dr-martin", kind: str = "consultation",
          taken: tuple[datetime, ...] = (), closed: frozenset[date] = frozenset(),
          limit: int = 3, **query: Any) -> list[str]:  # fmt: skip
    found = free_slots(
        r, r.doctors[doctor], r.kinds[kind], now=NOW, tz=PARIS, closed=closed.__contains__,
        taken=taken, query=SlotQuery(**query), limit=limit,
    )  # fmt: skip
    return [s.strftime("%a %d %H:%M") for s in found]


def refusal(raw: Any) -> str:
    with pytest.raises(StaffError) as caught:
        parse_rules(raw, DOCTORS)
    return str(caught.value)


# -- reading ------------------------------------------------------------------------------
def test_the_demo_schedule_is_valid_and_keys_follow_the_doctors_list() -> None:
    r = rules()
    assert list(r.doctors) == DOCTORS
    assert r.min_notice == timedelta(hours=2) and r.horizon_days == 30
    assert r.kind_for(r.doctors["dr-martin"], new_patient=True).id == "premiere-consultation"
    assert r.kind_for(r.doctors["dr-martin"], new_patient=False).id == "consultation"


def test_no_section_means_no_booking_by_phone() -> None:
    assert parse_rules(None, DOCTORS) is None


def test_the_waiting_list_offers_for_30_minutes_to_3_entries_unless_told() -> None:
    assert (rules().waiting_list.offer_minutes, rules().waiting_list.offer_to) == (30, 3)
    told = rules(waiting_list={"offer_minutes": 15, "offer_to": 1}).waiting_list
    assert (told.offer_minutes, told.offer_to) == (15, 1)


def test_booking_by_phone_works_outside_opening_hours_unless_turned_off() -> None:
    assert rules().outside_hours is True
    assert rules(outside_hours=False).outside_hours is False


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("soon", "appointments: must be a mapping"),
        ({"doctors": {}}, "appointments.doctors: must map doctors' ids"),
        ({"doctors": {"dr-who": {"week": {}}}}, "appointments.doctors.dr-who: is not the id"),
        ({"doctors": {"dr-martin": {}}}, "appointments.doctors.dr-martin.week: is required"),
        ({"doctors": {"dr-martin": {"week": {"lundi": []}}}},
         "appointments.doctors.dr-martin.week.lundi: unknown weekday"),
        ({"doctors": {"dr-martin": {"week": {"monday": ["9h-12h"]}}}},
         "appointments.doctors.dr-martin.week.monday[0]: '9h' is not a time"),
        ({"doctors": {"dr-martin": {"week": {}, "slot_minutes": 0}}},
         "appointments.doctors.dr-martin.slot_minutes: must be a whole number from 5 to 120"),
        ({"doctors": {"dr-martin": {"week": {}, "kinds": ["visite"]}}},
         "appointments.doctors.dr-martin.kinds[0]: 'visite' is not a kind"),
        ({"kinds": {"long": {"minutes": 30}}, "doctors": {"dr-martin": {"week": {}}}},
         "appointments.doctors.dr-martin.kinds[0]: long lasts 30 min, not a multiple of "
         "slot_minutes (20)"),
        ({"kinds": {"c": {"minutes": 20, "colour": "red"}}, "doctors": {}},
         "appointments.kinds.c.colour: unknown field"),
        ({"doctors": {"dr-martin": {"week": {}, "absences": ["demain"]}}},
         "appointments.doctors.dr-martin.absences[0]: 'demain' is not a date"),
        ({"doctors": {"dr-martin": {"week": {}, "absences": [
            {"from": date(2026, 12, 2), "to": date(2026, 12, 1)}]}}},
         "appointments.doctors.dr-martin.absences[0].to: is before 'from'"),
        ({"horizon_days": 0, "doctors": {"dr-martin": {"week": {}}}},
         "appointments.horizon_days: must be a whole number from 1 to 365"),
        ({"sms_reminder": "yes", "doctors": {"dr-martin": {"week": {}}}},
         "appointments.sms_reminder: must be true or false"),
        ({"reminder_time": "6pm", "doctors": {"dr-martin": {"week": {}}}},
         "appointments.reminder_time: '6pm' is not a time"),
        ({"colour": 1, "doctors": {"dr-martin": {"week": {}}}},
         "appointments.colour: unknown field"),
        ({"outside_hours": "la nuit", "doctors": {"dr-martin": {"week": {}}}},
         "appointments.outside_hours: must be true or false"),
        ({"waiting_list": {"offer_minutes": 2}, "doctors": {"dr-martin": {"week": {}}}},
         "appointments.waiting_list.offer_minutes: must be a whole number from 5 to 1440"),
        ({"waiting_list": {"offer_to": 3, "sms": 1}, "doctors": {"dr-martin": {"week": {}}}},
         "appointments.waiting_list.sms: unknown field"),
    ],
)  # fmt: skip
def test_every_mistake_is_named_precisely(raw: Any, message: str) -> None:
    assert message in refusal(raw)


def test_the_practice_file_error_names_the_file(tmp_path: Path) -> None:
    practice = {**DEMO_PRACTICE, "appointments": {"doctors": {"dr-who": {"week": {}}}}}
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(practice, allow_unicode=True), encoding="utf-8")
    with pytest.raises(PracticeError, match=r"^demo.yaml: appointments.doctors.dr-who: "):
        load_practice(path)


# -- free slots ---------------------------------------------------------------------------
def test_the_minimum_notice_hides_slots_too_soon() -> None:
    assert slots(rules()) == ["Tue 24 14:00", "Tue 24 14:20", "Tue 24 14:40"]
    assert slots(rules(min_notice_minutes=0)) == ["Tue 24 10:00", "Tue 24 10:20", "Tue 24 10:40"]


def test_taken_cells_are_skipped_and_a_long_kind_needs_all_its_cells() -> None:
    taken = (datetime(2026, 11, 24, 14, 20, tzinfo=PARIS),)
    assert slots(rules(), taken=taken) == ["Tue 24 14:00", "Tue 24 14:40", "Tue 24 15:00"]
    # 40 minutes: 14:00 would need 14:20 too; a slot never runs past its session's end.
    long = slots(rules(), kind="premiere-consultation", taken=taken, limit=20)
    assert long[:2] == ["Tue 24 14:40", "Tue 24 15:00"] and "Tue 24 17:40" not in long
    assert "Tue 24 17:20" in long


def test_later_slots_a_day_and_a_half_day() -> None:
    r = rules()
    after = datetime(2026, 11, 24, 14, 40, tzinfo=PARIS)
    assert slots(r, after=after) == ["Tue 24 15:00", "Tue 24 15:20", "Tue 24 15:40"]
    assert slots(r, day=date(2026, 11, 26)) == ["Thu 26 09:00", "Thu 26 09:20", "Thu 26 09:40"]
    assert slots(r, day=date(2026, 11, 26), half="afternoon")[0] == "Thu 26 14:00"
    assert slots(r, half="morning")[0] == "Thu 26 09:00"
    assert slots(r, day=date(2026, 11, 25)) == []  # no consultation on Wednesdays
    # From a day on (a day asked had none): never a slot before it.
    assert slots(r, since=date(2026, 11, 25)) == ["Thu 26 09:00", "Thu 26 09:20", "Thu 26 09:40"]
    assert slots(r, since=date(2026, 12, 22)) == []  # away until the horizon


def test_closures_absences_and_the_horizon_leave_no_slot() -> None:
    r = rules()
    assert slots(r, closed=frozenset({date(2026, 11, 24)}))[0] == "Thu 26 09:00"
    # dr-martin is away from 21 December to 3 January.
    assert slots(r, day=date(2026, 12, 22)) == []
    assert slots(rules(horizon_days=1), day=date(2026, 11, 26)) == []
    assert len(slots(r, limit=1000)) < 30 * 21  # bounded by the horizon


def test_cells_are_utc_grid_starts() -> None:
    start = datetime(2026, 11, 24, 14, 0, tzinfo=PARIS)
    assert [c.hour for c in cells(start, 40, 20)] == [13, 13]
    assert [c.minute for c in cells(start, 40, 20)] == [0, 20]
