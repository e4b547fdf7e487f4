"""Call rows: each call, its steps through the flows, and its place in the waiting queue.

Call state lives here, never in a process, so any worker of any instance can
answer the next webhook of a call.  Every row belongs to one practice; the
caller's number is an encrypted field, found through its keyed blind index.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from callcenter.security.encrypted import BlindIndex, EncryptedField, EncryptedRow
from callcenter.storage.db import Base, UTCDateTime


class Call(EncryptedRow, Base):
    """One phone call, keyed by Twilio's CallSid; the caller's number only encrypted."""

    __tablename__ = "calls"
    # What a new call's throttles read, by an index range whatever the number of calls:
    # the caller's calls of the last minute, the practice's calls of the last hour.
    __table_args__ = (
        Index("ix_calls_practice_caller_started", "practice_id", "caller_index", "started_at"),
        Index("ix_calls_practice_started", "practice_id", "started_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    practice_id: Mapped[str] = mapped_column(String(64))
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
    blind_index = BlindIndex("caller", "caller_index")  # recomputed on re-encryption

    # seq doubles as the row version: two workers answering the same request
    # cannot both move the call on (the second UPDATE matches no row).
    __mapper_args__ = {"version_id_col": seq, "version_id_generator": False}  # noqa: RUF012

    steps: Mapped[list[CallStep]] = relationship(
        back_populates="call", cascade="all, delete-orphan", passive_deletes=True
    )


class CallRecord(Protocol):
    """A call as flows and messages use it: a mapped :class:`Call` or a webhook's
    :class:`~callcenter.calls.live.LiveCall`, the same attributes either way."""

    id: str
    practice_id: str
    call_sid: str
    caller: Any  # the number, encrypted in the row
    caller_index: int | None
    patient_id: str | None
    started_at: datetime
    flow: str
    node: str
    seq: int
    state: dict[str, Any]
    outcome: str | None
    urgent: bool


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
