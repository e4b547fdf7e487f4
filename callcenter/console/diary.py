"""Appointments as the secretaries see them: a day per doctor, cancel, move.

Cancelling and moving go through the same conditional writes as the phone
(:mod:`callcenter.appointments.booking`): a slot taken meanwhile is refused,
and a replayed form changes nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.appointments import booking
from callcenter.appointments.schedule import SlotQuery, booking_window, free_slots
from callcenter.models import Appointment, Patient
from callcenter.practice import Practice


@dataclass(frozen=True)
class AppointmentView:
    id: str
    practice_id: str
    doctor_id: str
    starts_at: datetime
    ends_at: datetime
    kind: str
    status: str
    patient_name: str | None


def between(
    session: Session,
    practice_ids: Sequence[str],
    start: datetime,
    end: datetime,
    doctor_id: str | None = None,
    patient_ids: Sequence[str] | None = None,
) -> list[AppointmentView]:
    """Booked appointments starting in [start, end), in time order."""
    query = (
        select(Appointment, Patient)
        .outerjoin(Patient, Patient.id == Appointment.patient_id)
        .where(
            Appointment.practice_id.in_(practice_ids),
            Appointment.status == booking.BOOKED,
            Appointment.starts_at >= start,
            Appointment.starts_at < end,
        )
        .order_by(Appointment.starts_at, Appointment.doctor_id)
    )
    if doctor_id is not None:
        query = query.where(Appointment.doctor_id == doctor_id)
    if patient_ids is not None:
        query = query.where(Appointment.patient_id.in_(patient_ids))
    return [
        AppointmentView(
            id=a.id,
            practice_id=a.practice_id,
            doctor_id=a.doctor_id,
            starts_at=a.starts_at,
            ends_at=a.ends_at,
            kind=a.kind,
            status=a.status,
            patient_name=p.name if p else None,
        )
        for a, p in session.execute(query)
    ]


def find(session: Session, practice_ids: Sequence[str], appointment_id: str) -> Appointment | None:
    """A booked appointment of one of these practices (None for any other)."""
    return session.scalar(
        select(Appointment).where(
            Appointment.id == appointment_id,
            Appointment.practice_id.in_(practice_ids),
            Appointment.status == booking.BOOKED,
        )
    )


def cancel(session: Session, appointment: Appointment, now: datetime) -> bool:
    return booking.release(session, appointment.id, None, booking.CANCELLED, now)


def free_starts(
    session: Session, practice: Practice, appointment: Appointment, now: datetime, limit: int = 12
) -> list[datetime]:
    """The next free starts with the same doctor for the same kind (practice time)."""
    rules = practice.appointments
    doctor = rules.doctors.get(appointment.doctor_id) if rules else None
    kind = rules.kinds.get(appointment.kind) if rules else None
    if rules is None or doctor is None or kind is None:
        return []
    _, horizon = booking_window(rules, now, practice.tz)
    taken = booking.taken_cells(session, practice.id, doctor.doctor_id, now, horizon)
    return free_slots(
        rules, doctor, kind, now=now, tz=practice.tz, closed=practice.closed_on,
        taken=taken, query=SlotQuery(), limit=limit,
    )  # fmt: skip


def move(
    session: Session, practice: Practice, appointment: Appointment, start: datetime, now: datetime
) -> str | None:
    """Book ``start`` for the same patient, doctor and kind, then free the old slot.

    None when ``start`` is not one of the free starts any more (taken meanwhile).
    """
    rules = practice.appointments
    if rules is None or appointment.patient_id is None:
        return None
    if start not in free_starts(session, practice, appointment, now, limit=200):
        return None
    doctor, kind = rules.doctors[appointment.doctor_id], rules.kinds[appointment.kind]
    new_id = booking.book(
        session, practice_id=practice.id, doctor_id=doctor.doctor_id,
        patient_id=appointment.patient_id, starts_at=start, minutes=kind.minutes,
        slot_minutes=doctor.slot_minutes, kind=kind.id, now=now, replaces_id=appointment.id,
    )  # fmt: skip
    if new_id is not None:
        booking.release(session, appointment.id, None, booking.MOVED, now)
    return new_id
