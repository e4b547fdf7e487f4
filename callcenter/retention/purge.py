"""Retention: delete what the policy says has lived long enough, here and at Twilio.

Three steps, so that each can be tested without a clock or a network:

- :func:`expired` turns the policy and ``now`` into a cutoff per kind of data;
  a row whose timestamp is at or before its cutoff has expired (a period of
  N days means a row goes once it is N days old; zero days means at once).
- :func:`purge` deletes expired rows with set-based statements (the database
  filters; no table is loaded), and queues every Twilio SID they referred to
  with :mod:`callcenter.notify.deletions`, idempotently.  It never commits.
- the worker then deletes the queued SIDs at Twilio
  (:func:`callcenter.notify.deletions.process_remote_deletions`), retrying
  until Twilio confirms.

Only counts and SIDs leave this module (reports, audit, logs): SIDs are not
personal data (docs/security/stored-data.md, Logs), names and numbers never reach it decrypted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select, text, update
from sqlalchemy.orm import Session

from callcenter.accounts import sessions as console_sessions
from callcenter.accounts.models import ConsoleSession, LoginThrottle
from callcenter.appointments.models import Appointment
from callcenter.audit import trail as audit
from callcenter.audit.models import AuditEntry
from callcenter.calls.models import Call, CallStep
from callcenter.config.policy import Policy
from callcenter.core.logs import get_logger
from callcenter.core.twilio_rest import valid_sid
from callcenter.messages.models import Message
from callcenter.notify import deletions
from callcenter.notify.models import Notice, OutboxMail
from callcenter.patient_requests.models import PatientRequest
from callcenter.patients.models import Patient
from callcenter.replies import models as replies
from callcenter.waitlist.entries import ENDED
from callcenter.waitlist.models import WaitingEntry, WaitingOffer

log = get_logger("callcenter.retention")

#: A call still open this long after it started is stale (Twilio ends calls within 24 h):
#: a missed status callback must not keep a call record, nor remove a live call's state.
OPEN_CALL_GRACE = timedelta(hours=24)
PURGE_ACTION = "purge.run"
# Serialises purges on PostgreSQL (two workers never purge at once); any fixed key.
_PURGE_LOCK_KEY = 0x43_43_52_45_54  # "CCRET"


@dataclass(frozen=True)
class PurgeReport:
    """Rows deleted (or, in a dry run, that would be), per kind; counts only."""

    messages: int = 0
    requests: int = 0
    transcripts: int = 0
    calls: int = 0
    call_steps: int = 0
    appointments: int = 0
    patients: int = 0
    remote_deletions: int = 0
    notices: int = 0
    mails: int = 0
    console_sessions: int = 0
    waiting_list: int = 0
    audit: int = 0
    dry_run: bool = False

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in asdict(self).items() if k != "dry_run"}


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("retention needs a timezone-aware now")
    return now


def expired(policy: Policy, now: datetime) -> dict[str, datetime]:
    """The cutoff per kind: rows timestamped at or before it have expired.

    Kinds: recordings, transcripts, messages, requests (``created_at``), calls
    (``started_at``), appointments (``ends_at``), patients (``last_seen_at``,
    with the calls period), ended waiting-list entries (``ended_at``), audit (``ts``).
    """
    r, now = policy.retention, _aware(now)
    days = {"recordings": r.recordings, "transcripts": r.transcripts, "messages": r.messages}
    days.update(calls=r.calls, appointments=r.appointments_after, patients=r.calls, audit=r.audit,
                waiting_list=r.waiting_list)  # fmt: skip
    days["requests"] = r.requests_days
    return {kind: now - timedelta(days=n) for kind, n in days.items()}


# -- what has expired (SQL predicates) ------------------------------------------


def _message_expired(cut: dict[str, datetime]) -> ColumnElement[bool]:
    return Message.created_at <= cut["messages"]


def _request_expired(cut: dict[str, datetime]) -> ColumnElement[bool]:
    """Open or handled alike: a request lives its retention from the day it was left."""
    return PatientRequest.created_at <= cut["requests"]


def _call_expired(cut: dict[str, datetime], now: datetime) -> ColumnElement[bool]:
    closed = or_(Call.ended_at.is_not(None), Call.started_at <= now - OPEN_CALL_GRACE)
    return and_(Call.started_at <= cut["calls"], closed)


def _notice_expired(cut: dict[str, datetime]) -> ColumnElement[bool]:
    """Sent or given up, as old as the calls they were about: kept no longer."""
    return and_(Notice.due_at <= cut["calls"], Notice.status != "pending")


def _mail_expired(cut: dict[str, datetime]) -> ColumnElement[bool]:
    """Outbox rows done with (sent, skipped, refused, given up), as old as the calls;
    and any row still holding a body past the transcripts' period.

    Without SMTP a digest would wait forever, holding transcripts and names
    that the purge blanks everywhere else: it expires with the transcripts.
    """
    return or_(
        and_(OutboxMail.created_at <= cut["calls"], OutboxMail.status != "pending"),
        and_(
            OutboxMail.created_at <= cut["transcripts"],
            or_(OutboxMail.status == "pending", OutboxMail.body_ct.is_not(None)),
        ),
    )


def _appointment_expired(cut: dict[str, datetime]) -> ColumnElement[bool]:
    return Appointment.ends_at <= cut["appointments"]


def _patient_expired(cut: dict[str, datetime], now: datetime) -> ColumnElement[bool]:
    """Unseen for the calls period, with nothing left (or left after this purge) to refer to."""
    return and_(
        Patient.last_seen_at <= cut["patients"],
        ~exists().where(Call.patient_id == Patient.id, ~_call_expired(cut, now)),
        ~exists().where(Message.patient_id == Patient.id, ~_message_expired(cut)),
        ~exists().where(PatientRequest.patient_id == Patient.id, ~_request_expired(cut)),
        ~exists().where(Appointment.patient_id == Patient.id, ~_appointment_expired(cut)),
        ~exists().where(WaitingEntry.patient_id == Patient.id, ~_waiting_expired(cut)),
    )


def _waiting_expired(cut: dict[str, datetime]) -> ColumnElement[bool]:
    """Ended entries, counted from their end; an open entry lives until it ends."""
    return and_(WaitingEntry.status == ENDED, WaitingEntry.ended_at <= cut["waiting_list"])


def _delete_waiting(session: Session, cut: dict[str, datetime]) -> int:
    """Expired entries with their offers (explicitly: SQLite may not cascade)."""
    gone = select(WaitingEntry.id).where(_waiting_expired(cut))
    _delete(session, WaitingOffer, WaitingOffer.entry_id.in_(gone))
    return _delete(session, WaitingEntry, _waiting_expired(cut))


def _count(session: Session, model: Any, where: ColumnElement[bool]) -> int:
    return session.execute(select(func.count()).select_from(model).where(where)).scalar_one()


# -- queueing Twilio deletions --------------------------------------------------


def _queue_remote(session: Session, cut: dict[str, datetime], now: datetime, dry_run: bool) -> int:
    """Queue expired recordings and every SID of the calls about to go; returns how many."""
    recordings = session.execute(
        select(Message.practice_id, Message.recording_sid).where(
            Message.recording_sid.is_not(None),
            or_(Message.created_at <= cut["recordings"], _message_expired(cut)),
            ~deletions.settled("recording", Message.recording_sid, now),
        )
    )
    wanted = [(practice, "recording", str(sid)) for practice, sid in recordings]
    calls = session.execute(
        select(Call.practice_id, Call.call_sid, Call.state).where(_call_expired(cut, now))
    )
    for practice, call_sid, state in calls:
        wanted.append((practice, "call", call_sid))
        wanted.extend((practice, deletions.kind_of(sid), sid) for sid in deletions.sids_in(state))
    wanted = [(p, kind, sid) for p, kind, sid in dict.fromkeys(wanted) if valid_sid(kind, sid)]
    return sum(deletions.enqueue_deletion(session, *item, now, dry_run=dry_run) for item in wanted)


# -- purge ----------------------------------------------------------------------


def _purge_audit(
    session: Session,
    cutoff: datetime,
    now: datetime,
    actor: str,
    *,
    dry_run: bool,
    signer: audit.Signer | None,
) -> int:
    """Audit entries before the first one newer than the cutoff (never a newer one).

    Without a signer nothing goes: an anchor no purge signed fails verification.
    """
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
        if signer is None:
            log.warning("audit_purge_skipped", reason="no_signer")
            return 0
        audit.purge_before(session, keep_from, now=now, actor=actor, signer=signer)
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
    signer: audit.Signer | None = None,
) -> PurgeReport:
    """Delete every expired row, queue its Twilio SIDs, audit the run; returns the counts.

    Deletes messages, requests, calls (their steps cascade), appointments, then
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
            "requests": _count(session, PatientRequest, _request_expired(cut)),
            "calls": _count(session, Call, _call_expired(cut, now)),
            "appointments": _count(session, Appointment, _appointment_expired(cut)),
            "patients": _count(session, Patient, _patient_expired(cut, now)),
            "notices": _count(session, Notice, _notice_expired(cut)),
            "mails": _count(session, OutboxMail, _mail_expired(cut)),
            "console_sessions": _count(session, ConsoleSession, _session_expired(cut)),
            "waiting_list": _count(session, WaitingEntry, _waiting_expired(cut)),
        }
    else:
        blank = update(Message).where(transcripts_old).values(transcript_ct=None)
        blanked = session.execute(blank.execution_options(synchronize_session=False))
        counts = {
            "transcripts": int(blanked.rowcount),  # type: ignore[attr-defined]
            # Before patients, whose predicate looks at the entries left.
            "waiting_list": _delete_waiting(session, cut),
            "messages": _delete(session, Message, _message_expired(cut)),
            # Their "handled" SMS rows go with them (ON DELETE CASCADE).
            "requests": _delete(session, PatientRequest, _request_expired(cut)),
            "calls": _delete(session, Call, _call_expired(cut, now)),
            "appointments": _delete(session, Appointment, _appointment_expired(cut)),
            # Last: its predicate looks at the rows above, now gone or kept.
            "patients": _delete(session, Patient, _patient_expired(cut, now)),
            "notices": _delete(session, Notice, _notice_expired(cut)),
            "mails": _delete(session, OutboxMail, _mail_expired(cut)),
            "console_sessions": _delete(session, ConsoleSession, _session_expired(cut)),
        }
        _delete(session, LoginThrottle, _throttle_expired(now))  # counts, no personal data
        # SMS replies' SIDs: kept only while Twilio might retry (no personal data either).
        _delete(session, replies.SmsReply, replies.SmsReply.received_at <= now - replies.RETENTION)
    audited = _purge_audit(session, cut["audit"], now, actor, dry_run=dry_run, signer=signer)
    report = PurgeReport(
        **counts, call_steps=steps, remote_deletions=remote, audit=audited, dry_run=dry_run
    )
    if not dry_run:
        audit.append(session, actor=actor, action=PURGE_ACTION, details=report.counts(), now=now)
        session.flush()
    log.info("purge_run", dry_run=dry_run, **report.counts())
    return report
