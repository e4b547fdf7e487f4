"""Waiting-list rows: the entries (who waits for what) and the offers made to them.

An entry points to its patient and keeps the number to text encrypted, with
a blind index so a reply is matched to it; what it waits for (a doctor or
any, a day, a half-day) is no personal data.  An offer is one freed slot
proposed to one entry; it is also the SMS queue's row (status, attempts,
due_at…), so one offer sends one SMS at most.  No offer for the same entry
and slot twice: the unique key makes the matching job safe to run in two
workers at once.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.security.encrypted import BlindIndex, EncryptedField, EncryptedRow
from callcenter.storage.db import Base, UTCDateTime, new_id


class WaitingEntry(EncryptedRow, Base):
    """A patient waiting for an earlier slot: doctor (None: any), before which day, half-day."""

    __tablename__ = "waiting_list"
    __table_args__ = (Index("ix_waiting_list_open", "practice_id", "status", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(String(64), index=True)
    patient_id: Mapped[str] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    phone_index: Mapped[int | None] = mapped_column(Integer, index=True)
    phone_ct: Mapped[bytes | None] = mapped_column("phone", LargeBinary)
    doctor_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The first day that no longer suits: slots are offered on the days before it.
    before: Mapped[date] = mapped_column(Date)
    period: Mapped[str] = mapped_column(String(16))  # morning | afternoon | any
    source: Mapped[str] = mapped_column(String(16))  # phone | console | request
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | ended
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    # booked | booked_elsewhere | date_passed | stop | secretary
    end_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    appointment_id: Mapped[str | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL"), nullable=True
    )

    phone = EncryptedField("phone_ct")
    blind_index = BlindIndex("phone", "phone_index")  # recomputed on re-encryption


class WaitingOffer(Base):
    """A freed slot offered to one entry, and the SMS that offers it.

    ``state``: open (waiting for OUI), accepted, lost (another took it first),
    expired, withdrawn (the entry ended meanwhile).  The SMS columns follow
    :class:`callcenter.notify.notices.SmsQueue`.  No personal data: ids and times.
    """

    __tablename__ = "waiting_list_offers"
    __table_args__ = (
        UniqueConstraint("entry_id", "doctor_id", "starts_at"),
        Index("ix_waiting_list_offers_slot", "practice_id", "doctor_id", "starts_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(String(64), index=True)
    entry_id: Mapped[str] = mapped_column(
        ForeignKey("waiting_list.id", ondelete="CASCADE"), index=True
    )
    doctor_id: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(64))
    minutes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    state: Mapped[str] = mapped_column(String(16), default="open", index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    appointment_id: Mapped[str | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL"), nullable=True
    )
    # -- the SMS (callcenter.notify.notices.SmsQueue)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    message_sid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(64), nullable=True)
