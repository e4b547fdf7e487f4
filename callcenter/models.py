"""Stored rows: the least a journey needs, every personal value encrypted.

Call state lives here, never in a process (DESIGN.md rule 4), so any worker
of any instance can answer the next webhook of a call.  Every row belongs to
one practice.  Personal values are :class:`EncryptedField` attributes: the
column holds AES-256-GCM ciphertext bound to its practice, table, column and
row; lookups by phone number go through a truncated keyed blind index.  The
README lists every field, why it is kept, for how long, and how.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from callcenter.db import Base, UTCDateTime, new_id
from callcenter.encrypted import EncryptedField, encrypted_fields


class EncryptedRow:
    """Gives a row its id before any encrypted value is set (they are bound to it)."""

    def __init__(self, **values: Any) -> None:
        values.setdefault("id", new_id())
        secret = {k: values.pop(k) for k in list(values) if k in encrypted_fields(type(self))}
        super().__init__(**values)
        for name, value in secret.items():
            setattr(self, name, value)


class Patient(EncryptedRow, Base):
    """A caller the practice knows: name, number and date of birth, all encrypted.

    The date of birth tells family members sharing a number apart; it is
    compared after decryption, never indexed.
    """

    __tablename__ = "patients"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    practice_id: Mapped[str] = mapped_column(String(64), index=True)
    phone_index: Mapped[int | None] = mapped_column(Integer, index=True)
    phone_ct: Mapped[bytes | None] = mapped_column("phone", LargeBinary)
    name_ct: Mapped[bytes | None] = mapped_column("name", LargeBinary)
    birth_date_ct: Mapped[bytes | None] = mapped_column("birth_date", LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    phone = EncryptedField("phone_ct")
    name = EncryptedField("name_ct")
    birth_date = EncryptedField("birth_date_ct")


class Call(EncryptedRow, Base):
    """One phone call, keyed by Twilio's CallSid; the caller's number only encrypted."""

    __tablename__ = "calls"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    practice_id: Mapped[str] = mapped_column(String(64), index=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    caller_index: Mapped[int | None] = mapped_column(Integer, index=True)
    caller_ct: Mapped[bytes | None] = mapped_column("caller", LargeBinary)
    patient_id: Mapped[str | None] = mapped_column(
        ForeignKey("patients.id", ondelete="SET NULL"), nullable=True
    )
    status: Mapped[str] = mapped_column(String(32), default="in-progress")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    duration: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Where the call stands in its flows: the node waiting for Twilio's next
    # request, and the sequence number that request must carry.
    flow: Mapped[str] = mapped_column(String(64))
    node: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer, default=0)
    # Engine bookkeeping: re-prompt counters, the branch the caller chose,
    # Twilio SIDs.  Never a personal value (those have encrypted columns).
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)

    caller = EncryptedField("caller_ct")

    # seq doubles as the row version: two workers answering the same request
    # cannot both move the call on (the second UPDATE matches no row).
    __mapper_args__ = {"version_id_col": seq, "version_id_generator": False}  # noqa: RUF012

    steps: Mapped[list[CallStep]] = relationship(
        back_populates="call", cascade="all, delete-orphan", passive_deletes=True
    )


class CallStep(EncryptedRow, Base):
    """The answer given to one request of a call (encrypted: it may name the patient).

    Twilio retries a webhook it got no answer to: the unique (call, seq) pair
    makes the second request find the first answer instead of acting twice.
    """

    __tablename__ = "call_steps"
    __table_args__ = (UniqueConstraint("call_id", "seq"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    practice_id: Mapped[str] = mapped_column(String(64))
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    node: Mapped[str] = mapped_column(String(130))
    twiml_ct: Mapped[bytes] = mapped_column("twiml", LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    twiml = EncryptedField("twiml_ct")

    call: Mapped[Call] = relationship(back_populates="steps")


class Message(EncryptedRow, Base):
    """A message left by a caller: transcript and call-back number encrypted."""

    __tablename__ = "messages"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    practice_id: Mapped[str] = mapped_column(String(64), index=True)
    call_id: Mapped[str | None] = mapped_column(
        ForeignKey("calls.id", ondelete="SET NULL"), nullable=True, index=True
    )
    patient_id: Mapped[str | None] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), nullable=True, index=True
    )
    doctor_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    callback_index: Mapped[int | None] = mapped_column(Integer, index=True)
    callback_number_ct: Mapped[bytes | None] = mapped_column("callback_number", LargeBinary)
    transcript_ct: Mapped[bytes | None] = mapped_column("transcript", LargeBinary)
    callback_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(32), default="recorded")
    recording_sid: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    recording_duration: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # -- transcription (callcenter.messages) --
    # status: recorded (audio held, not yet sent to an engine) -> transcribing
    # -> transcribed | transcription-failed; never dropped.
    engine: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # The key real-time transcription callbacks carry (our name, not a Twilio SID).
    transcription_ref: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    transcription_attempts: Mapped[int] = mapped_column(Integer, default=0)
    transcribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # -- the console (issue 8): called back / dealt with, and by which account --
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    handled_by: Mapped[str | None] = mapped_column(String(32), nullable=True)

    callback_number = EncryptedField("callback_number_ct")
    transcript = EncryptedField("transcript_ct")


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
    # -- issue 5: the booking call, the last change (cancelled, moved) and a move's origin
    call_id: Mapped[str | None] = mapped_column(
        ForeignKey("calls.id", ondelete="SET NULL"), nullable=True
    )
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    replaces_id: Mapped[str | None] = mapped_column(String(32), nullable=True)


# -- appointments (issue 5): the double-booking guard, the SMS outbox, calendar feeds ----
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


class RemoteDeletion(Base):
    """Something to delete at Twilio (a recording, a transcription, a call log).

    Kept until Twilio confirms, so a failed deletion is retried later and
    never forgotten.  Holds SIDs only.
    """

    __tablename__ = "remote_deletions"
    __table_args__ = (UniqueConstraint("kind", "sid"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # recording | transcription | call
    sid: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(64), nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)


class KeyCheck(EncryptedRow, Base):
    """A known value encrypted at ``init``: start-up proves the key ring opens this database."""

    __tablename__ = "key_check"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    practice_id: Mapped[str] = mapped_column(String(64))
    value_ct: Mapped[bytes] = mapped_column("value", LargeBinary)

    value = EncryptedField("value_ct")

    KNOWN = "callcenter key check"


class KeyUsage(Base):
    """Values encrypted under each key, summed over every process.

    Random 96-bit nonces stay safe up to 2^32 encryptions per key; the cipher
    refuses to go past 2^30, counting from this total (SECURITY.md §2).
    """

    __tablename__ = "key_usage"

    key_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    encryptions: Mapped[int] = mapped_column(BigInteger, default=0)


class IdentificationGuard(Base):
    """Wrong dates of birth counted per number: the brute-force guard of identification.

    Keyed by the number's blind index, so it holds no number, only counts and
    times; the whole table is short-lived (a window and a lock of an hour).
    One row per (practice, index): counting is an atomic upsert on that key.
    """

    __tablename__ = "identification_guards"

    practice_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    phone_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class QueueEntry(Base):
    """A caller waiting for a secretary: which queue, since when, how it ended.

    No personal data: the secretaries' line picks the next queue from these
    rows (urgent first, then the longest wait), and the caller's choice made
    while waiting (call-back or message) waits here for Twilio's Enqueue action.
    """

    __tablename__ = "queue_entries"

    call_id: Mapped[str] = mapped_column(
        ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True
    )
    practice_id: Mapped[str] = mapped_column(String(64), index=True)
    queue: Mapped[str] = mapped_column(String(64))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    enqueued_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    choice: Mapped[str | None] = mapped_column(String(16), nullable=True)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    result: Mapped[str | None] = mapped_column(String(32), nullable=True)
