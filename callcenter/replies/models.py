"""What is kept of a patient's SMS reply: its SID, to answer a Twilio retry once.

Never the text, never the number: the SID, the practice, the keyword it was
read as (or ``other``) and when it came.  Kept for :data:`RETENTION`, then
purged (:mod:`callcenter.retention.purge`): Twilio retries within minutes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.storage.db import Base, UTCDateTime

#: How long a reply's SID is kept: long past any retry of Twilio's.
RETENTION = timedelta(days=2)


class SmsReply(Base):
    """One SMS received on a practice's number, by SID: a retry finds it and does nothing."""

    __tablename__ = "sms_replies"

    message_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    practice_id: Mapped[str] = mapped_column(String(64), index=True)
    # The keyword the text was read as (OUI, ANNULER, STOP, START) or "other";
    # and what came of it (cancelled, opted-out, none…): no personal data.
    keyword: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
