"""Joining the waiting list and leaving it.

An entry waits for a slot with a doctor (or any), on a day before ``before``,
in a half-day (``morning``, ``afternoon``) or ``any``.  It ends, with its
reason kept until the retention purge deletes it, when:

- the patient takes an offered slot (``booked``);
- the patient books any other way, by phone, in the console or through the
  FHIR door (``booked_elsewhere``: seen by the matching job);
- its day has come (``date_passed``: no day before ``before`` is left);
- the patient replies STOP (``stop``, through :func:`end_for_number`);
- a secretary ends it in the console (``secretary``).

An ended entry's open offers are withdrawn at once.  Functions take the
boundary's session and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from callcenter.core.phone_numbers import normalize
from callcenter.patients.models import Patient
from callcenter.security.crypto import FieldCipher
from callcenter.security.encrypted import current_cipher
from callcenter.waitlist.models import WaitingEntry, WaitingOffer

OPEN = "open"
ENDED = "ended"
PERIODS = ("morning", "afternoon", "any")
SOURCES = ("phone", "console", "request")
# Why an entry ended.
BOOKED = "booked"
BOOKED_ELSEWHERE = "booked_elsewhere"
DATE_PASSED = "date_passed"
STOP = "stop"
SECRETARY = "secretary"
END_REASONS = (BOOKED, BOOKED_ELSEWHERE, DATE_PASSED, STOP, SECRETARY)
# Every width a practice may give its blind indexes (practice file: blind_index_bits).
_INDEX_WIDTHS = range(8, 21)


def join(
    session: Session,
    *,
    practice_id: str,
    patient_id: str,
    phone: str,
    doctor_id: str | None,
    before: date,
    period: str,
    now: datetime,
    source: str,
    bits: int | None = None,
) -> WaitingEntry:
    """Put a patient on the list; the new entry (flushed).

    ``phone`` is the number the offers go to (E.164 or national form).
    ``bits`` is the practice's blind-index width; without it the patient's own
    index is reused when the number is theirs (it was made with that width).
    Raises ValueError for a number, period or source that cannot be.
    """
    e164 = normalize(phone, "FR")
    if e164 is None or period not in PERIODS or source not in SOURCES:
        raise ValueError("a waiting-list entry needs a valid number, period and source")
    index: int | None
    patient = session.get(Patient, patient_id)
    if bits is None and patient is not None and patient.phone == e164:
        index = patient.phone_index
    else:
        index = current_cipher().phone_index(e164, practice=practice_id, bits=bits or 12)
    entry = WaitingEntry(
        practice_id=practice_id, patient_id=patient_id, phone=e164, phone_index=index,
        doctor_id=doctor_id, before=before, period=period, source=source, created_at=now,
        status=OPEN,
    )  # fmt: skip
    session.add(entry)
    session.flush()
    return entry


def end(session: Session, entry_id: str, reason: str, now: datetime,
        appointment_id: str | None = None) -> bool:  # fmt: skip
    """End an open entry and withdraw its open offers; False when it was not open (once only)."""
    changed = session.execute(
        update(WaitingEntry)
        .where(WaitingEntry.id == entry_id, WaitingEntry.status == OPEN)
        .values(status=ENDED, ended_at=now, end_reason=reason, appointment_id=appointment_id)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not changed:
        return False
    session.execute(
        update(WaitingOffer)
        .where(WaitingOffer.entry_id == entry_id, WaitingOffer.state == "open")
        .values(state="withdrawn", answered_at=now)
        .execution_options(synchronize_session=False)
    )
    return True


def entries_for_number(
    session: Session, cipher: FieldCipher, practice_id: str, number: str
) -> list[WaitingEntry]:
    """The practice's entries (open or ended) whose number is ``number``.

    The blind index narrows them to a few candidates, whatever width and key
    it was made with; each is decrypted and compared, so two numbers sharing a
    bucket never answer for each other.
    """
    e164 = normalize(number, "FR")
    if e164 is None:
        return []
    indexes = {i for bits in _INDEX_WIDTHS
               for i in cipher.phone_index_all(e164, practice=practice_id, bits=bits)}  # fmt: skip
    candidates = session.scalars(
        select(WaitingEntry)
        .where(WaitingEntry.practice_id == practice_id, WaitingEntry.phone_index.in_(indexes))
        .order_by(WaitingEntry.created_at)
    ).all()
    return [entry for entry in candidates if entry.phone == e164]


def end_for_number(
    session: Session, cipher: FieldCipher, practice_id: str, number: str, now: datetime,
    reason: str,
) -> int:  # fmt: skip
    """End every open entry of this number at the practice (a STOP); how many ended."""
    found = entries_for_number(session, cipher, practice_id, number)
    return sum(end(session, e.id, reason, now) for e in found if e.status == OPEN)


def open_entries(session: Session, practice_id: str) -> Sequence[WaitingEntry]:
    """The practice's open entries, in the order they were made: the order offers follow."""
    return session.scalars(
        select(WaitingEntry)
        .where(WaitingEntry.practice_id == practice_id, WaitingEntry.status == OPEN)
        .order_by(WaitingEntry.created_at, WaitingEntry.id)
    ).all()
