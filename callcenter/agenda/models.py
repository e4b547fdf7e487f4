"""The doctors' own calendars: what was last seen there, the busy time it holds, and the
writes still to make.

Nothing here holds a name: busy intervals are times, events are hrefs and
ETags, and a write points to its appointment and patient.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.storage.db import Base, UTCDateTime, new_id


class LinkedCalendar(Base):
    """A doctor whose calendar is synced, and where the last sync left off.

    The row exists while the practice file names a calendar for the doctor:
    booking code asks it whether a booking must be written to a calendar.
    """

    __tablename__ = "agenda_calendars"

    practice_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    doctor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(String(512))
    # The server's sync token (RFC 6578): the next sync asks only what changed since.
    sync_token: Mapped[str | None] = mapped_column(String(512), nullable=True)
    # Recurring events are expanded up to here; past it, the next sync reloads everything.
    expanded_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CalendarEvent(Base):
    """One event resource of a synced calendar, as last fetched: its href and ETag.

    ``appointment_id`` is set for the events this server wrote, so that one
    deleted or moved in the calendar is recognised as that appointment's.
    """

    __tablename__ = "agenda_events"
    __table_args__ = (UniqueConstraint("practice_id", "doctor_id", "href"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(String(64))
    doctor_id: Mapped[str] = mapped_column(String(64))
    href: Mapped[str] = mapped_column(String(512))
    etag: Mapped[str | None] = mapped_column(String(256), nullable=True)
    appointment_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class BusyTime(Base):
    """A stretch of time the doctor's calendar holds: never offered by phone.

    One row per occurrence (a weekly event gives one per week up to the
    calendar's ``expanded_until``); ``href`` is the event it came from, or
    empty for the server's free/busy answer.
    """

    __tablename__ = "agenda_busy"
    __table_args__ = (Index("ix_agenda_busy_doctor", "practice_id", "doctor_id", "starts_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(String(64))
    doctor_id: Mapped[str] = mapped_column(String(64))
    href: Mapped[str] = mapped_column(String(512))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CalendarWrite(Base):
    """An appointment's event to write to (``put``) or remove from (``delete``) a calendar.

    One per appointment: a later change rewrites the row, so only the latest
    state is sent.  The times and kind are copied here because the calendar
    layer sits below the appointments; the patient is only a pointer.
    """

    __tablename__ = "agenda_writes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(String(64), index=True)
    doctor_id: Mapped[str] = mapped_column(String(64))
    appointment_id: Mapped[str] = mapped_column(String(32), unique=True)
    action: Mapped[str] = mapped_column(String(8))  # put | delete
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(64))
    patient_id: Mapped[str | None] = mapped_column(
        ForeignKey("patients.id", ondelete="SET NULL"), nullable=True
    )
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(64), nullable=True)
