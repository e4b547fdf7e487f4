"""Prometheus metrics at ``/metrics``: webhooks, calls, and the backlogs of the work queues.

Counters and histograms live in each web process; under gunicorn they are
summed across workers through prometheus-client's multiprocess mode
(``PROMETHEUS_MULTIPROC_DIR``, set by ``callcenter serve --workers``).  The
backlogs (outbox, SMS notices, deletions at Twilio, the queue) are read from
the database when scraped, so every process reports the same truth.  No label
ever carries a number, a name or a CallSid.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from callcenter.storage.db import Database

WEBHOOKS = Counter(
    "callcenter_webhooks", "Webhook answers, by route and outcome", ["route", "outcome"]
)
LATENCY = Histogram(
    "callcenter_webhook_seconds",
    "Time to answer a webhook, by route",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
CALLS = Counter("callcenter_calls", "Calls closed, by outcome", ["outcome"])
NOTICES = Counter("callcenter_sms_notices", "SMS notices to doctors on call, by result", ["result"])

CONTENT_TYPE = CONTENT_TYPE_LATEST

#: Outcomes are a small fixed vocabulary; anything else is counted as "other".
OUTCOMES = frozenset({
    "answered", "error", "replayed", "unknown-number", "unknown-call", "too-long", "no-step",
    "transferred", "on-call", "message", "no-message", "callback", "abandoned", "hung-up",
    "whisper", "whisper-unknown", "accepted", "refused", "waiting", "choice", "bridged", "line",
    "pin", "done", "take", "throttled",
})  # fmt: skip


def observe(route: str, outcome: str, started: float) -> None:
    """Count one webhook answer and its latency (``started``: ``time.perf_counter()``)."""
    WEBHOOKS.labels(route, outcome if outcome in OUTCOMES else "other").inc()
    LATENCY.labels(route).observe(time.perf_counter() - started)


@dataclass(frozen=True)
class Backlog:
    """What the work queues hold right now (counts only): for ``/metrics`` and the console."""

    mails: dict[str, int]  # digest e-mails by outbox status
    notices: dict[str, int]  # SMS notices by status
    deletions_pending: int  # what Twilio must still delete
    queue_waiting: int  # callers waiting for a secretary


def backlog(session: Session) -> Backlog:
    """Read the backlogs; raises ``SQLAlchemyError`` when the database does not answer."""
    from callcenter.calls.models import QueueEntry
    from callcenter.notify.models import Notice, OutboxMail, RemoteDeletion

    def by_status(model: Any) -> dict[str, int]:
        rows = session.execute(select(model.status, func.count()).group_by(model.status))
        return {str(status): int(count) for status, count in rows}

    pending = select(func.count()).where(RemoteDeletion.done_at.is_(None))
    waiting = select(func.count()).where(QueueEntry.left_at.is_(None))
    return Backlog(
        mails=by_status(OutboxMail),
        notices=by_status(Notice),
        deletions_pending=session.scalar(pending) or 0,
        queue_waiting=session.scalar(waiting) or 0,
    )


class Backlogs(Collector):
    """Gauges read from the database at scrape time (0 rows when it is down)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("callcenter_database_up", "1 when the database answers")
        mails = GaugeMetricFamily("callcenter_outbox_mails", "Digest e-mails, by status",
                                  labels=["status"])  # fmt: skip
        notices = GaugeMetricFamily("callcenter_notices", "SMS notices, by status",
                                    labels=["status"])  # fmt: skip
        deletions = GaugeMetricFamily("callcenter_remote_deletions_pending",
                                      "What Twilio must still delete")  # fmt: skip
        waiting = GaugeMetricFamily("callcenter_queue_waiting", "Callers waiting for a secretary")
        try:
            with self.db.session() as session:
                found = backlog(session)
        except SQLAlchemyError:
            up.add_metric([], 0)
            yield up
            return
        for status, count in found.mails.items():
            mails.add_metric([status], count)
        for status, count in found.notices.items():
            notices.add_metric([status], count)
        deletions.add_metric([], found.deletions_pending)
        waiting.add_metric([], found.queue_waiting)
        up.add_metric([], 1)
        yield from (up, mails, notices, deletions, waiting)


def render(db: Database) -> bytes:
    """The text exposition: this process's (or every worker's) metrics, and the backlogs."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        for collector in (WEBHOOKS, LATENCY, CALLS, NOTICES):
            registry.register(collector)
    registry.register(Backlogs(db))
    return generate_latest(registry)
