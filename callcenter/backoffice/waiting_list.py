"""The waiting list as the secretaries see it: open entries in order, the offer under way, end one.

Shows what the diary shows of a patient (the name) and no more: never the
number an offer is texted to.  The page audits the names it shows.  Knows
nothing of Flask; the session belongs to the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.patients.models import Patient
from callcenter.waitlist import entries
from callcenter.waitlist.models import WaitingEntry, WaitingOffer


@dataclass(frozen=True)
class EntryView:
    id: str
    practice_id: str
    doctor_id: str | None  # None: any doctor
    before: date
    period: str
    source: str
    created_at: datetime
    patient_name: str | None
    offer_starts_at: datetime | None  # the slot offered now, if any
    offer_expires_at: datetime | None


def open_entries(session: Session, practice_ids: Sequence[str]) -> list[EntryView]:
    """The open entries of these practices, in the order offers follow (oldest first)."""
    rows = session.execute(
        select(WaitingEntry, Patient)
        .outerjoin(Patient, Patient.id == WaitingEntry.patient_id)
        .where(WaitingEntry.practice_id.in_(practice_ids), WaitingEntry.status == entries.OPEN)
        .order_by(WaitingEntry.practice_id, WaitingEntry.created_at, WaitingEntry.id)
    ).all()
    offers = {
        o.entry_id: o
        for o in session.scalars(
            select(WaitingOffer).where(
                WaitingOffer.entry_id.in_([e.id for e, _ in rows]), WaitingOffer.state == "open"
            )
        )
    }
    return [_view(entry, patient, offers.get(entry.id)) for entry, patient in rows]


def end(session: Session, practice_ids: Sequence[str], entry_id: str, now: datetime) -> str | None:
    """End an open entry of these practices; its practice, or None (not theirs, or ended)."""
    entry = session.get(WaitingEntry, entry_id)
    if entry is None or entry.practice_id not in practice_ids:
        return None
    return entry.practice_id if entries.end(session, entry.id, entries.SECRETARY, now) else None


def _view(entry: WaitingEntry, patient: Patient | None, offer: WaitingOffer | None) -> EntryView:
    return EntryView(
        id=entry.id, practice_id=entry.practice_id, doctor_id=entry.doctor_id,
        before=entry.before, period=entry.period, source=entry.source,
        created_at=entry.created_at, patient_name=patient.name if patient else None,
        offer_starts_at=offer.starts_at if offer else None,
        offer_expires_at=offer.expires_at if offer else None,
    )  # fmt: skip
