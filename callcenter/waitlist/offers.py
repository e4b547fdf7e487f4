"""Freed slots offered to the waiting list, and the OUI that takes one.

One mechanism covers every way a slot frees up (a cancellation by phone, in
the console or by SMS, a move, a doctor's new opening): :func:`match`, run
by the worker every minute, looks for free slots that suit open entries and
that no open offer holds yet, and offers each to the first
``waiting_list.offer_to`` matching entries (3 by default) in the order they
were made.  An entry holds one open offer at a time and is never offered the
same slot twice, so a slot nobody took in time goes to the next entries.

A slot is offered only when it starts at least the booking's minimum notice
plus the offer's lifetime from now: whoever answers at the last minute can
still book it.  An offer lives ``waiting_list.offer_minutes`` (30 by
default) from its SMS.

:func:`accept` books the slot for the first OUI through
:func:`callcenter.appointments.booking.book`, whose one conditional INSERT of
the slot's cells is what lets exactly one of many simultaneous OUIs win; the
others are told the slot was just taken and stay on the list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from callcenter.agenda import sync as agenda
from callcenter.appointments import booking
from callcenter.appointments.models import Appointment
from callcenter.config.practice import Practice
from callcenter.config.schedules import MORNING_ENDS, BookingRules, SlotQuery, booking_window
from callcenter.config.schedules import free_slots as find_free_slots
from callcenter.core.spoken import spoken_datetime
from callcenter.security.crypto import FieldCipher
from callcenter.storage.db import new_id
from callcenter.storage.unit_of_work import Task, after_commit
from callcenter.waitlist import entries
from callcenter.waitlist.models import WaitingEntry, WaitingOffer

OPEN = "open"
ACCEPTED = "accepted"
LOST = "lost"  # another entry took the slot first, or it was booked another way
EXPIRED = "expired"
WITHDRAWN = "withdrawn"  # the entry ended meanwhile
#: How long a late OUI is still answered about its offer (expired or lost) rather than
#: with the SMS door's generic text.
LATE_ANSWERS = timedelta(hours=24)
_SCAN_LIMIT = 2000  # free starts read per doctor and run: a month of a full-time agenda

# The SMS answers to OUI (keys of the prompt catalogue).
TAKEN = "waitlist_offer_taken"
GONE = "waitlist_offer_gone"
TOO_LATE = "waitlist_offer_expired"


@dataclass(frozen=True)
class Answer:
    """What to text back to an OUI: a catalogue key and its variables."""

    key: str
    variables: dict[str, str] = field(default_factory=dict)


@dataclass
class MatchReport:
    offered: int = 0
    expired: int = 0
    ended: int = 0


# -- the worker's job ------------------------------------------------------------------------
def match(session: Session, practice: Practice, now: datetime) -> MatchReport:
    """Expire old offers, end entries that are done, and offer free slots to the others."""
    report = MatchReport()
    report.expired = session.execute(
        update(WaitingOffer)
        .where(WaitingOffer.practice_id == practice.id, WaitingOffer.state == OPEN,
               WaitingOffer.expires_at <= now)
        .values(state=EXPIRED)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]  # fmt: skip
    report.ended = _end_finished(session, practice, now)
    rules = practice.appointments
    waiting = entries.open_entries(session, practice.id)
    if rules is None or not waiting:
        return report
    lifetime = timedelta(minutes=rules.waiting_list.offer_minutes)
    held: set[tuple[str, datetime]] = set(session.execute(
        select(WaitingOffer.doctor_id, WaitingOffer.starts_at)
        .where(WaitingOffer.practice_id == practice.id, WaitingOffer.state == OPEN)
    ).all())  # fmt: skip
    ids = [e.id for e in waiting]
    offered_before: set[tuple[str, str, datetime]] = set(session.execute(
        select(WaitingOffer.entry_id, WaitingOffer.doctor_id, WaitingOffer.starts_at)
        .where(WaitingOffer.entry_id.in_(ids))
    ).all())  # fmt: skip
    # One open offer per entry at a time: a patient is never asked about two slots at once.
    busy = set(session.scalars(
        select(WaitingOffer.entry_id)
        .where(WaitingOffer.entry_id.in_(ids), WaitingOffer.state == OPEN)
    ))  # fmt: skip
    for start, doctor_id, kind_id, minutes in _free_slots(session, practice, rules, waiting,
                                                          now + lifetime):  # fmt: skip
        if (doctor_id, start) in held:
            continue
        takers = [
            e for e in waiting
            if e.id not in busy and (e.id, doctor_id, start) not in offered_before
            and suits(e, doctor_id, start, practice)
        ][: rules.waiting_list.offer_to]  # fmt: skip
        for entry in takers:
            report.offered += _offer(session, practice.id, entry.id, doctor_id, start, kind_id,
                                     minutes, now, now + lifetime)  # fmt: skip
            busy.add(entry.id)
    return report


def suits(entry: WaitingEntry, doctor_id: str, start: datetime, practice: Practice) -> bool:
    """Whether a slot is what the entry waits for: doctor, a day before ``before``, half-day."""
    local = start.astimezone(practice.tz)
    if entry.doctor_id not in (None, doctor_id) or local.date() >= entry.before:
        return False
    if entry.period == "morning":
        return local.time() < MORNING_ENDS
    if entry.period == "afternoon":
        return local.time() >= MORNING_ENDS
    return True


def _free_slots(
    session: Session, practice: Practice, rules: BookingRules, waiting: Sequence[WaitingEntry],
    from_: datetime,
) -> list[tuple[datetime, str, str, int]]:  # fmt: skip
    """Free starts (soonest first) of the doctors the entries wait for, before their last day.

    ``from_`` stands for ``now`` in the booking window, so the minimum notice
    counts from the offer's end.
    """
    start, end = booking_window(rules, from_, practice.tz)
    found = []
    for doctor in rules.doctors.values():
        wanted = [e.before for e in waiting if e.doctor_id in (None, doctor.doctor_id)]
        if not wanted:
            continue
        last: date = max(wanted)
        kind = rules.kind_for(doctor, new_patient=False)
        with session.no_autoflush:
            taken = booking.taken_cells(session, practice.id, doctor.doctor_id, start, end)
            busy = agenda.busy_between(session, practice.id, doctor.doctor_id, start, end)
        slots = find_free_slots(
            rules, doctor, kind, now=from_, tz=practice.tz, closed=practice.closed_on, taken=taken,
            query=SlotQuery(), limit=_SCAN_LIMIT, busy=busy,
        )  # fmt: skip
        found += [(s, doctor.doctor_id, kind.id, kind.minutes) for s in slots
                  if s.astimezone(practice.tz).date() < last]  # fmt: skip
    return sorted(found)


def _offer(session: Session, practice_id: str, entry_id: str, doctor_id: str, start: datetime,
           kind: str, minutes: int, now: datetime, expires: datetime) -> int:  # fmt: skip
    """One offer (and its SMS) per entry and slot, whichever worker gets there first."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(WaitingOffer).values(
        id=new_id(), practice_id=practice_id, entry_id=entry_id, doctor_id=doctor_id,
        starts_at=start, kind=kind, minutes=minutes, created_at=now, expires_at=expires,
        state=OPEN, status="pending", attempts=0, due_at=now,
    ).on_conflict_do_nothing(
        index_elements=["entry_id", "doctor_id", "starts_at"]
    ).returning(WaitingOffer.id)  # fmt: skip
    added = len(session.execute(statement).all())  # rowcount is -1 through psycopg
    if added:
        after_commit(session, Task.SEND_SMS)
    return added


def _end_finished(session: Session, practice: Practice, now: datetime) -> int:
    """End the entries whose day has come and those whose patient booked since joining."""
    today = now.astimezone(practice.tz).date()
    booked_since = exists().where(
        Appointment.practice_id == WaitingEntry.practice_id,
        Appointment.patient_id == WaitingEntry.patient_id,
        Appointment.status == booking.BOOKED,
        Appointment.created_at >= WaitingEntry.created_at,
    )
    ended = 0
    for reason, condition in ((entries.DATE_PASSED, WaitingEntry.before <= today),
                              (entries.BOOKED_ELSEWHERE, booked_since)):  # fmt: skip
        found = session.scalars(
            select(WaitingEntry.id).where(
                WaitingEntry.practice_id == practice.id, WaitingEntry.status == entries.OPEN,
                condition,
            )
        ).all()  # fmt: skip
        ended += sum(entries.end(session, entry_id, reason, now) for entry_id in found)
    return ended


# -- OUI ----------------------------------------------------------------------------------------
def accept(
    session: Session, cipher: FieldCipher, practice: Practice, sender: str, now: datetime
) -> Answer | None:
    """The sender's OUI: book their open offer's slot if it is still free.

    None when the sender has no offer to answer about (the SMS door then
    answers its generic text).  A repeated OUI for a slot already theirs is
    answered as the first one was; under concurrency, whether from many
    patients or from one OUI delivered twice, the slot is booked once.
    """
    mine = [e.id for e in entries.entries_for_number(session, cipher, practice.id, sender)]
    if not mine:
        return None
    offers = session.scalars(
        select(WaitingOffer)
        .where(WaitingOffer.entry_id.in_(mine), WaitingOffer.sent_at.is_not(None),
               WaitingOffer.state.in_((OPEN, ACCEPTED, LOST, EXPIRED)),
               WaitingOffer.expires_at > now - LATE_ANSWERS)
        .order_by(WaitingOffer.starts_at)
    ).all()  # fmt: skip
    live = [o for o in offers if o.state == OPEN and o.expires_at > now]
    if live:
        return _take(session, practice, live[0], now)
    for state, key in ((ACCEPTED, TAKEN), (LOST, GONE), (OPEN, TOO_LATE), (EXPIRED, TOO_LATE)):
        found = [o for o in offers if o.state == state]
        if found:
            return _answer(practice, found[-1], key)
    return None


def _take(session: Session, practice: Practice, offer: WaitingOffer, now: datetime) -> Answer:
    rules = practice.appointments
    doctor = rules.doctors.get(offer.doctor_id) if rules else None
    entry = session.get_one(WaitingEntry, offer.entry_id)
    appointment_id = None
    if doctor is not None and offer.starts_at > now:
        appointment_id = booking.book(
            session, practice_id=practice.id, doctor_id=offer.doctor_id,
            patient_id=entry.patient_id, starts_at=offer.starts_at, minutes=offer.minutes,
            slot_minutes=doctor.slot_minutes, kind=offer.kind, now=now,
        )  # fmt: skip
    if appointment_id is None:
        # Taken first (by another OUI, or by this very OUI delivered twice): say which.
        _set_state(session, offer.id, LOST, now)
        state = session.scalar(select(WaitingOffer.state).where(WaitingOffer.id == offer.id))
        return _answer(practice, offer, TAKEN if state == ACCEPTED else GONE)
    _set_state(session, offer.id, ACCEPTED, now, appointment_id=appointment_id)
    # The slot's other offers lose; the entry ends, withdrawing its other offers.
    session.execute(
        update(WaitingOffer)
        .where(WaitingOffer.practice_id == practice.id, WaitingOffer.doctor_id == offer.doctor_id,
               WaitingOffer.starts_at == offer.starts_at, WaitingOffer.state == OPEN)
        .values(state=LOST, answered_at=now)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    entries.end(session, entry.id, entries.BOOKED, now, appointment_id=appointment_id)
    return _answer(practice, offer, TAKEN)


def _set_state(session: Session, offer_id: str, state: str, now: datetime,
               appointment_id: str | None = None) -> None:  # fmt: skip
    """Move an open offer on; an offer already answered is left as it is."""
    values: dict[str, object] = {"state": state, "answered_at": now}
    if appointment_id is not None:
        values["appointment_id"] = appointment_id
    session.execute(
        update(WaitingOffer)
        .where(and_(WaitingOffer.id == offer_id, WaitingOffer.state == OPEN))
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def _answer(practice: Practice, offer: WaitingOffer, key: str) -> Answer:
    when = spoken_datetime(offer.starts_at.astimezone(practice.tz))
    return Answer(key, {"practice_name": practice.name, "when": when})


def accept_reply(
    session: Session, cipher: FieldCipher, practice: Practice, sender: str, now: datetime
) -> Answer | None:
    """The SMS door's handler for OUI: :func:`accept`, registered by the replies' dispatcher."""
    return accept(session, cipher, practice, sender, now)
