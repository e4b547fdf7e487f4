"""Liveness and readiness for load balancers and supervisors."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from flask import Blueprint, Response, abort, current_app, jsonify, request
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


def _scraper_allowed() -> bool:
    """The request carries ``Authorization: Bearer <METRICS_TOKEN>``."""
    expected: str = current_app.extensions["callcenter"].settings.metrics_token or ""
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    right = hmac.compare_digest(sent.strip().encode(), expected.encode())
    return scheme.lower() == "bearer" and right


@bp.get("/metrics")
def metrics_page() -> ResponseReturnValue:
    """Prometheus metrics (no personal data), for the scraper holding ``METRICS_TOKEN``.

    Without a token configured the page is not served (404): the counts tell a
    stranger how busy the practices are and whether the queues are stuck.
    """
    from callcenter.core import metrics
    from callcenter.notify import backlog

    svc = current_app.extensions["callcenter"]
    if not svc.settings.metrics_token:
        abort(404)
    if not _scraper_allowed():
        headers = {"WWW-Authenticate": "Bearer", "Content-Type": "text/plain"}
        return "401 Unauthorized\n", 401, headers
    db = svc.db
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
