"""Doctors' calendar feeds: ``GET /calendar/<token>.ics``.

Not a Twilio webhook: the secret token in the URL is the credential (calendar
applications cannot sign requests).  Unknown, malformed and revoked tokens
all get the same 404, so the answer tells nothing about which tokens exist.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app

from callcenter.appointments.ics import feed_calendar, find_feed
from callcenter.core.logs import get_logger
from callcenter.services import Services

bp = Blueprint("calendar", __name__)
log = get_logger("callcenter.calendar")


@bp.get("/calendar/<token>.ics")
def feed(token: str) -> Response:
    svc: Services = current_app.extensions["callcenter"]
    with svc.unit_of_work() as work:
        session = work.session
        found = find_feed(session, token[:100])
        practice = svc.practices.by_id(found.practice_id) if found else None
        if found is None or practice is None:
            abort(404, description="no such calendar")
        body = feed_calendar(session, practice, found, svc.clock.now())
        feed_id = found.id
    log.info("calendar_feed", feed=feed_id)
    return Response(body, mimetype="text/calendar", headers={"Cache-Control": "private, no-store"})
