"""Rows of the work that leaves the server on its own: urgent SMS notices, the doctors'
mail outbox, and deletions to make at Twilio.

Each row is claimed by one worker at a time, retried with back-off and kept
until it is done or given up, so nothing is sent twice or forgotten.  Notices
and deletions hold references and SIDs only; a pending mail is encrypted.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.security.encrypted import BlindIndex, EncryptedField, EncryptedRow
from callcenter.storage.db import Base, UTCDateTime, new_id


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


class Notice(Base):
    __tablename__ = "notices"
    __table_args__ = (UniqueConstraint("call_id", "kind"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(String(64), index=True)
    call_id: Mapped[str | None] = mapped_column(
        ForeignKey("calls.id", ondelete="SET NULL"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(32))  # urgent-call | urgent-message
    doctor_id: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    message_sid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(64), nullable=True)


#: An outbox mail's status.
PENDING, SENT, FAILED, SKIPPED, REFUSED = "pending", "sent", "failed", "skipped", "refused"


class OutboxMail(EncryptedRow, Base):
    """One e-mail for one doctor; ``status`` says where it stands (no personal data)."""

    __tablename__ = "mail_outbox"
    __table_args__ = (UniqueConstraint("practice_id", "doctor_id", "kind", "ref"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    practice_id: Mapped[str] = mapped_column(String(64), index=True)
    doctor_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # digest | urgent
    ref: Mapped[str] = mapped_column(String(64))
    period_start: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    period_end: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    items: Mapped[int] = mapped_column(Integer, default=0)
    body_ct: Mapped[bytes | None] = mapped_column("body", LargeBinary, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(120), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    body = EncryptedField("body_ct")


class SmsOptOut(EncryptedRow, Base):
    """A number that replied STOP to a practice: no SMS from that practice goes to it.

    The number is encrypted and found through its blind index, like a
    patient's; a lookup decrypts the bucket's rows to rule out the numbers
    sharing it.  No name, no link to a patient: the opt-out outlives an
    erasure (the patient's own choice, holding nothing else).
    """

    __tablename__ = "sms_opt_outs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    practice_id: Mapped[str] = mapped_column(String(64), index=True)
    phone_index: Mapped[int | None] = mapped_column(Integer, index=True)
    phone_ct: Mapped[bytes | None] = mapped_column("phone", LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    phone = EncryptedField("phone_ct")
    blind_index = BlindIndex("phone", "phone_index")  # recomputed on re-encryption
