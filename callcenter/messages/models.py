"""Message rows: what callers chose to leave, and the parts of a real-time transcript.

Every personal value (transcript, call-back number) is an encrypted field
bound to its practice, table, column and row; the call-back number is found
through its keyed blind index, never in clear.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.security.encrypted import BlindIndex, EncryptedField, EncryptedRow
from callcenter.storage.db import Base, UTCDateTime


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
    # What the caller asked for at the open question (prescription, results, certificate,
    # late), so staff see the request before the words; None for a plain message.
    kind: Mapped[str | None] = mapped_column(String(32), nullable=True)
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
    # -- the console: called back / dealt with, and by which account --
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    handled_by: Mapped[str | None] = mapped_column(String(32), nullable=True)

    callback_number = EncryptedField("callback_number_ct")
    blind_index = BlindIndex("callback_number", "callback_index")  # recomputed on re-encryption
    transcript = EncryptedField("transcript_ct")


class TranscriptPart(EncryptedRow, Base):
    """One final utterance of a real-time transcription (encrypted), or its end marker.

    Lives only until the message's transcript is assembled.
    """

    __tablename__ = "transcript_parts"
    __table_args__ = (UniqueConstraint("ref", "sequence"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    practice_id: Mapped[str] = mapped_column(String(64))
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    ref: Mapped[str] = mapped_column(String(64), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    text_ct: Mapped[bytes | None] = mapped_column("text", LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    text = EncryptedField("text_ct")
