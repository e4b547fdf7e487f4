"""Appointments as the secretaries see them: a day per doctor, cancel, move.

Cancelling and moving go through the same conditional writes as the phone
(:mod:`callcenter.appointments.booking`): a slot taken meanwhile is refused,
and a replayed form changes nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from callcenter.agenda import sync as agenda
from callcenter.agenda import writes as calendar_writes
from callcenter.appointments import booking, sms
from callcenter.appointments.models import Appointment, AppointmentSlot
from callcenter.config.practice import Practice
from callcenter.config.schedules import SlotQuery, booking_window, free_slots
from callcenter.patients.models import Patient

BOOKED = booking.BOOKED


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
    call_ids: Sequence[str] = (),
) -> list[AppointmentView]:
    """Booked appointments starting in [start, end), in time order.

    ``patient_ids`` keeps to these patients' appointments, and to those booked
    on ``call_ids`` (a call from a number searched for).
    """
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
        query = query.where(
            or_(Appointment.patient_id.in_(patient_ids), Appointment.call_id.in_(call_ids))
        )
    return [_view(a, p) for a, p in session.execute(query)]


def _view(appointment: Appointment, patient: Patient | None) -> AppointmentView:
    return AppointmentView(
        id=appointment.id, practice_id=appointment.practice_id, doctor_id=appointment.doctor_id,
        starts_at=appointment.starts_at, ends_at=appointment.ends_at, kind=appointment.kind,
        status=appointment.status, patient_name=patient.name if patient else None,
    )  # fmt: skip


def describe(session: Session, appointment: Appointment) -> AppointmentView:
    """The appointment with its patient's name (decrypted: the page audits it)."""
    patient = session.get(Patient, appointment.patient_id) if appointment.patient_id else None
    return _view(appointment, patient)


def find(
    session: Session, practice_ids: Sequence[str], appointment_id: str, *, booked_only: bool = True
) -> Appointment | None:
    """An appointment of one of these practices (None for any other).

    ``booked_only=False`` also finds one cancelled or moved meanwhile, so that a
    form sent twice can answer "done already" rather than "no such thing".
    """
    query = select(Appointment).where(
        Appointment.id == appointment_id, Appointment.practice_id.in_(practice_ids)
    )
    if booked_only:
        query = query.where(Appointment.status == booking.BOOKED)
    return session.scalar(query)


def cancel(session: Session, appointment: Appointment, now: datetime) -> bool:
    """Cancel and free the slot; False when it was not booked any more (nothing changed)."""
    return booking.release(session, appointment.id, None, booking.CANCELLED, now)


def free_starts(
    session: Session,
    practice: Practice,
    appointment: Appointment,
    now: datetime,
    limit: int = 12,
    day: date | None = None,
) -> list[datetime]:
    """The next free starts with the same doctor for the same kind (practice time);
    those of ``day`` only, when given."""
    rules = practice.appointments
    doctor = rules.doctors.get(appointment.doctor_id) if rules else None
    kind = rules.kinds.get(appointment.kind) if rules else None
    if rules is None or doctor is None or kind is None:
        return []
    _, horizon = booking_window(rules, now, practice.tz)
    taken = booking.taken_cells(session, practice.id, doctor.doctor_id, now, horizon)
    busy = agenda.busy_between(session, practice.id, doctor.doctor_id, now, horizon)
    return free_slots(
        rules, doctor, kind, now=now, tz=practice.tz, closed=practice.closed_on,
        taken=taken, query=SlotQuery(day=day), limit=limit, busy=busy,
    )  # fmt: skip


def move(
    session: Session, practice: Practice, appointment: Appointment, start: datetime, now: datetime
) -> str | None:
    """Book ``start`` for the same patient, doctor and kind, then free the old slot.

    None when ``start`` is not one of the free starts any more (taken meanwhile), or
    the appointment is not booked any more (moved or cancelled already).
    """
    rules = practice.appointments
    if rules is None or appointment.patient_id is None:
        return None
    if appointment.status != booking.BOOKED:
        return None
    day = start.astimezone(practice.tz).date()
    if start not in free_starts(session, practice, appointment, now, limit=200, day=day):
        return None
    doctor, kind = rules.doctors[appointment.doctor_id], rules.kinds[appointment.kind]
    new_id = booking.book(
        session, practice_id=practice.id, doctor_id=doctor.doctor_id,
        patient_id=appointment.patient_id, starts_at=start, minutes=kind.minutes,
        slot_minutes=doctor.slot_minutes, kind=kind.id, now=now, replaces_id=appointment.id,
    )  # fmt: skip
    if new_id is None:
        return None
    if not booking.release(session, appointment.id, None, booking.MOVED, now):
        # Cancelled (by the patient's call, say) since it was read: no move, no new booking.
        session.execute(delete(AppointmentSlot).where(AppointmentSlot.appointment_id == new_id))
        session.execute(delete(Appointment).where(Appointment.id == new_id))
        calendar_writes.unqueue(session, new_id)
        return None
    if rules.sms_confirmation:  # the patient hears of it as when they move it by phone
        sms.queue(session, practice.id, new_id, sms.CONFIRMATION, now)
    return new_id
