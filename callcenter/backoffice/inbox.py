"""What the phone line left for the secretaries and doctors: messages, live calls,
and a lookup by phone number.

Everything returned here is decrypted; the page showing it writes the audit
entry.  Every query is limited to the practices given, which the web layer
takes from the signed-in account and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from callcenter.calls import activity
from callcenter.calls.models import Call, QueueEntry
from callcenter.core.phone_numbers import normalize
from callcenter.ivr.runtime import PracticeRuntime, call_context
from callcenter.messages.models import Message
from callcenter.patients.models import Patient
from callcenter.security.crypto import FieldCipher

LIVE_WINDOW = timedelta(hours=4)  # silent this long with no end: a lost status callback
# In the flows Twilio comes back within seconds (a Gather's timeout, a two-minute
# recording at most); only a call with a secretary or in the queue is silent longer.
IVR_IDLE = timedelta(minutes=10)


@dataclass(frozen=True)
class MessageView:
    id: str
    practice_id: str
    created_at: datetime
    urgent: bool
    callback_requested: bool
    transcript: str | None
    callback_number: str | None
    patient_name: str | None
    status: str
    doctor_id: str | None
    handled_at: datetime | None
    kind: str | None = None  # prescription, results, certificate, late


def view(message: Message, patient: Patient | None) -> MessageView:
    """A message as the console shows it (decrypted), with its patient's name if known."""
    return MessageView(
        id=message.id, practice_id=message.practice_id, created_at=message.created_at,
        urgent=message.urgent, callback_requested=message.callback_requested,
        transcript=message.transcript, callback_number=message.callback_number,
        patient_name=patient.name if patient else None, status=message.status,
        doctor_id=message.doctor_id, handled_at=message.handled_at, kind=message.kind,
    )  # fmt: skip


def _for_doctor(doctor_id: str) -> ColumnElement[bool]:
    return or_(Message.doctor_id.is_(None), Message.doctor_id == doctor_id)


def messages(
    session: Session,
    practice_ids: Sequence[str],
    since: datetime,
    *,
    doctor_id: str | None = None,
    include_handled: bool = True,
    limit: int | None = 200,
    before: datetime | None = None,
) -> list[MessageView]:
    """Messages left since ``since`` (and before ``before``), urgent first, then newest first.

    ``doctor_id`` keeps to what a doctor sees: the messages addressed to them
    and those addressed to nobody in particular (filtered in the query, so that
    other doctors' messages never use up the ``limit``).  ``limit=None`` lists
    them all (the unhandled backlog, which must never be cut).
    """
    query = (
        select(Message, Patient)
        .outerjoin(Patient, Patient.id == Message.patient_id)
        .where(Message.practice_id.in_(practice_ids), Message.created_at >= since)
        .order_by(Message.urgent.desc(), Message.created_at.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(Message.created_at < before)
    if doctor_id is not None:
        query = query.where(_for_doctor(doctor_id))
    if not include_handled:
        query = query.where(Message.handled_at.is_(None))
    return [view(m, p) for m, p in session.execute(query)]


def by_week(
    shown: Iterable[MessageView], tz: tzinfo | None
) -> list[tuple[date, list[MessageView]]]:
    """Messages grouped by the Monday of their week (in the practice's time zone), newest
    week first; each group keeps the order it was given."""
    weeks: dict[date, list[MessageView]] = {}
    for message in shown:
        day = message.created_at.astimezone(tz).date()
        weeks.setdefault(day - timedelta(days=day.weekday()), []).append(message)
    return sorted(weeks.items(), reverse=True)


@dataclass(frozen=True)
class Handled:
    """What marking a message handled did: its practice, and whether it moved now."""

    practice_id: str
    changed: bool


def mark_handled(
    session: Session,
    practice_ids: Sequence[str],
    message_id: str,
    user_id: str,
    now: datetime,
    *,
    doctor_id: str | None = None,
) -> Handled | None:
    """Mark a message called back / dealt with; None when it is not this account's to mark.

    ``doctor_id`` narrows to the messages a doctor sees: theirs and those
    addressed to nobody in particular.  A second click (or a replayed form)
    changes nothing: only an open message moves, and ``changed`` says whether
    this call moved it, so that only an effective change is audited.
    """
    scope = [Message.id == message_id, Message.practice_id.in_(practice_ids)]
    if doctor_id is not None:
        scope.append(_for_doctor(doctor_id))
    practice_id = session.scalar(select(Message.practice_id).where(*scope))
    if practice_id is None:
        return None
    result = session.execute(
        update(Message)
        .where(Message.id == message_id, Message.handled_at.is_(None))
        .values(handled_at=now, handled_by=user_id)
    )
    return Handled(practice_id, bool(result.rowcount))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class LiveCall:
    """A call in progress, with what the whisper tells a secretary (no name, no number)."""

    id: str
    practice_id: str
    started_at: datetime
    context: list[str]
    transferring: bool
    waiting: bool
    urgent: bool


def live_calls(
    session: Session,
    practice_ids: Sequence[str],
    runtimes: dict[str, PracticeRuntime],
    now: datetime,
    max_age: timedelta = LIVE_WINDOW,
) -> list[LiveCall]:
    """Calls not yet ended and recently active, urgent first then oldest first.

    Recent: a webhook within ``max_age`` (the longest a call lasts), or within
    :data:`IVR_IDLE` for a call still in the flows (not transferring, not waiting).
    """
    last = activity.last_activity().label("last")
    rows = session.execute(
        select(Call, QueueEntry.enqueued_at, last)
        .outerjoin(QueueEntry, (QueueEntry.call_id == Call.id) & QueueEntry.left_at.is_(None))
        .where(
            Call.practice_id.in_(practice_ids),
            Call.ended_at.is_(None),
            last >= now - max_age,
        )
        .order_by(Call.urgent.desc(), Call.started_at)
    ).all()
    found = []
    for call, enqueued, active_at in rows:
        runtime = runtimes.get(call.practice_id)
        in_flows = enqueued is None and "transfer_reason" not in call.state
        if runtime is None or (in_flows and active_at < now - IVR_IDLE):
            continue
        reason = str(call.state.get("transfer_reason") or "other")
        found.append(
            LiveCall(
                id=call.id, practice_id=call.practice_id, started_at=call.started_at,
                context=call_context(runtime, call, reason),
                transferring="transfer_reason" in call.state, waiting=enqueued is not None,
                urgent=call.urgent,
            )
        )  # fmt: skip
    return found


@dataclass(frozen=True)
class PatientView:
    id: str
    practice_id: str
    name: str | None
    birth_date: str | None
    last_seen_at: datetime


def by_phone(
    session: Session,
    cipher: FieldCipher,
    practice_ids: Sequence[str],
    number: str,
    bits_for: dict[str, int],
) -> list[PatientView]:
    """Patients whose number is exactly ``number`` (E.164): never a list of patients at large.

    The blind index (under every key, during a rotation) narrows the rows; the
    decrypted number must then match, since a truncated index can collide.
    """
    e164 = normalize(number, "FR")
    found: list[PatientView] = []
    if e164 is None:
        return found
    for practice_id in practice_ids:
        indexes = cipher.phone_index_all(e164, practice=practice_id, bits=bits_for[practice_id])
        query = select(Patient).where(
            Patient.practice_id == practice_id, Patient.phone_index.in_(indexes)
        )
        for patient in session.scalars(query):
            if patient.phone == e164:
                found.append(
                    PatientView(
                        id=patient.id, practice_id=practice_id, name=patient.name,
                        birth_date=patient.birth_date, last_seen_at=patient.last_seen_at,
                    )
                )  # fmt: skip
    return found


@dataclass(frozen=True)
class UrgentCall:
    practice_id: str
    started_at: datetime
    outcome: str | None


def urgent_calls(
    session: Session, practice_ids: Sequence[str], since: datetime, limit: int = 50
) -> list[UrgentCall]:
    """The urgent calls since ``since``, newest first (no personal value: times and outcomes)."""
    rows = session.execute(
        select(Call.practice_id, Call.started_at, Call.outcome)
        .where(Call.practice_id.in_(practice_ids), Call.urgent.is_(True), Call.started_at >= since)
        .order_by(Call.started_at.desc())
        .limit(limit)
    )
    return [UrgentCall(*row) for row in rows]
