"""Taking, cancelling, moving and listing appointments in the database.

The rule no change may break: two callers can never get the same slot.  An
appointment holds the grid cells it covers (:class:`AppointmentSlot`, keyed
by practice, doctor and cell start); :func:`book` takes them with a single
``INSERT … ON CONFLICT DO NOTHING RETURNING`` and counts the rows it inserted.  On
PostgreSQL a concurrent insert of the same key waits for the other
transaction and then inserts nothing, so exactly one of two simultaneous
confirmations succeeds; the loser is told the slot was just taken.  No
savepoint and no exception are involved, so the call's own step is stored
either way.

Functions take the boundary's session and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from callcenter.agenda import writes as calendar_writes
from callcenter.appointments.models import Appointment, AppointmentSlot
from callcenter.config.schedules import cells
from callcenter.storage.db import new_id

BOOKED = "booked"
CANCELLED = "cancelled"
MOVED = "moved"
#: ``Appointment.cancelled_via`` of a cancellation the patient sent by SMS (ANNULER).
VIA_SMS = "sms"


def taken_cells(
    session: Session, practice_id: str, doctor_id: str, start: datetime, end: datetime
) -> set[datetime]:
    """The cells of ``doctor_id`` held between ``start`` and ``end``."""
    rows = session.scalars(
        select(AppointmentSlot.starts_at).where(
            AppointmentSlot.practice_id == practice_id,
            AppointmentSlot.doctor_id == doctor_id,
            AppointmentSlot.starts_at >= start,
            AppointmentSlot.starts_at < end,
        )
    )
    return set(rows)


def book(
    session: Session,
    *,
    practice_id: str,
    doctor_id: str,
    patient_id: str,
    starts_at: datetime,
    minutes: int,
    slot_minutes: int,
    kind: str,
    now: datetime,
    call_id: str | None = None,
    replaces_id: str | None = None,
) -> str | None:
    """Book the slot; the new appointment's id, or None when any of its cells is taken."""
    appointment_id = new_id()
    held = cells(starts_at, minutes, slot_minutes)
    session.execute(
        insert(Appointment).values(
            id=appointment_id, practice_id=practice_id, doctor_id=doctor_id,
            patient_id=patient_id, starts_at=held[0], ends_at=held[0] + timedelta(minutes=minutes),
            kind=kind, status=BOOKED, created_at=now, updated_at=now, call_id=call_id,
            replaces_id=replaces_id,
        )
    )  # fmt: skip
    dialect_insert = (
        postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    )
    statement = (
        dialect_insert(AppointmentSlot)
        .values([
            {"practice_id": practice_id, "doctor_id": doctor_id, "starts_at": cell,
             "appointment_id": appointment_id}
            for cell in held
        ])
        .on_conflict_do_nothing(index_elements=["practice_id", "doctor_id", "starts_at"])
        .returning(AppointmentSlot.starts_at)
    )  # fmt: skip
    # RETURNING lists the rows actually inserted (rowcount is -1 for a multi-row
    # INSERT through psycopg); a conflicting cell returns nothing.
    inserted = len(session.execute(statement).all())
    if inserted == len(held):
        # The doctor's own calendar hears of it once this commits (when one is linked).
        calendar_writes.queue(
            session, practice_id=practice_id, doctor_id=doctor_id, appointment_id=appointment_id,
            action=calendar_writes.PUT, starts_at=held[0],
            ends_at=held[0] + timedelta(minutes=minutes), kind=kind, patient_id=patient_id, now=now,
        )  # fmt: skip
        return appointment_id
    # Someone holds one of the cells: undo our part (the Core statements keep
    # the ORM's pending changes, such as the call's state, untouched).
    session.execute(delete(AppointmentSlot).where(AppointmentSlot.appointment_id == appointment_id))
    session.execute(delete(Appointment).where(Appointment.id == appointment_id))
    return None


def release(session: Session, appointment_id: str, patient_id: str | None, status: str,
            now: datetime, *, via: str | None = None) -> bool:  # fmt: skip
    """Cancel (or mark moved) a booked appointment and free its cells at once.

    ``patient_id`` (when given) must own it: a caller can only change their
    own appointments.  False when it was not booked (already cancelled, or
    another's): a retried request changes nothing twice.  ``via`` says how a
    cancellation came when it was not by phone or console (:data:`VIA_SMS`).
    """
    conditions = [Appointment.id == appointment_id, Appointment.status == BOOKED]
    if patient_id is not None:
        conditions.append(Appointment.patient_id == patient_id)
    changed = session.execute(
        update(Appointment)
        .where(*conditions)
        .values(status=status, updated_at=now, cancelled_via=via)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not changed:
        return False
    session.execute(delete(AppointmentSlot).where(AppointmentSlot.appointment_id == appointment_id))
    row = session.execute(
        select(Appointment.practice_id, Appointment.doctor_id, Appointment.starts_at,
               Appointment.ends_at, Appointment.kind).where(Appointment.id == appointment_id)
    ).one()  # fmt: skip
    calendar_writes.queue(
        session, practice_id=row.practice_id, doctor_id=row.doctor_id,
        appointment_id=appointment_id, action=calendar_writes.DELETE, starts_at=row.starts_at,
        ends_at=row.ends_at, kind=row.kind, patient_id=None, now=now,
    )  # fmt: skip
    return True


def upcoming(
    session: Session, practice_id: str, patient_id: str, now: datetime, limit: int = 3
) -> Sequence[Appointment]:
    """The patient's next booked appointments at this practice, soonest first."""
    return session.scalars(
        select(Appointment)
        .where(
            Appointment.practice_id == practice_id,
            Appointment.patient_id == patient_id,
            Appointment.status == BOOKED,
            Appointment.starts_at > now,
        )
        .order_by(Appointment.starts_at)
        .limit(limit)
    ).all()


def changes_since(
    session: Session, practice_id: str, doctor_id: str, since: datetime, until: datetime
) -> dict[str, list[Appointment]]:
    """What the doctor's digest lists: appointments booked, cancelled and moved in a period.

    A move shows once, as "moved" (the new appointment, whose ``replaces_id``
    names the old one); the old one is not listed again as cancelled.
    """
    rows = session.scalars(
        select(Appointment)
        .where(
            Appointment.practice_id == practice_id,
            Appointment.doctor_id == doctor_id,
            Appointment.updated_at >= since,
            Appointment.updated_at < until,
        )
        .order_by(Appointment.starts_at)
    ).all()
    changes: dict[str, list[Appointment]] = {"booked": [], "cancelled": [], "moved": []}
    for row in rows:
        if row.status == CANCELLED:
            changes["cancelled"].append(row)
        elif row.status == BOOKED:
            changes["moved" if row.replaces_id else "booked"].append(row)
    return changes
