"""Request rows: what a caller asked the practice for, and the one SMS saying it is handled.

The detail the caller gave (a medication, which results) and the call-back
number are encrypted fields bound to their practice, table, column and row,
as a message's are; the number is found through its keyed blind index.  The
SMS row holds no personal value: the number is read from the request when
the SMS goes out.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.security.encrypted import BlindIndex, EncryptedField, EncryptedRow
from callcenter.storage.db import Base, UTCDateTime, new_id


class PatientRequest(EncryptedRow, Base):
    """A prescription renewal, results question or certificate request left on the line."""

    __tablename__ = "patient_requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    practice_id: Mapped[str] = mapped_column(String(64), index=True)
    call_id: Mapped[str | None] = mapped_column(
        ForeignKey("calls.id", ondelete="SET NULL"), nullable=True, unique=True
    )
    patient_id: Mapped[str | None] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), nullable=True, index=True
    )
    # The doctor the request is for; None: the practice (whoever handles it).
    doctor_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    kind: Mapped[str] = mapped_column(String(32))  # prescription | results | certificate
    callback_index: Mapped[int | None] = mapped_column(Integer, index=True)
    callback_number_ct: Mapped[bytes | None] = mapped_column("callback_number", LargeBinary)
    detail_ct: Mapped[bytes | None] = mapped_column("detail", LargeBinary)
    # open -> done | declined | consultation (to be seen in consultation)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    handled_by: Mapped[str | None] = mapped_column(String(32), nullable=True)

    callback_number = EncryptedField("callback_number_ct")
    blind_index = BlindIndex("callback_number", "callback_index")  # recomputed on re-encryption
    detail = EncryptedField("detail_ct")


class RequestSms(Base):
    """The "your request has been handled" SMS: one per request, sent through the SMS queue."""

    __tablename__ = "request_sms"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(String(64), index=True)
    request_id: Mapped[str] = mapped_column(
        ForeignKey("patient_requests.id", ondelete="CASCADE"), unique=True
    )
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    message_sid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(64), nullable=True)
