"""Everything held for one phone number: patients, messages, calls, appointments, requests.

The number's open waiting-list entries come along too.

A caller who is not identified (an urgent call skips identification, a new
number, a refused date of birth) leaves rows that no patient links: the
search goes through the blind indexes of the call-back number
(``Message.callback_index``, ``PatientRequest.callback_index``) and of the
caller (``Call.caller_index``) too,
under every key during a rotation.  A truncated index can collide, so every
candidate's decrypted number must then match exactly.  Everything returned
is decrypted; the page showing it audits the row ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from callcenter.backoffice import diary, inbox
from callcenter.calls.models import Call
from callcenter.core.phone_numbers import normalize
from callcenter.messages.models import Message
from callcenter.patient_requests.models import PatientRequest
from callcenter.patients.models import Patient
from callcenter.security.crypto import FieldCipher
from callcenter.waitlist import entries
from callcenter.waitlist.models import WaitingEntry

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
class RequestView:
    """A request left from the number (or by a patient found), its detail decrypted."""

    id: str
    practice_id: str
    kind: str
    created_at: datetime
    doctor_id: str | None  # None: for the practice
    status: str
    detail: str | None


@dataclass(frozen=True)
class WaitingView:
    """An open waiting-list entry of the number (or of a patient found): no personal value."""

    id: str
    practice_id: str
    doctor_id: str | None  # None: any doctor
    before: date
    period: str


@dataclass(frozen=True)
class Found:
    patients: list[inbox.PatientView]
    messages: list[inbox.MessageView]
    calls: list[CallView]
    upcoming: list[diary.AppointmentView]
    requests: list[RequestView]
    waiting: list[WaitingView]

    def __bool__(self) -> bool:
        return bool(
            self.patients or self.messages or self.calls or self.upcoming
            or self.requests or self.waiting
        )  # fmt: skip


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
        return Found([], [], [], [], [], [])
    patients = inbox.by_phone(session, cipher, practice_ids, e164, bits_for)
    patient_ids = [p.id for p in patients]
    messages: list[inbox.MessageView] = []
    calls: list[CallView] = []
    requests: list[RequestView] = []
    waiting: list[WaitingView] = []
    for practice_id in practice_ids:
        indexes = cipher.phone_index_all(e164, practice=practice_id, bits=bits_for[practice_id])
        messages += _messages(session, practice_id, e164, indexes, patient_ids)
        calls += _calls(session, practice_id, e164, indexes, patient_ids)
        requests += _requests(session, practice_id, e164, indexes, patient_ids)
        waiting += _waiting(session, cipher, practice_id, e164, patient_ids)
    messages.sort(key=lambda m: (m.created_at, m.id), reverse=True)
    calls.sort(key=lambda c: (c.started_at, c.id), reverse=True)
    requests.sort(key=lambda r: (r.created_at, r.id), reverse=True)
    waiting.sort(key=lambda w: (w.before, w.id))
    upcoming = diary.between(
        session, practice_ids, now, now + AHEAD,
        patient_ids=patient_ids, call_ids=[c.id for c in calls],
    )  # fmt: skip
    return Found(
        patients, messages[:LIMIT], calls[:LIMIT], upcoming, requests[:LIMIT], waiting[:LIMIT]
    )


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


def _requests(
    session: Session, practice_id: str, e164: str, indexes: list[int], patient_ids: list[str]
) -> list[RequestView]:
    """The practice's requests left with this call-back number, or by a patient found."""
    query = (
        select(PatientRequest)
        .where(
            PatientRequest.practice_id == practice_id,
            or_(
                PatientRequest.callback_index.in_(indexes),
                PatientRequest.patient_id.in_(patient_ids),
            ),
        )
        .order_by(PatientRequest.created_at.desc())
        .limit(LIMIT * 2)
    )
    return [
        _request_view(r)
        for r in session.scalars(query)
        if r.patient_id in patient_ids or _same(r.callback_number, e164)
    ]


def _request_view(request: PatientRequest) -> RequestView:
    return RequestView(
        id=request.id, practice_id=request.practice_id, kind=request.kind,
        created_at=request.created_at, doctor_id=request.doctor_id, status=request.status,
        detail=request.detail,
    )  # fmt: skip


def _waiting(
    session: Session, cipher: FieldCipher, practice_id: str, e164: str, patient_ids: list[str]
) -> list[WaitingView]:
    """The practice's open entries texted at this number, or of a patient found.

    An entry's index may be of another width than the practice's (see
    :func:`callcenter.waitlist.entries.join`): the list's own search finds it.
    """
    by_number = entries.entries_for_number(session, cipher, practice_id, e164)
    by_patient = session.scalars(
        select(WaitingEntry).where(
            WaitingEntry.practice_id == practice_id, WaitingEntry.patient_id.in_(patient_ids)
        )
    ).all()
    found = {e.id: e for e in [*by_number, *by_patient] if e.status == entries.OPEN}
    return [_waiting_view(e) for e in found.values()]


def _waiting_view(entry: WaitingEntry) -> WaitingView:
    return WaitingView(
        id=entry.id, practice_id=entry.practice_id, doctor_id=entry.doctor_id,
        before=entry.before, period=entry.period,
    )  # fmt: skip
