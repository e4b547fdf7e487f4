"""Requests: captured on a call, listed and handled in the console, counted for reports.

A request is what a caller asked the practice for that is not an
appointment: a prescription renewal, a question about results, a
certificate.  It is taken on the call (:func:`capture`: kind, patient when
identified, call-back number, the detail said, all personal values
encrypted), then handled once in the console (:func:`handle`): ``done``
queues one SMS that says only that the request was handled
(:mod:`callcenter.patient_requests.sms`); ``declined`` sends nothing (the
practice calls back); ``consultation`` records that the patient should be
seen (:func:`see_in_consultation`).

Who may handle a request is the practice's choice (``requests.handled_by``
in the practice file): its doctors only, or its secretaries too.  A doctor
handles the requests addressed to them and those addressed to the practice.

Nothing here knows Flask: functions take a session and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session

from callcenter.calls.models import CallRecord
from callcenter.config.practice import Practice
from callcenter.core.logs import get_logger
from callcenter.core.phone_numbers import is_mobile
from callcenter.patient_requests import sms
from callcenter.patient_requests.models import PatientRequest
from callcenter.patients.models import Patient
from callcenter.waitlist import entries

log = get_logger("callcenter.patient_requests")

#: What a request can be about (the open question's intents of the same names).
KINDS = ("prescription", "results", "certificate")
OPEN = "open"
DONE = "done"
DECLINED = "declined"
CONSULTATION = "consultation"  # « à voir en consultation »
OUTCOMES = (DONE, DECLINED, CONSULTATION)
#: The longest detail kept: one sentence said on the phone is far shorter.
MAX_DETAIL_CHARS = 500


# -- capture (on a call) ----------------------------------------------------------------


def capture(
    session: Session,
    call: CallRecord,
    kind: str,
    detail: str | None,
    now: datetime,
    *,
    doctor_id: str | None = None,
) -> PatientRequest:
    """The call's request, created once: a replayed step finds the one already taken.

    The call-back number is the caller's (or the one a withheld caller keyed);
    the patient is the one identified on the call, if any.
    """
    found = session.scalars(select(PatientRequest).where(PatientRequest.call_id == call.id)).first()
    if found is not None:
        return found
    if kind not in KINDS:
        raise ValueError(f"unknown request kind {kind!r}")
    words = " ".join((detail or "").split())[:MAX_DETAIL_CHARS] or None
    request = PatientRequest(
        practice_id=call.practice_id, call_id=call.id, patient_id=call.patient_id,
        doctor_id=doctor_id, kind=kind, callback_number=call.caller,
        callback_index=call.caller_index, detail=words, status=OPEN, created_at=now,
    )  # fmt: skip
    session.add(request)
    log.info("request_captured", request=request.id, kind=kind, detail=words is not None)
    return request


# -- the console ------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestView:
    """A request as the console shows it (decrypted), with its patient's name if known."""

    id: str
    practice_id: str
    kind: str
    created_at: datetime
    doctor_id: str | None
    patient_name: str | None
    callback_number: str | None
    detail: str | None
    status: str
    handled_at: datetime | None


def may_handle(practice: Practice, role: str) -> bool:
    """Whether an account of ``role`` may mark this practice's requests (the practice's choice)."""
    secretaries = practice.requests_handled_by == "secretaries"
    return role == "doctor" or (role == "secretary" and secretaries)


def _for_doctor(doctor_id: str) -> ColumnElement[bool]:
    return or_(PatientRequest.doctor_id.is_(None), PatientRequest.doctor_id == doctor_id)


def listed(
    session: Session,
    practice_ids: Sequence[str],
    *,
    doctor_id: str | None = None,
    handled_since: datetime | None = None,
) -> list[RequestView]:
    """Every open request, and those handled since ``handled_since``: open first, oldest first.

    An open request stays listed until handled or purged (never cut by a
    limit); ``doctor_id`` keeps to what a doctor handles.
    """
    shown = PatientRequest.status == OPEN
    if handled_since is not None:
        shown = or_(shown, PatientRequest.handled_at >= handled_since)
    query = (
        select(PatientRequest, Patient)
        .outerjoin(Patient, Patient.id == PatientRequest.patient_id)
        .where(PatientRequest.practice_id.in_(practice_ids), shown)
        .order_by(PatientRequest.status != OPEN, PatientRequest.created_at, PatientRequest.id)
    )
    if doctor_id is not None:
        query = query.where(_for_doctor(doctor_id))
    return [_view(r, p) for r, p in session.execute(query)]


def open_count(session: Session, practice_ids: Sequence[str], doctor_id: str) -> int:
    """How many open requests await this doctor: theirs and their practices' (one count)."""
    query = select(func.count()).where(
        PatientRequest.practice_id.in_(practice_ids),
        PatientRequest.status == OPEN,
        _for_doctor(doctor_id),
    )
    return session.scalar(query) or 0


def _view(request: PatientRequest, patient: Patient | None) -> RequestView:
    return RequestView(
        id=request.id, practice_id=request.practice_id, kind=request.kind,
        created_at=request.created_at, doctor_id=request.doctor_id,
        patient_name=patient.name if patient else None,
        callback_number=request.callback_number, detail=request.detail,
        status=request.status, handled_at=request.handled_at,
    )  # fmt: skip


@dataclass(frozen=True)
class Handled:
    """What handling did: the request, and whether it moved now (a second click does not)."""

    request: PatientRequest
    changed: bool


def find(
    session: Session, practice_ids: Sequence[str], request_id: str, *, doctor_id: str | None = None
) -> PatientRequest | None:
    """A request of these practices (and of this doctor or the practice); None otherwise."""
    query = select(PatientRequest).where(
        PatientRequest.id == request_id[:32], PatientRequest.practice_id.in_(practice_ids)
    )
    if doctor_id is not None:
        query = query.where(_for_doctor(doctor_id))
    return session.scalars(query).first()


def handle(
    session: Session,
    request: PatientRequest,
    outcome: str,
    user_id: str,
    now: datetime,
    practice: Practice | None = None,
) -> Handled:
    """Mark an open request ``done``, ``declined`` or ``consultation``, once.

    Only an open request moves (a conditional update): a double click or a
    replayed form changes nothing and queues no second SMS.  ``done`` queues
    the patient's SMS; ``consultation`` goes through :func:`see_in_consultation`.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    moved = session.execute(
        update(PatientRequest)
        .where(PatientRequest.id == request.id, PatientRequest.status == OPEN)
        .values(status=outcome, handled_at=now, handled_by=user_id)
        .execution_options(synchronize_session=False)
    )
    changed = bool(moved.rowcount)  # type: ignore[attr-defined]
    session.refresh(request)
    if changed and outcome == DONE:
        sms.queue_handled(session, request, now)
    if changed and outcome == CONSULTATION:
        see_in_consultation(session, request, now, practice)
    if changed:
        log.info("request_handled", request=request.id, outcome=outcome)
    return Handled(request, changed)


def see_in_consultation(
    session: Session, request: PatientRequest, now: datetime, practice: Practice | None = None
) -> bool:
    """« À voir en consultation »: the patient joins the waiting list, so the next
    free slot is offered by SMS and a reply OUI books it.

    The entry is for the request's doctor (any doctor when it was for the
    practice), any half-day, before the end of the practice's booking horizon.
    False (nothing joined, the console says so) when there is no identified
    patient or no mobile to text.
    """
    number = request.callback_number
    if request.patient_id is None or not number or not is_mobile(number):
        return False
    horizon = practice.appointments.horizon_days if practice and practice.appointments else 30
    entries.join(
        session, practice_id=request.practice_id, patient_id=request.patient_id, phone=number,
        doctor_id=request.doctor_id, before=(now + timedelta(days=horizon + 1)).date(),
        period="any", now=now, source="request",
        bits=practice.blind_index_bits if practice else None,
    )  # fmt: skip
    return True


# -- reports (no decryption) ------------------------------------------------------------


def counts_by_kind(
    session: Session, practice_id: str, start: datetime, end: datetime
) -> dict[str, int]:
    """Requests left in [start, end) by kind, every kind listed (0 included)."""
    rows = session.execute(
        select(PatientRequest.kind, func.count(PatientRequest.id))
        .where(
            PatientRequest.practice_id == practice_id,
            PatientRequest.created_at >= start,
            PatientRequest.created_at < end,
        )
        .group_by(PatientRequest.kind)
    )
    counts = dict.fromkeys(KINDS, 0)
    counts.update({kind: int(n) for kind, n in rows})
    return counts


def for_digest(
    session: Session, practice_id: str, doctor_id: str, start: datetime, end: datetime
) -> list[PatientRequest]:
    """The requests left in (start, end] for this doctor or the practice, in time order."""
    return list(
        session.scalars(
            select(PatientRequest)
            .where(
                PatientRequest.practice_id == practice_id,
                PatientRequest.created_at > start,
                PatientRequest.created_at <= end,
                _for_doctor(doctor_id),
            )
            .order_by(PatientRequest.created_at, PatientRequest.id)
        )
    )
