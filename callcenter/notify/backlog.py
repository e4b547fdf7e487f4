"""What the work queues hold right now, as counts: for ``/metrics`` and the console.

Read from the database at each look, so every process reports the same
truth.  Counts by status only: no label ever carries a number, a name or a SID.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callcenter.notify.models import Notice, OutboxMail, RemoteDeletion


@dataclass(frozen=True)
class Backlog:
    """The work queues' backlogs (counts only)."""

    mails: dict[str, int]  # digest e-mails by outbox status
    notices: dict[str, int]  # SMS notices by status
    deletions_pending: int  # what Twilio must still delete


def backlog(session: Session) -> Backlog:
    """Read the backlogs; raises ``SQLAlchemyError`` when the database does not answer."""

    def by_status(model: Any) -> dict[str, int]:
        rows = session.execute(select(model.status, func.count()).group_by(model.status))
        return {str(status): int(count) for status, count in rows}

    pending = select(func.count()).where(RemoteDeletion.done_at.is_(None))
    return Backlog(
        mails=by_status(OutboxMail),
        notices=by_status(Notice),
        deletions_pending=session.scalar(pending) or 0,
    )


def gauges(session: Session) -> list[GaugeMetricFamily]:
    """The backlogs as Prometheus gauges (a reader for ``core.metrics.render``)."""
    found = backlog(session)
    mails = GaugeMetricFamily("callcenter_outbox_mails", "Digest e-mails, by status",
                              labels=["status"])  # fmt: skip
    for status, count in found.mails.items():
        mails.add_metric([status], count)
    notices = GaugeMetricFamily("callcenter_notices", "SMS notices, by status", labels=["status"])
    for status, count in found.notices.items():
        notices.add_metric([status], count)
    deletions = GaugeMetricFamily("callcenter_remote_deletions_pending",
                                  "What Twilio must still delete")  # fmt: skip
    deletions.add_metric([], found.deletions_pending)
    return [mails, notices, deletions]
