"""Appointment rows: the booking, the grid cells that guard against double booking, the SMS
queued for it, and the doctors' calendar feeds.

An appointment holds no name or number of its own: it points to its patient.
The slot cells' primary key is what makes two callers unable to take the same
slot, whichever process answers them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.storage.db import Base, UTCDateTime, new_id


class Appointment(Base):
    """A slot with a doctor; the patient link is the only personal part."""

    __tablename__ = "appointments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(String(64), index=True)
    doctor_id: Mapped[str] = mapped_column(String(64))
    patient_id: Mapped[str | None] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), nullable=True, index=True
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    kind: Mapped[str] = mapped_column(String(64), default="consultation")
    status: Mapped[str] = mapped_column(String(16), default="booked")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # -- the booking call, the last change (cancelled, moved) and a move's origin
    call_id: Mapped[str | None] = mapped_column(
        ForeignKey("calls.id", ondelete="SET NULL"), nullable=True
    )
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    replaces_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # How a cancellation came: "sms" for a patient's ANNULER reply (counted in the
    # statistics and the digests); None for the phone, the console and FHIR.
    cancelled_via: Mapped[str | None] = mapped_column(String(8), nullable=True)


# -- appointments: the double-booking guard, the SMS outbox, calendar feeds -------------
class AppointmentSlot(Base):
    """One cell of a doctor's grid held by a booked appointment.

    The primary key (practice, doctor, cell start) is what makes double
    booking impossible: an appointment is taken by one INSERT of all its cells
    that conflicts with any cell already held, so of two callers confirming
    the same slot at the same moment exactly one gets it.  Cancelling deletes
    the cells, which frees the slot at once.  No personal data.
    """

    __tablename__ = "appointment_slots"

    practice_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    doctor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    appointment_id: Mapped[str] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )


class AppointmentSms(Base):
    """A confirmation or reminder SMS to send: ids and times only, never the text or number.

    One per (appointment, kind), so a retried webhook or a second worker
    queues nothing twice; the number is read from the patient when sending.
    """

    __tablename__ = "appointment_sms"
    __table_args__ = (UniqueConstraint("appointment_id", "kind"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(String(64), index=True)
    appointment_id: Mapped[str] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # confirmation | reminder
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    message_sid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(64), nullable=True)


class CalendarFeed(Base):
    """A doctor's secret calendar URL: only the SHA-256 of its token is kept; revocable."""

    __tablename__ = "calendar_feeds"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(String(64), index=True)
    doctor_id: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
