"""One work queue for what the server sends on its own, one row at a time.

Four tables hold work done outside any request: urgent SMS notices,
appointment SMS, the mail outbox and deletions at Twilio.  A row waits until
its ``due_at``.  A worker claims it with a conditional UPDATE that moves
``due_at`` one lease ahead and counts the attempt, and commits that before
sending: the row count says whether this worker got it, so two workers (two
processes, two hosts) never send the same row.  A worker that dies mid-send
leaves its claim to lapse with the lease; the row is taken again then.

A failed attempt keeps the row and pushes ``due_at`` back (doubling per
attempt, capped); after the queue's last attempt the row is given up on,
loudly.  Each queue supplies its table, its limits and how to send one row
(:meth:`WorkQueue.send`); the claiming, the back-off and the giving up are
here, once.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from callcenter.core.logs import get_logger

Row = TypeVar("Row")

#: Outcomes counted by :meth:`WorkQueue.process`, besides what ``send`` returns.
FAILED = "failed"  # retried after the back-off
GIVEN_UP = "given_up"  # the last attempt failed: kept, marked failed, never sent
SKIPPED = "skipped"  # another worker claimed it first


class Failed(Exception):
    """Raised by a sender when the other end did not take the row: it is retried.

    ``code`` is short and free of personal data (an exception's class name,
    an HTTP status); it is stored in ``last_error``.  Anything else a sender
    raises propagates: a bug is not retried quietly, and the claim simply
    lapses with its lease.
    """

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Backoff:
    """How long a failed row waits: ``first``, doubling per attempt, ``doublings`` times
    at most, and never longer than ``ceiling``."""

    first: timedelta
    doublings: int
    ceiling: timedelta | None = None

    def after(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed attempt (1 for the first)."""
        delay = self.first * 2 ** min(max(attempts - 1, 0), self.doublings)
        return delay if self.ceiling is None else min(delay, self.ceiling)


class WorkQueue(Generic[Row]):
    """One table's queue: a subclass names the table and its limits, and sends one row.

    The table has a string primary key ``id``, ``due_at``, ``attempts`` (the
    claims so far) and ``last_error``; by default a row waits while its
    ``status`` is ``pending`` and giving up sets it to ``failed``.
    """

    model: type[Row]
    #: Log events: ``<event>_failed`` (warning) and ``<event>_given_up`` (error).
    event: str
    #: The key naming the row in those events.
    log_key: ClassVar[str] = "id"
    log: Any = get_logger("callcenter.workqueue")
    #: How long a claim holds the row: longer than one send can take.
    lease: timedelta
    backoff: Backoff
    #: Attempts before giving up; None retries for ever.
    max_attempts: int | None
    #: The width of ``last_error``.
    error_width: ClassVar[int] = 64

    # -- what a queue supplies ----------------------------------------------------

    def send(self, session: Session, row: Row, now: datetime) -> str:
        """Send one claimed row and record it; returns the outcome to count.

        Raise :class:`Failed` when the other end did not take it.  A row that
        can never be sent (no recipient, cancelled) is settled here, not raised.
        """
        raise NotImplementedError

    def waiting(self) -> ColumnElement[bool]:
        """Rows still to send (whether due or not)."""
        table: Any = self.model
        return table.status == "pending"

    def give_up(self, row: Row) -> None:
        """Mark a row whose last attempt failed: it stays, for the operator to see."""
        item: Any = row
        item.status = "failed"

    def log_failed(self, row: Row) -> None:
        item: Any = row
        self.log.warning(f"{self.event}_failed", **{self.log_key: item.id}, error=item.last_error)

    def log_given_up(self, row: Row) -> None:
        item: Any = row
        self.log.error(f"{self.event}_given_up", **{self.log_key: item.id},
                       attempts=item.attempts)  # fmt: skip

    # -- the queue ----------------------------------------------------------------

    def due(self, session: Session, now: datetime, limit: int) -> list[str]:
        """The ids of up to ``limit`` rows due at ``now``, oldest first."""
        table: Any = self.model
        return list(session.scalars(
            select(table.id).where(self.waiting(), table.due_at <= now)
            .order_by(table.due_at, table.id).limit(limit)
        ))  # fmt: skip

    def claim(self, session: Session, row_id: str, now: datetime) -> bool:
        """Take one due row for the lease; False when another worker took it first.

        Commits: the claim must be visible to the other workers before anything
        is sent.  On PostgreSQL the second UPDATE waits for the first one's
        commit, then re-checks the condition and finds ``due_at`` moved on.
        """
        table: Any = self.model
        claimed = session.execute(
            update(table)
            .where(table.id == row_id, self.waiting(), table.due_at <= now)
            .values(due_at=now + self.lease, attempts=table.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        session.commit()
        return int(claimed.rowcount) == 1  # type: ignore[attr-defined]

    def process(self, session: Session, ids: list[str], now: datetime) -> Counter[str]:
        """Claim, send and settle each row; the count of each outcome.

        Commits after each row: what happened at Twilio or at the SMTP server
        cannot be rolled back, so it is recorded at once.
        """
        outcomes: Counter[str] = Counter()
        for row_id in ids:
            if not self.claim(session, row_id, now):
                outcomes[SKIPPED] += 1
                continue
            row = session.get_one(self.model, row_id)
            session.refresh(row)  # the claim's UPDATE bypassed the session
            outcomes[self._attempt(session, row, now)] += 1
            session.commit()
        return outcomes

    def _attempt(self, session: Session, row: Row, now: datetime) -> str:
        item: Any = row
        try:
            return self.send(session, row, now)
        except Failed as exc:
            item.last_error = exc.code[: self.error_width]
        if self.max_attempts is not None and item.attempts >= self.max_attempts:
            self.give_up(row)
            self.log_given_up(row)
            return GIVEN_UP
        item.due_at = now + self.backoff.after(item.attempts)
        self.log_failed(row)
        return FAILED
