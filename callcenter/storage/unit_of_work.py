"""One unit of work at a boundary: one transaction, then what must follow its commit.

A webhook, a callback or a console action runs its work in one session.  The
domain code that queues something worth doing at once (an SMS to send, a
deletion to request at Twilio) says so with :func:`after_commit`; the unit of
work hands these tasks back only once its transaction has committed, and the
boundary runs them after it has answered.  Work rolled back leaves no task.
Outside a unit of work (the worker, a command) the call does nothing: the
queued rows are what the worker's loops pick up anyway, and they stay the
guarantee whenever an after-commit task fails.

The collector is found through a context variable rather than passed down
every signature: the domain functions already receive the session, and the
unit of work only counts a task asked for on its own session.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import StrEnum

from sqlalchemy.orm import Session

from callcenter.storage.db import Database


class Task(StrEnum):
    """What may be asked for after a commit (the composition root binds each to its sender)."""

    SEND_SMS = "send_sms"  # an on-call notice or an appointment SMS was queued
    REQUEST_DELETIONS = "request_deletions"  # a deletion at Twilio was queued, due now
    WRITE_CALENDAR = "write_calendar"  # a booking's event is to be written to a doctor's calendar


class UnitOfWork:
    """One session and the tasks its work asked for; :attr:`tasks` once committed."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._asked: list[Task] = []
        self._committed = False

    def ask(self, task: Task) -> None:
        if task not in self._asked:
            self._asked.append(task)

    @property
    def tasks(self) -> tuple[Task, ...]:
        """The after-commit tasks, in the order first asked; none before the commit."""
        return tuple(self._asked) if self._committed else ()


_current: ContextVar[UnitOfWork | None] = ContextVar("unit_of_work", default=None)


def after_commit(session: Session, task: Task) -> None:
    """Ask for ``task`` once ``session``'s transaction commits (nothing outside a unit of work)."""
    work = _current.get()
    if work is not None and work.session is session:
        work.ask(task)


@contextmanager
def unit_of_work(db: Database) -> Iterator[UnitOfWork]:
    """A session committed on success, rolled back on any error; tasks only after the commit."""
    with db.session() as session:
        work = UnitOfWork(session)
        token = _current.set(work)
        try:
            yield work
        finally:
            _current.reset(token)
    work._committed = True
