"""Retention: delete what the policy says has lived long enough, here and at Twilio.

Three parts, so that each can be tested without a clock or a network:

- :func:`expired` turns the policy and ``now`` into a cutoff per kind of data;
  a row whose timestamp is at or before its cutoff has expired (a period of
  N days means a row goes once it is N days old; zero days means at once).
- :func:`purge` deletes expired rows with set-based statements (the database
  filters; no table is loaded), and queues every Twilio SID they referred to
  as a :class:`RemoteDeletion`, idempotently.  It never commits.
- :func:`process_remote_deletions` deletes queued SIDs at Twilio.  A queued
  row stays until Twilio confirms (204) or says it is already gone (404), so
  a failure is retried with back-off and never forgotten.

Only counts and SIDs leave this module (reports, audit, logs): SIDs are not
personal data (docs/security/stored-data.md, Logs), names and numbers never reach it decrypted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from twilio.rest import Client

from callcenter.accounts import sessions as console_sessions
from callcenter.accounts.models import ConsoleSession, LoginThrottle
from callcenter.appointments.models import Appointment
from callcenter.audit import trail as audit
from callcenter.audit.models import AuditEntry
from callcenter.calls.models import Call, CallStep
from callcenter.config.policy import Policy
from callcenter.core.logs import get_logger
from callcenter.core.twilio_rest import KINDS, RemoteDeletionFailed, delete_remote, valid_sid
from callcenter.messages.models import Message
from callcenter.notify.models import Notice, OutboxMail, RemoteDeletion
from callcenter.patients.models import Patient
from callcenter.storage.db import new_id

log = get_logger("callcenter.retention")

#: A call still open this long after it started is stale (Twilio ends calls within 24 h):
#: a missed status callback must not keep a call record, nor remove a live call's state.
OPEN_CALL_GRACE = timedelta(hours=24)
#: How long a worker owns a claimed deletion; longer than a Twilio request can take.
CLAIM_LEASE = timedelta(minutes=5)
#: Back-off doubles per failed attempt, up to retry_minutes * 2**6 (16 h for 15 min).
MAX_BACKOFF_EXPONENT = 6
PURGE_ACTION = "purge.run"
# Serialises purges on PostgreSQL (two workers never purge at once); any fixed key.
_PURGE_LOCK_KEY = 0x43_43_52_45_54  # "CCRET"
_SID = re.compile(r"(RE|TR|CA)[0-9a-fA-F]{32}")
_KIND_OF_PREFIX = {prefix: kind for kind, prefix in KINDS.items()}


@dataclass(frozen=True)
class PurgeReport:
    """Rows deleted (or, in a dry run, that would be), per kind; counts only."""

    messages: int = 0
    transcripts: int = 0
    calls: int = 0
    call_steps: int = 0
    appointments: int = 0
    patients: int = 0
    remote_deletions: int = 0
    notices: int = 0
    mails: int = 0
    console_sessions: int = 0
    audit: int = 0
    dry_run: bool = False

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in asdict(self).items() if k != "dry_run"}


@dataclass(frozen=True)
class DeletionReport:
    """Outcome of one pass over the Twilio deletion queue."""

    deleted: int = 0
    gone: int = 0
    failed: int = 0
    skipped: int = 0  # claimed by another worker first


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("retention needs a timezone-aware now")
    return now


def expired(policy: Policy, now: datetime) -> dict[str, datetime]:
    """The cutoff per kind: rows timestamped at or before it have expired.

    Kinds: recordings, transcripts, messages (``created_at``), calls
    (``started_at``), appointments (``ends_at``), patients (``last_seen_at``,
    with the calls period), audit (``ts``).
    """
    r, now = policy.retention, _aware(now)
    days = {"recordings": r.recordings, "transcripts": r.transcripts, "messages": r.messages}
    days.update(calls=r.calls, appointments=r.appointments_after, patients=r.calls, audit=r.audit)
    return {kind: now - timedelta(days=n) for kind, n in days.items()}


# -- what has expired (SQL predicates) ------------------------------------------


def _message_expired(cut: dict[str, datetime]) -> ColumnElement[bool]:
    return Message.created_at <= cut["messages"]


def _call_expired(cut: dict[str, datetime], now: datetime) -> ColumnElement[bool]:
    closed = or_(Call.ended_at.is_not(None), Call.started_at <= now - OPEN_CALL_GRACE)
    return and_(Call.started_at <= cut["calls"], closed)


def _notice_expired(cut: dict[str, datetime]) -> ColumnElement[bool]:
    """Sent or given up, as old as the calls they were about: kept no longer."""
    return and_(Notice.due_at <= cut["calls"], Notice.status != "pending")


def _mail_expired(cut: dict[str, datetime]) -> ColumnElement[bool]:
    """Outbox rows done with (sent, skipped, refused, given up), as old as the calls."""
    return and_(OutboxMail.created_at <= cut["calls"], OutboxMail.status != "pending")


def _appointment_expired(cut: dict[str, datetime]) -> ColumnElement[bool]:
    return Appointment.ends_at <= cut["appointments"]


def _patient_expired(cut: dict[str, datetime], now: datetime) -> ColumnElement[bool]:
    """Unseen for the calls period, with nothing left (or left after this purge) to refer to."""
    return and_(
        Patient.last_seen_at <= cut["patients"],
        ~exists().where(Call.patient_id == Patient.id, ~_call_expired(cut, now)),
        ~exists().where(Message.patient_id == Patient.id, ~_message_expired(cut)),
        ~exists().where(Appointment.patient_id == Patient.id, ~_appointment_expired(cut)),
    )


def _settled(kind: str, sid: Any, now: datetime) -> ColumnElement[bool]:
    """A queued deletion that needs nothing more: done, due already, or being retried."""
    r = RemoteDeletion
    return exists().where(
        r.kind == kind, r.sid == sid, or_(r.done_at.is_not(None), r.due_at <= now, r.attempts > 0)
    )


def _count(session: Session, model: Any, where: ColumnElement[bool]) -> int:
    return session.execute(select(func.count()).select_from(model).where(where)).scalar_one()


def sids_in(value: Any) -> list[str]:
    """Twilio SIDs anywhere in a call's bookkeeping (dial legs, recordings)."""
    if isinstance(value, str):
        return [value] if _SID.fullmatch(value) else []
    items = value.values() if isinstance(value, dict) else value
    return [sid for item in items for sid in sids_in(item)] if isinstance(items, Iterable) else []


# -- queueing Twilio deletions --------------------------------------------------


def _enqueue(
    session: Session, practice_id: str, kind: str, sid: str, due_at: datetime, *, dry_run: bool
) -> bool:
    """Queue (or bring forward) one deletion; True when the queue changed (or would)."""
    columns = (RemoteDeletion.id, RemoteDeletion.due_at, RemoteDeletion.attempts)
    row = session.execute(
        select(*columns, RemoteDeletion.done_at).where(
            RemoteDeletion.kind == kind, RemoteDeletion.sid == sid
        )
    ).first()
    if row is None:
        if dry_run:
            return True
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        values = {"practice_id": practice_id, "kind": kind, "sid": sid, "due_at": due_at}
        stmt = insert(RemoteDeletion).values(id=new_id(), attempts=0, **values)
        # A concurrent purge or erasure may have queued it meanwhile: the unique
        # (kind, sid) makes the second insert a no-op instead of an error.
        result = session.execute(stmt.on_conflict_do_nothing(index_elements=["kind", "sid"]))
        return bool(result.rowcount)  # type: ignore[attr-defined]
    # Bring an untried deletion forward (e.g. its message is deleted early);
    # never one done, being retried, or held by a worker (attempts counts claims).
    if row.done_at is not None or row.attempts != 0 or row.due_at <= due_at:
        return False
    if dry_run:
        return True
    r = RemoteDeletion
    untried = (r.id == row.id) & (r.attempts == 0) & r.done_at.is_(None) & (r.due_at > due_at)
    return _set(session, untried, due_at=due_at) == 1


def enqueue_deletion(
    session: Session, practice_id: str, kind: str, sid: str, due_at: datetime
) -> bool:
    """Queue the deletion of a Twilio recording, transcription or call log at ``due_at``.

    Idempotent per (kind, SID): queuing again changes nothing, except that an
    untried deletion is brought forward to an earlier ``due_at``.  Returns
    whether the queue changed.  Raises ``ValueError`` for an unknown kind or
    a malformed SID (it would never be deleted).  Does not commit.
    """
    if not valid_sid(kind, sid):
        raise ValueError(f"not a Twilio {kind} SID")
    return _enqueue(session, practice_id, kind, sid, _aware(due_at), dry_run=False)


def _queue_remote(session: Session, cut: dict[str, datetime], now: datetime, dry_run: bool) -> int:
    """Queue expired recordings and every SID of the calls about to go; returns how many."""
    recordings = session.execute(
        select(Message.practice_id, Message.recording_sid).where(
            Message.recording_sid.is_not(None),
            or_(Message.created_at <= cut["recordings"], _message_expired(cut)),
            ~_settled("recording", Message.recording_sid, now),
        )
    )
    wanted = [(practice, "recording", str(sid)) for practice, sid in recordings]
    calls = session.execute(
        select(Call.practice_id, Call.call_sid, Call.state).where(_call_expired(cut, now))
    )
    for practice, call_sid, state in calls:
        wanted.append((practice, "call", call_sid))
        wanted.extend((practice, _KIND_OF_PREFIX[sid[:2]], sid) for sid in sids_in(state))
    wanted = [(p, kind, sid) for p, kind, sid in dict.fromkeys(wanted) if valid_sid(kind, sid)]
    return sum(_enqueue(session, *item, now, dry_run=dry_run) for item in wanted)


# -- purge ----------------------------------------------------------------------


def _purge_audit(
    session: Session, cutoff: datetime, now: datetime, actor: str, *, dry_run: bool
) -> int:
    """Audit entries before the first one newer than the cutoff (never a newer one)."""
    keep_from = session.execute(
        select(func.min(AuditEntry.seq)).where(AuditEntry.ts > cutoff)
    ).scalar()
    if keep_from is None:
        last = session.execute(select(func.max(AuditEntry.seq))).scalar()
        if last is None:
            return 0
        keep_from = last + 1
    count = _count(session, AuditEntry, AuditEntry.seq < keep_from)
    if count and not dry_run:
        audit.purge_before(session, keep_from, now=now, actor=actor)
    return count


def _session_expired(cut: dict[str, datetime]) -> ColumnElement[bool]:
    """Console sessions ended (or past their 12 hours) for as long as calls are kept."""
    return or_(
        ConsoleSession.ended_at <= cut["calls"],
        ConsoleSession.created_at <= cut["calls"] - console_sessions.ABSOLUTE,
    )


def _throttle_expired(now: datetime) -> ColumnElement[bool]:
    return and_(
        LoginThrottle.window_started_at <= now - timedelta(days=1),
        or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now),
    )


def _delete(session: Session, model: Any, where: ColumnElement[bool]) -> int:
    statement = delete(model).where(where).execution_options(synchronize_session=False)
    return int(session.execute(statement).rowcount)  # type: ignore[attr-defined]


def purge(
    session: Session,
    policy: Policy,
    now: datetime,
    *,
    dry_run: bool = False,
    actor: str = "system:purge",
) -> PurgeReport:
    """Delete every expired row, queue its Twilio SIDs, audit the run; returns the counts.

    Deletes messages, calls (their steps cascade), appointments, then
    patients with nothing left; blanks transcripts past their own period;
    queues for deletion at Twilio the recordings past theirs and those of
    deleted messages, and every deleted call's SID and the SIDs in its state,
    all due at ``now``.  Open calls are kept for :data:`OPEN_CALL_GRACE`.
    With ``dry_run`` it counts and changes nothing (no audit entry either).

    Bulk statements do not update objects already loaded in ``session``:
    run it in a session of its own.  Never commits; on PostgreSQL it holds a
    transaction-level advisory lock, so concurrent purges run one after another.
    """
    cut = expired(policy, now)
    if not dry_run and session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PURGE_LOCK_KEY})
    remote = _queue_remote(session, cut, now, dry_run)
    transcripts_old = and_(
        Message.created_at <= cut["transcripts"],
        Message.transcript_ct.is_not(None),
        ~_message_expired(cut),
    )
    steps = _count(
        session, CallStep, CallStep.call_id.in_(select(Call.id).where(_call_expired(cut, now)))
    )
    if dry_run:
        counts = {
            "transcripts": _count(session, Message, transcripts_old),
            "messages": _count(session, Message, _message_expired(cut)),
            "calls": _count(session, Call, _call_expired(cut, now)),
            "appointments": _count(session, Appointment, _appointment_expired(cut)),
            "patients": _count(session, Patient, _patient_expired(cut, now)),
            "notices": _count(session, Notice, _notice_expired(cut)),
            "mails": _count(session, OutboxMail, _mail_expired(cut)),
            "console_sessions": _count(session, ConsoleSession, _session_expired(cut)),
        }
    else:
        blank = update(Message).where(transcripts_old).values(transcript_ct=None)
        blanked = session.execute(blank.execution_options(synchronize_session=False))
        counts = {
            "transcripts": int(blanked.rowcount),  # type: ignore[attr-defined]
            "messages": _delete(session, Message, _message_expired(cut)),
            "calls": _delete(session, Call, _call_expired(cut, now)),
            "appointments": _delete(session, Appointment, _appointment_expired(cut)),
            # Last: its predicate looks at the rows above, now gone or kept.
            "patients": _delete(session, Patient, _patient_expired(cut, now)),
            "notices": _delete(session, Notice, _notice_expired(cut)),
            "mails": _delete(session, OutboxMail, _mail_expired(cut)),
            "console_sessions": _delete(session, ConsoleSession, _session_expired(cut)),
        }
        _delete(session, LoginThrottle, _throttle_expired(now))  # counts, no personal data
    audited = _purge_audit(session, cut["audit"], now, actor, dry_run=dry_run)
    report = PurgeReport(
        **counts, call_steps=steps, remote_deletions=remote, audit=audited, dry_run=dry_run
    )
    if not dry_run:
        audit.append(session, actor=actor, action=PURGE_ACTION, details=report.counts(), now=now)
        session.flush()
    log.info("purge_run", dry_run=dry_run, **report.counts())
    return report


# -- deleting at Twilio ---------------------------------------------------------


def _claim(session: Session, row_id: str, now: datetime, lease: timedelta) -> bool:
    """Take one due deletion for ``lease``; False when another worker took it first."""
    r = RemoteDeletion
    claimed = _set(
        session,
        (r.id == row_id) & r.done_at.is_(None) & (r.due_at <= now),
        due_at=now + lease,
        attempts=r.attempts + 1,
    )
    session.commit()  # the claim must be visible before Twilio is called
    return claimed == 1


def _set(session: Session, where: ColumnElement[bool], **values: Any) -> int:
    """UPDATE remote_deletions; returns the row count."""
    statement = update(RemoteDeletion).where(where).values(**values)
    result = session.execute(statement.execution_options(synchronize_session=False))
    return int(result.rowcount)  # type: ignore[attr-defined]


def process_remote_deletions(
    session: Session,
    client: Client,
    now: datetime,
    *,
    retry_minutes: int,
    limit: int = 100,
    lease: timedelta = CLAIM_LEASE,
) -> DeletionReport:
    """Delete at Twilio up to ``limit`` queued SIDs that are due; returns the counts.

    Each row is claimed with a conditional UPDATE whose row count says
    whether this worker got it, so two workers never delete the same SID
    twice.  Deleted (204) or gone (404) sets ``done_at``; a failure keeps the
    row, stores the error code and retries after ``retry_minutes`` doubling
    per attempt (``retry_minutes * 2**min(attempts - 1, 6)``).

    Unlike :func:`purge`, this commits (after each claim and each outcome):
    a deletion at Twilio cannot be rolled back, so what happened there must
    be recorded at once.  Give it a session of its own.
    """
    _aware(now)
    due = session.execute(
        select(RemoteDeletion.id, RemoteDeletion.kind, RemoteDeletion.sid)
        .where(RemoteDeletion.done_at.is_(None), RemoteDeletion.due_at <= now)
        .order_by(RemoteDeletion.due_at, RemoteDeletion.id)
        .limit(limit)
    ).all()
    session.commit()
    counts = {"deleted": 0, "gone": 0, "failed": 0, "skipped": 0}
    for row_id, kind, sid in due:
        if not _claim(session, row_id, now, lease):
            counts["skipped"] += 1
            continue
        values: dict[str, Any]
        try:
            outcome = delete_remote(client, kind, sid)
        except (RemoteDeletionFailed, ValueError) as exc:
            code = exc.code if isinstance(exc, RemoteDeletionFailed) else "bad-kind"
            attempts = session.execute(
                select(RemoteDeletion.attempts).where(RemoteDeletion.id == row_id)
            ).scalar_one()
            delay = timedelta(minutes=retry_minutes * 2 ** min(attempts - 1, MAX_BACKOFF_EXPONENT))
            values = {"last_error": code[:64], "due_at": now + delay}
            counts["failed"] += 1
            log.warning("remote_deletion_failed", kind=kind, sid=sid, code=code, attempts=attempts)
        else:
            values = {"done_at": now, "last_error": None}
            counts[outcome] += 1
        _set(session, RemoteDeletion.id == row_id, **values)
        session.commit()
    return DeletionReport(**counts)
