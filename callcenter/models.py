"""Stored rows of the call server.

Call state lives here, never in a process (DESIGN.md rule 4), so any worker
of any instance can answer the next webhook of a call.  Every row belongs to
one practice.  No caller number or other personal value is kept in clear.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from callcenter.db import Base, UTCDateTime, new_id


class Call(Base):
    """One phone call, keyed by Twilio's CallSid."""

    __tablename__ = "calls"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(String(64), index=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(32), default="in-progress")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    duration: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Where the call stands in its flows: the node waiting for Twilio's next
    # request, and the sequence number that request must carry.
    flow: Mapped[str] = mapped_column(String(64))
    node: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer, default=0)
    # Engine bookkeeping: re-prompt counters, the branch the caller chose...
    # Never a personal value (those go to encrypted columns of their own).
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)

    # seq doubles as the row version: two workers answering the same request
    # cannot both move the call on (the second UPDATE matches no row).
    __mapper_args__ = {"version_id_col": seq, "version_id_generator": False}  # noqa: RUF012

    steps: Mapped[list[CallStep]] = relationship(
        back_populates="call", cascade="all, delete-orphan", passive_deletes=True
    )


class CallStep(Base):
    """The answer given to one request of a call.

    Twilio retries a webhook it got no answer to: the unique (call, seq) pair
    makes the second request find the first answer instead of acting twice.
    """

    __tablename__ = "call_steps"
    __table_args__ = (UniqueConstraint("call_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    node: Mapped[str] = mapped_column(String(130))
    twiml: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    call: Mapped[Call] = relationship(back_populates="steps")
