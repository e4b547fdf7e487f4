"""Prometheus metrics at ``/metrics``: the counters, and gauges read from the database.

Counters and histograms live in each web process; under gunicorn they are
summed across workers through prometheus-client's multiprocess mode
(``PROMETHEUS_MULTIPROC_DIR``, set by ``callcenter serve --workers``).  The
gauges (the work queues' backlogs, the callers waiting) are read from the
database when scraped, so every process reports the same truth; the features
supply them as readers, so this module knows none of their tables.  No label
ever carries a number, a name or a CallSid.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

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


#: Reads gauges in one database session at scrape time (the backlogs, the callers waiting).
GaugeReader = Callable[[Session], Iterable[Metric]]
#: Opens a session committed or rolled back on exit (``Database.session``).
Sessions = Callable[[], AbstractContextManager[Session]]


class DatabaseGauges(Collector):
    """Gauges read from the database at scrape time, and ``callcenter_database_up``.

    When the database does not answer, only ``callcenter_database_up`` (0) is
    reported: the page still answers, and says so.
    """

    def __init__(self, sessions: Sessions, readers: Iterable[GaugeReader]) -> None:
        self.sessions, self.readers = sessions, tuple(readers)

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("callcenter_database_up", "1 when the database answers")
        try:
            with self.sessions() as session:
                found = [family for read in self.readers for family in read(session)]
        except SQLAlchemyError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from found


def render(sessions: Sessions, *readers: GaugeReader) -> bytes:
    """The text exposition: this process's (or every worker's) metrics, and the gauges the
    ``readers`` take from the database (``sessions``: e.g. ``Database.session``)."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        for collector in (WEBHOOKS, LATENCY, CALLS, NOTICES):
            registry.register(collector)
    registry.register(DatabaseGauges(sessions, readers))
    return generate_latest(registry)
