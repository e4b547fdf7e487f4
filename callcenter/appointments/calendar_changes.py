"""What a doctor did to our events in their own calendar, applied to the appointments.

An event deleted there cancels its appointment (the slot is free again); one
moved there moves the appointment when the new time lies on the doctor's
grid and its cells are free.  Otherwise the local tables win, as they guard
against double booking: the event is written back where the appointment is.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from callcenter.agenda import writes as calendar_writes
from callcenter.agenda.sync import Change
from callcenter.appointments import booking
from callcenter.appointments.models import Appointment
from callcenter.config.practice import Practice
from callcenter.core.logs import get_logger

log = get_logger("callcenter.agenda")


def apply(session: Session, practice: Practice, changes: Sequence[Change], now: datetime) -> int:
    """Apply the calendar's changes to our events; how many appointments changed."""
    changed = 0
    for change in changes:
        appointment = session.get(Appointment, change.appointment_id)
        if appointment is None or appointment.status != booking.BOOKED:
            continue  # cancelled or moved here already: the calendar only caught up
        if change.starts_at is None:
            changed += booking.release(session, appointment.id, None, booking.CANCELLED, now)
            log.info("calendar_cancelled", appointment=appointment.id)
            continue
        if change.starts_at == appointment.starts_at:
            continue
        if _move(session, practice, appointment, change.starts_at, now):
            changed += 1
            continue
        log.warning("calendar_move_refused", appointment=appointment.id)
        calendar_writes.queue(
            session, practice_id=practice.id, doctor_id=appointment.doctor_id,
            appointment_id=appointment.id, action=calendar_writes.PUT,
            starts_at=appointment.starts_at, ends_at=appointment.ends_at, kind=appointment.kind,
            patient_id=appointment.patient_id, now=now,
        )  # fmt: skip
    return changed


def _on_grid(practice: Practice, appointment: Appointment, start: datetime) -> bool:
    """Whether ``start`` begins a whole appointment of its kind inside one of the doctor's
    sessions, on a cell boundary."""
    rules = practice.appointments
    doctor = rules.doctors.get(appointment.doctor_id) if rules else None
    if doctor is None:
        return False
    local = start.astimezone(practice.tz)
    length = appointment.ends_at - appointment.starts_at
    for first, last in doctor.week.get(local.weekday(), ()):
        begins = datetime.combine(local.date(), first, practice.tz)
        ends = datetime.combine(local.date(), last, practice.tz)
        offset = local - begins
        if (begins <= local and local + length <= ends
                and offset % timedelta(minutes=doctor.slot_minutes) == timedelta(0)):  # fmt: skip
            return True
    return False


def _move(
    session: Session, practice: Practice, appointment: Appointment, start: datetime, now: datetime
) -> bool:
    rules = practice.appointments
    if (
        rules is None
        or appointment.patient_id is None
        or not _on_grid(practice, appointment, start)
    ):
        return False
    doctor = rules.doctors[appointment.doctor_id]
    minutes = int((appointment.ends_at - appointment.starts_at).total_seconds() // 60)
    new_id = booking.book(
        session, practice_id=practice.id, doctor_id=appointment.doctor_id,
        patient_id=appointment.patient_id, starts_at=start, minutes=minutes,
        slot_minutes=doctor.slot_minutes, kind=appointment.kind, now=now,
        replaces_id=appointment.id,
    )  # fmt: skip
    if new_id is None:
        return False
    booking.release(session, appointment.id, None, booking.MOVED, now)
    log.info("calendar_moved", appointment=appointment.id, new=new_id)
    return True
