"""What the waiting list did over a period, as counts: for the statistics page and the digests.

Counted from ids and times only (no encrypted column): entries made, freed
slots offered (a slot offered to three entries counts once) and slots
re-filled (an offer taken with OUI).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callcenter.waitlist.models import WaitingEntry, WaitingOffer


@dataclass(frozen=True)
class WaitlistCounts:
    joined: int = 0  # entries made
    offered: int = 0  # freed slots offered by SMS
    refilled: int = 0  # of which taken back through the list


def counts(
    session: Session, practice_id: str, start: datetime, end: datetime,
    doctor_id: str | None = None,
) -> WaitlistCounts:  # fmt: skip
    """The practice's (or one doctor's) waiting list in [start, end)."""
    entries = select(func.count(WaitingEntry.id)).where(
        WaitingEntry.practice_id == practice_id,
        WaitingEntry.created_at >= start,
        WaitingEntry.created_at < end,
    )
    if doctor_id is not None:
        entries = entries.where(WaitingEntry.doctor_id == doctor_id)
    offers = [WaitingOffer.practice_id == practice_id]
    if doctor_id is not None:
        offers.append(WaitingOffer.doctor_id == doctor_id)
    slots = (
        select(WaitingOffer.doctor_id, WaitingOffer.starts_at)
        .where(*offers, WaitingOffer.created_at >= start, WaitingOffer.created_at < end)
        .distinct()
        .subquery()
    )
    refilled = select(func.count(WaitingOffer.id)).where(
        *offers, WaitingOffer.state == "accepted", WaitingOffer.answered_at >= start,
        WaitingOffer.answered_at < end,
    )  # fmt: skip
    return WaitlistCounts(
        joined=session.scalar(entries) or 0,
        offered=session.scalar(select(func.count()).select_from(slots)) or 0,
        refilled=session.scalar(refilled) or 0,
    )


__all__ = ["WaitlistCounts", "counts"]
