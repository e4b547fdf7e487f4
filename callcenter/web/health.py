"""Liveness and readiness for load balancers and supervisors."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, Response, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select, text

if TYPE_CHECKING:
    from prometheus_client.core import GaugeMetricFamily
    from sqlalchemy.orm import Session

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """The process is alive."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    """The database answers: without it, calls can only take the fallback path."""
    try:
        with current_app.extensions["callcenter"].db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        return jsonify(status="database unavailable"), 503
    return jsonify(status="ready")


@bp.get("/metrics")
def metrics_page() -> ResponseReturnValue:
    """Prometheus metrics (no personal data); keep it behind the proxy for your scraper."""
    from callcenter.core import metrics
    from callcenter.notify import backlog

    db = current_app.extensions["callcenter"].db
    body = metrics.render(db.session, backlog.gauges, _callers_waiting)
    return Response(body, mimetype=metrics.CONTENT_TYPE.split(";")[0])


def _callers_waiting(session: Session) -> list[GaugeMetricFamily]:
    """The callers in the queue now (a gauge reader for ``/metrics``)."""
    from prometheus_client.core import GaugeMetricFamily

    from callcenter.calls.models import QueueEntry

    waiting = GaugeMetricFamily("callcenter_queue_waiting", "Callers waiting for a secretary")
    count = session.scalar(select(func.count()).where(QueueEntry.left_at.is_(None)))
    waiting.add_metric([], count or 0)
    return [waiting]
