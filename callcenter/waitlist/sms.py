"""The offers' SMS, sent through the shared SMS queue (:class:`callcenter.notify.notices.SmsQueue`).

The text says the practice's name, the date and the time, and how long the
offer waits for OUI; never the patient's name, the doctor or a reason, as
the appointment confirmation.  The number is read (decrypted) from the entry
only when sending, and each sending batch is audited as a count.  An offer
no longer open (taken, withdrawn, expired) is skipped, never sent; one that
is sent waits its full lifetime from then.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from callcenter.config.practice import PracticeDirectory
from callcenter.config.prompts import Catalogue
from callcenter.core.logs import get_logger
from callcenter.core.spoken import spoken_datetime
from callcenter.notify.notices import SENT, SendReport, SmsQueue, send_audited
from callcenter.storage.db import Database
from callcenter.waitlist.models import WaitingEntry, WaitingOffer

log = get_logger("callcenter.waitlist")

OFFER_TEXT = "sms_waitlist_offer"


def send_due(
    db: Database,
    practices: PracticeDirectory,
    catalogues: dict[str, Catalogue],
    client_factory: Callable[[], Any],
    now: datetime,
    limit: int = 20,
) -> SendReport:
    """Send the due offers; a failed one is retried while the offer lasts."""
    queue = _OfferSms(practices, catalogues)
    return send_audited(db, queue, client_factory, now, limit, "waitlist.offers_sent")


class _OfferSms(SmsQueue[WaitingOffer]):
    model, event = WaitingOffer, "waitlist_offer"

    def send(self, session: Session, row: WaitingOffer, now: datetime) -> str:
        practice = self.practices.by_id(row.practice_id)
        entry = session.get(WaitingEntry, row.entry_id)
        rules = practice.appointments if practice else None
        if practice is None or rules is None or entry is None or entry.phone is None:
            return self.skip(row, "no-entry")
        if row.state != "open" or row.expires_at <= now or row.starts_at <= now:
            return self.skip(row, "not-open")
        minutes = rules.waiting_list.offer_minutes
        body = self.catalogues[practice.id].text(
            OFFER_TEXT,
            {"practice_name": practice.name, "minutes": minutes,
             "when": spoken_datetime(row.starts_at.astimezone(practice.tz))},
        )  # fmt: skip
        self.text(row, to=entry.phone, from_=practice.number, body=body, now=now)
        row.expires_at = max(row.expires_at, now + timedelta(minutes=minutes))
        log.info("waitlist_offer_sent", offer=row.id, message_sid=row.message_sid)
        return SENT
