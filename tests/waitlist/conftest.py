"""The waiting list's test helpers: Dr Martin's days filled, a patient on the list."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import Flask

from callcenter.appointments import booking
from callcenter.config.schedules import SlotQuery, free_slots
from callcenter.waitlist import entries
from callcenter.waitlist.models import WaitingEntry
from tests.conftest import CALLER, OPEN_HOURS, services

FRIDAY = date(2026, 11, 27)  # OPEN_HOURS is Tuesday 24 November, 10:00 in Paris
THURSDAY_TEN = datetime.fromisoformat("2026-11-26T10:00:00+01:00")


def fill(
    app: Flask, patient_id: str, until: date, doctor: str = "dr-martin"
) -> dict[datetime, str]:
    """Book every free slot of ``doctor`` before ``until`` for ``patient_id``; start → id."""
    svc = services(app)
    practice = svc.practices.by_id("demo")
    assert practice is not None and practice.appointments is not None
    rules = practice.appointments
    schedule = rules.doctors[doctor]
    kind = rules.kind_for(schedule, new_patient=False)
    booked = {}
    with svc.db.session() as session:
        starts = free_slots(
            rules, schedule, kind, now=OPEN_HOURS, tz=practice.tz, closed=practice.closed_on,
            taken=(), query=SlotQuery(), limit=500,
        )  # fmt: skip
        for start in starts:
            if start.astimezone(practice.tz).date() >= until:
                break
            made = booking.book(
                session, practice_id="demo", doctor_id=doctor, patient_id=patient_id,
                starts_at=start, minutes=kind.minutes, slot_minutes=schedule.slot_minutes,
                kind=kind.id, now=OPEN_HOURS - timedelta(days=1),
            )  # fmt: skip
            assert made is not None
            booked[start] = made
    return booked


def join(app: Flask, patient_id: str, *, phone: str = CALLER, doctor: str | None = "dr-martin",
         before: date = FRIDAY, period: str = "any", at: datetime = OPEN_HOURS) -> str:  # fmt: skip
    with services(app).db.session() as session:
        entry = entries.join(
            session, practice_id="demo", patient_id=patient_id, phone=phone, doctor_id=doctor,
            before=before, period=period, now=at, source="phone",
        )  # fmt: skip
        return entry.id


def entry_of(app: Flask, entry_id: str) -> WaitingEntry:
    with services(app).db.session() as session:
        return session.get_one(WaitingEntry, entry_id)
