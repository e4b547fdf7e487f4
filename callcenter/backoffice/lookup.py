"""Everything held for one phone number: patients, messages, calls, upcoming appointments.

A caller who is not identified (an urgent call skips identification, a new
number, a refused date of birth) leaves rows that no patient links: the
search goes through the blind indexes of the call-back number
(``Message.callback_index``) and of the caller (``Call.caller_index``) too,
under every key during a rotation.  A truncated index can collide, so every
candidate's decrypted number must then match exactly.  Everything returned
is decrypted; the page showing it audits the row ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from callcenter.backoffice import diary, inbox
from callcenter.calls.models import Call
from callcenter.core.phone_numbers import normalize
from callcenter.messages.models import Message
from callcenter.patients.models import Patient
from callcenter.security.crypto import FieldCipher

LIMIT = 50  # rows of each kind: a number's history, not a listing at large
AHEAD = timedelta(days=365)  # how far the upcoming appointments go


@dataclass(frozen=True)
class CallView:
    """A call from the number (or of a patient found): no personal value but the link."""

    id: str
    practice_id: str
    started_at: datetime
    duration: int | None
    outcome: str | None
    urgent: bool
    identified: bool


@dataclass(frozen=True)
class Found:
    patients: list[inbox.PatientView]
    messages: list[inbox.MessageView]
    calls: list[CallView]
    upcoming: list[diary.AppointmentView]

    def __bool__(self) -> bool:
        return bool(self.patients or self.messages or self.calls or self.upcoming)


def by_number(
    session: Session,
    cipher: FieldCipher,
    practice_ids: Sequence[str],
    number: str,
    bits_for: dict[str, int],
    now: datetime,
) -> Found:
    """What the practices hold for ``number`` (any common format), newest first."""
    e164 = normalize(number, "FR")
    if e164 is None:  # not a number: no query at all
        return Found([], [], [], [])
    patients = inbox.by_phone(session, cipher, practice_ids, e164, bits_for)
    patient_ids = [p.id for p in patients]
    messages: list[inbox.MessageView] = []
    calls: list[CallView] = []
    for practice_id in practice_ids:
        indexes = cipher.phone_index_all(e164, practice=practice_id, bits=bits_for[practice_id])
        messages += _messages(session, practice_id, e164, indexes, patient_ids)
        calls += _calls(session, practice_id, e164, indexes, patient_ids)
    messages.sort(key=lambda m: (m.created_at, m.id), reverse=True)
    calls.sort(key=lambda c: (c.started_at, c.id), reverse=True)
    upcoming = diary.between(
        session, practice_ids, now, now + AHEAD,
        patient_ids=patient_ids, call_ids=[c.id for c in calls],
    )  # fmt: skip
    return Found(patients, messages[:LIMIT], calls[:LIMIT], upcoming)


def _same(value: str | None, e164: str) -> bool:
    return value is not None and normalize(value) == e164


def _messages(
    session: Session, practice_id: str, e164: str, indexes: list[int], patient_ids: list[str]
) -> list[inbox.MessageView]:
    """The practice's messages to call back on this number, or left by a patient found."""
    query = (
        select(Message, Patient)
        .outerjoin(Patient, Patient.id == Message.patient_id)
        .where(
            Message.practice_id == practice_id,
            or_(Message.callback_index.in_(indexes), Message.patient_id.in_(patient_ids)),
        )
        .order_by(Message.created_at.desc())
        .limit(LIMIT * 2)  # room for the index's collisions, dropped below
    )
    return [
        inbox.view(m, p)
        for m, p in session.execute(query)
        if m.patient_id in patient_ids or _same(m.callback_number, e164)
    ]


def _calls(
    session: Session, practice_id: str, e164: str, indexes: list[int], patient_ids: list[str]
) -> list[CallView]:
    """The practice's calls from this number, or identified as a patient found."""
    query = (
        select(Call)
        .where(
            Call.practice_id == practice_id,
            or_(Call.caller_index.in_(indexes), Call.patient_id.in_(patient_ids)),
        )
        .order_by(Call.started_at.desc())
        .limit(LIMIT * 2)
    )
    return [
        _call_view(c)
        for c in session.scalars(query)
        if c.patient_id in patient_ids or _same(c.caller, e164)
    ]


def _call_view(call: Call) -> CallView:
    return CallView(
        id=call.id, practice_id=call.practice_id, started_at=call.started_at,
        duration=call.duration, outcome=call.outcome, urgent=call.urgent,
        identified=call.patient_id is not None,
    )  # fmt: skip
