"""Liveness and readiness for load balancers and supervisors."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

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

    body = metrics.render(current_app.extensions["callcenter"].db)
    return Response(body, mimetype=metrics.CONTENT_TYPE.split(";")[0])
