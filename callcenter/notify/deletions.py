"""Deletions at Twilio: recordings, transcriptions and call logs, queued until confirmed.

Whoever no longer needs something Twilio holds queues its SID here: a
message once transcribed (its audio lives minutes, not days), the retention
purge, an erasure.  :func:`process_remote_deletions` sends the due ones
through the shared work queue (:mod:`callcenter.notify.workqueue`).  A row
stays until Twilio confirms (204) or says it is already gone (404), so a
failure is retried with back-off and never forgotten: this queue never gives
up.

Only SIDs and short error codes are stored and logged: SIDs are not personal
data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, exists, or_, select, update
from sqlalchemy.orm import Session
from twilio.rest import Client

from callcenter.core.logs import get_logger
from callcenter.core.twilio_rest import KINDS, RemoteDeletionFailed, delete_remote, valid_sid
from callcenter.notify.models import RemoteDeletion
from callcenter.notify.workqueue import FAILED, SKIPPED, Backoff, Failed, WorkQueue
from callcenter.storage.db import new_id
from callcenter.storage.insert_once import insert_once

# The events keep the logger they always had: operators filter on it.
log = get_logger("callcenter.retention")

#: How long a worker owns a claimed deletion; longer than a Twilio request can take.
CLAIM_LEASE = timedelta(minutes=5)
#: Back-off doubles per failed attempt, up to retry_minutes * 2**6 (16 h for 15 min).
MAX_BACKOFF_EXPONENT = 6
_SID = re.compile(r"(RE|TR|CA)[0-9a-fA-F]{32}")
_KIND_OF_PREFIX = {prefix: kind for kind, prefix in KINDS.items()}


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


def sids_in(value: Any) -> list[str]:
    """Twilio SIDs anywhere in a call's bookkeeping (dial legs, recordings)."""
    if isinstance(value, str):
        return [value] if _SID.fullmatch(value) else []
    items = value.values() if isinstance(value, dict) else value
    return [sid for item in items for sid in sids_in(item)] if isinstance(items, Iterable) else []


def kind_of(sid: str) -> str:
    """The kind of a SID found by :func:`sids_in` (recording, transcription, call)."""
    return _KIND_OF_PREFIX[sid[:2]]


def settled(kind: str, sid: Any, now: datetime) -> ColumnElement[bool]:
    """A queued deletion that needs nothing more: done, due already, or being retried."""
    r = RemoteDeletion
    return exists().where(
        r.kind == kind, r.sid == sid, or_(r.done_at.is_not(None), r.due_at <= now, r.attempts > 0)
    )


# -- queueing -------------------------------------------------------------------


def enqueue_deletion(
    session: Session,
    practice_id: str,
    kind: str,
    sid: str,
    due_at: datetime,
    *,
    dry_run: bool = False,
) -> bool:
    """Queue the deletion of a Twilio recording, transcription or call log at ``due_at``.

    Idempotent per (kind, SID): queuing again changes nothing, except that an
    untried deletion is brought forward to an earlier ``due_at``.  Returns
    whether the queue changed (with ``dry_run``: would change, changing
    nothing).  Raises ``ValueError`` for an unknown kind or a malformed SID
    (it would never be deleted).  Does not commit.
    """
    if not valid_sid(kind, sid):
        raise ValueError(f"not a Twilio {kind} SID")
    _aware(due_at)
    columns = (RemoteDeletion.id, RemoteDeletion.due_at, RemoteDeletion.attempts)
    row = session.execute(
        select(*columns, RemoteDeletion.done_at).where(
            RemoteDeletion.kind == kind, RemoteDeletion.sid == sid
        )
    ).first()
    if row is None:
        if dry_run:
            return True
        values = {"id": new_id(), "practice_id": practice_id, "kind": kind, "sid": sid,
                  "due_at": due_at, "attempts": 0}  # fmt: skip
        # A concurrent purge or erasure may have queued it meanwhile: the unique
        # (kind, sid) makes the second insert a no-op instead of an error.
        return insert_once(session, RemoteDeletion, values, ("kind", "sid"))
    # Bring an untried deletion forward (e.g. its message is deleted early);
    # never one done, being retried, or held by a worker (attempts counts claims).
    if row.done_at is not None or row.attempts != 0 or row.due_at <= due_at:
        return False
    if dry_run:
        return True
    r = RemoteDeletion
    untried = (r.id == row.id) & (r.attempts == 0) & r.done_at.is_(None) & (r.due_at > due_at)
    statement = update(r).where(untried).values(due_at=due_at)
    result = session.execute(statement.execution_options(synchronize_session=False))
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


# -- deleting at Twilio ---------------------------------------------------------


class _Deletions(WorkQueue[RemoteDeletion]):
    model, event = RemoteDeletion, "remote_deletion"
    max_attempts = None  # never forgotten: retried until Twilio confirms
    log = log

    def __init__(self, client: Client, retry_minutes: int, lease: timedelta) -> None:
        self.client, self.lease = client, lease
        self.backoff = Backoff(timedelta(minutes=retry_minutes), MAX_BACKOFF_EXPONENT)

    def waiting(self) -> ColumnElement[bool]:
        return RemoteDeletion.done_at.is_(None)

    def send(self, session: Session, row: RemoteDeletion, now: datetime) -> str:
        try:
            outcome = delete_remote(self.client, row.kind, row.sid)
        except RemoteDeletionFailed as exc:
            raise Failed(exc.code) from exc
        except ValueError as exc:
            raise Failed("bad-kind") from exc
        row.done_at, row.last_error = now, None
        return outcome

    def log_failed(self, row: RemoteDeletion) -> None:
        log.warning("remote_deletion_failed", kind=row.kind, sid=row.sid, code=row.last_error,
                    attempts=row.attempts)  # fmt: skip


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

    This commits (after each claim and each outcome): a deletion at Twilio
    cannot be rolled back, so what happened there must be recorded at once.
    Give it a session of its own.
    """
    _aware(now)
    queue = _Deletions(client, retry_minutes, lease)
    due = queue.due(session, now, limit)
    session.commit()
    outcomes = queue.process(session, due, now)
    return DeletionReport(
        deleted=outcomes["deleted"],
        gone=outcomes["gone"],
        failed=outcomes[FAILED],
        skipped=outcomes[SKIPPED],
    )
