"""What a FHIR client reads: the doctors' schedules, their grid cells free or busy, appointments.

Free cells come from the same computation the phone offers slots with
(:func:`callcenter.config.schedules.free_slots`), asked for one cell at a
time, so a cell is free here exactly when the phone could start an
appointment in it (opening hours, closures, absences, minimum notice,
horizon).  Busy cells are those an appointment holds
(:class:`~callcenter.appointments.models.AppointmentSlot`).  An appointment
longer than a cell needs that many consecutive free cells.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.agenda import sync as agenda
from callcenter.appointments import booking
from callcenter.appointments.models import Appointment
from callcenter.config.practice import Practice
from callcenter.config.schedules import DoctorSchedule, Kind, SlotQuery, booking_window, free_slots
from callcenter.fhir import resources
from callcenter.fhir.params import Window
from callcenter.patients.models import Patient

FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,51}")  # a doctor id leaves room for ".yyyymmddHHMM"
MAX_SLOTS = 5000  # a year of 20-minute cells is about 5000: enough for any horizon


def doctors(practice: Practice) -> list[DoctorSchedule]:
    """The doctors who take appointments and whose id can be a FHIR id."""
    rules = practice.appointments
    if rules is None:
        return []
    return [d for d in rules.doctors.values() if FHIR_ID.fullmatch(d.doctor_id)]


def doctor(practice: Practice, doctor_id: str) -> DoctorSchedule | None:
    return next((d for d in doctors(practice) if d.doctor_id == doctor_id), None)


def schedules(practice: Practice, now: datetime) -> list[resources.Resource]:
    rules = practice.appointments
    if rules is None:
        return []
    horizon = booking_window(rules, now, practice.tz)
    return [resources.schedule(practice, d.doctor_id, d.kinds, horizon) for d in doctors(practice)]


def slots(
    session: Session,
    practice: Practice,
    schedule: DoctorSchedule,
    window: Window,
    statuses: set[str],
    now: datetime,
) -> list[resources.Resource]:
    """The doctor's cells starting in ``window``, in time order, of the given statuses."""
    rules = practice.appointments
    assert rules is not None
    earliest, end = booking_window(rules, now, practice.tz)
    lo = max(window.after or earliest, earliest)
    hi = min(window.before or end, end)
    if lo >= hi:
        return []
    minutes = schedule.slot_minutes
    taken = booking.taken_cells(session, practice.id, schedule.doctor_id, lo, hi)
    busy = agenda.busy_between(session, practice.id, schedule.doctor_id, lo, hi)  # its calendar
    found: list[tuple[datetime, bool]] = []
    if "free" in statuses:
        cell = Kind("cell", minutes)
        starts = free_slots(
            rules, schedule, cell, now=now, tz=practice.tz, closed=practice.closed_on,
            taken=taken, query=SlotQuery(since=lo.astimezone(practice.tz).date()),
            limit=MAX_SLOTS, busy=busy,
        )  # fmt: skip
        found += [(s, False) for s in starts if lo <= s < hi]
    if "busy" in statuses:
        found += [(t, True) for t in taken]
    found.sort(key=lambda pair: pair[0].astimezone(UTC))
    return [resources.slot(practice, schedule.doctor_id, s, minutes, busy) for s, busy in found]


def slot(
    session: Session, practice: Practice, slot_id: str, now: datetime
) -> resources.Resource | None:
    """One cell by its id (``<doctor>.<UTC yyyymmddHHMM>``), or None when it is not a cell."""
    doctor_id, _, stamp = slot_id.rpartition(".")
    schedule = doctor(practice, doctor_id)
    try:
        start = datetime.strptime(stamp, "%Y%m%d%H%M").replace(tzinfo=UTC)
    except ValueError:
        return None
    if schedule is None:
        return None
    one = Window(start, start + timedelta(minutes=1))
    found = slots(session, practice, schedule, one, {"free", "busy"}, now)
    return found[0] if found else None


def appointments(
    session: Session,
    practice: Practice,
    window: Window,
    statuses: set[str] | None,
    doctor_id: str | None,
    patient_id: str | None,
) -> Sequence[Appointment]:
    """The practice's appointments starting in ``window``; FHIR statuses (booked, cancelled)."""
    query = select(Appointment).where(Appointment.practice_id == practice.id)
    if window.after is not None:
        query = query.where(Appointment.starts_at >= window.after)
    if window.before is not None:
        query = query.where(Appointment.starts_at < window.before)
    if statuses is not None:
        ours = [mine for mine, theirs in resources.STATUS.items() if theirs in statuses]
        query = query.where(Appointment.status.in_(ours))
    if doctor_id is not None:
        query = query.where(Appointment.doctor_id == doctor_id)
    if patient_id is not None:
        query = query.where(Appointment.patient_id == patient_id)
    return session.scalars(query.order_by(Appointment.starts_at).limit(MAX_SLOTS)).all()


def find_appointment(
    session: Session, practice: Practice, appointment_id: str
) -> Appointment | None:
    return session.scalar(
        select(Appointment).where(
            Appointment.id == appointment_id, Appointment.practice_id == practice.id
        )
    )


def patient_names(session: Session, rows: Sequence[Appointment]) -> dict[str, str]:
    """The patients' names, decrypted (only for a client whose scope allows identity)."""
    ids = {r.patient_id for r in rows if r.patient_id}
    if not ids:
        return {}
    return {p.id: p.name or "" for p in session.scalars(select(Patient).where(Patient.id.in_(ids)))}


def as_resources(
    practice: Practice, rows: Sequence[Appointment], names: dict[str, str]
) -> list[resources.Resource]:
    return [resources.appointment(practice, r, names.get(r.patient_id or "")) for r in rows]
