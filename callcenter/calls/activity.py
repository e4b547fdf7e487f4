"""When a call last showed a sign of life, and closing the calls that never will again.

Twilio's status callback closes a call; when it never comes (a server down at
that moment, an emulated call that broke off) the row would stay
``in-progress`` for ever and haunt the secretaries' list of live calls.  A
call's last activity is its last answered webhook (its last step), or its
start; past the longest a call can last with no final status it is closed as
``lost`` (the worker's ``lost_calls`` job asks Twilio first).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from callcenter.calls.models import Call, CallStep, QueueEntry

LOST = "lost"


def last_activity() -> ColumnElement[datetime]:
    """SQL: the time of the call's last step, or its start when it has none."""
    last_step = (
        select(func.max(CallStep.created_at)).where(CallStep.call_id == Call.id).scalar_subquery()
    )
    return func.coalesce(last_step, Call.started_at)


@dataclass(frozen=True)
class Stale:
    """A call with no end and no sign of life for too long (no personal data)."""

    id: str
    call_sid: str
    last_activity: datetime


def stale_calls(session: Session, now: datetime, max_age: timedelta) -> list[Stale]:
    """Unended calls whose last activity is older than ``max_age``, oldest first."""
    last = last_activity().label("last")
    rows = session.execute(
        select(Call.id, Call.call_sid, last)
        .where(Call.ended_at.is_(None), last < now - max_age)
        .order_by(last)
    ).all()
    return [Stale(row.id, row.call_sid, row.last) for row in rows]


def close(
    session: Session, call_id: str, status: str, ended_at: datetime, duration: int | None = None
) -> bool:
    """End the call with ``status`` (``lost``, or the final status Twilio gave), if still open.

    A conditional UPDATE, as the status callback does: a callback arriving at
    the same moment wins and this changes nothing (returns False).
    """
    closed = session.execute(
        update(Call)
        .where(Call.id == call_id, Call.ended_at.is_(None))
        # The caller's side of it is a hang-up, as the status callback records.
        .values(status=status, ended_at=ended_at, duration=duration,
                outcome=func.coalesce(Call.outcome, "hung-up"))
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    if not closed.rowcount:  # type: ignore[attr-defined]
        return False
    session.execute(
        update(QueueEntry)
        .where(QueueEntry.call_id == call_id, QueueEntry.left_at.is_(None))
        .values(left_at=ended_at, result="hangup")
        .execution_options(synchronize_session=False)
    )
    return True
