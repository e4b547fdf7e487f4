"""Message callbacks: recording status, Twilio's transcription, real-time transcription events.

Thin handlers: check the signature, bound the form, call the domain
(:mod:`callcenter.messages.desk`, :mod:`callcenter.messages.realtime`), answer 204.
Unknown, late or repeated callbacks get 204 too: Twilio would only retry, and
there is nothing of ours to attach them to (or it is done already).  A
failure here (the database is down) answers 503, so Twilio retries and no
transcript is lost.  Deletions at Twilio and the on-call notice a callback
queued are sent right after the answer; the worker retries what fails.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, request
from sqlalchemy.orm import Session

from callcenter.core.logs import get_logger
from callcenter.jobs import tasks as jobs
from callcenter.messages import realtime
from callcenter.messages.desk import DELETIONS_QUEUED
from callcenter.notify.notices import QUEUED
from callcenter.services import Services, send_notices
from callcenter.web.twilio.signature import twilio_signed
from callcenter.web.twilio.voice import params, services

bp = Blueprint("recordings", __name__, url_prefix="/twilio")
log = get_logger("callcenter.webhook")


def _handle(route: str, work: Callable[[Session], str]) -> Response:
    svc = services()
    form = request.form
    try:
        svc.watcher.refresh()
        with svc.db.session() as session:
            outcome = work(session)
            svc.usage.flush(session, threshold=100)
            deletions = session.info.pop(DELETIONS_QUEUED, False)
            notify = session.info.pop(QUEUED, False)
    except Exception as exc:
        log.error("callback_failed", route=route, call_sid=form.get("CallSid"),
                  error=type(exc).__name__)  # fmt: skip
        return Response(status=503)
    log.info("callback", route=route, call_sid=form.get("CallSid"), outcome=outcome)
    response = Response(status=204)
    if deletions or notify:
        response.call_on_close(lambda: _after(svc, deletions, notify))
    return response


def _after(svc: Services, deletions: bool, notify: bool) -> None:
    """Send what the callback queued; the worker retries whatever fails here."""
    try:
        if notify:
            send_notices(svc)
        if deletions:
            jobs.remote_deletions(svc.db, svc.settings, svc.policy, svc.clock.now())
    except Exception as exc:
        log.error("after_callback_failed", error=type(exc).__name__)


@bp.post("/recording")
@twilio_signed
def recording() -> Response:
    """``recordingStatusCallback`` of a message's ``<Record>``."""
    form, svc = params(), services()
    return _handle(request.path, lambda s: svc.messages.recording_status(s, form, svc.clock.now()))


@bp.post("/transcription")
@twilio_signed
def transcription() -> Response:
    """``transcribeCallback``: Twilio's transcription of a message's recording."""
    form, svc = params(), services()
    return _handle(request.path, lambda s: svc.messages.transcription(s, form, svc.clock.now()))


@bp.post("/realtime")
@twilio_signed
def realtime_event() -> Response:
    """``<Start><Transcription statusCallbackUrl>``: one real-time transcription event."""
    form, svc = params(), services()
    ref = request.args.get("ref", "")[:64]
    return _handle(
        request.path,
        lambda s: realtime.event(s, form, ref, svc.clock.now(), svc.messages.lookup),
    )
