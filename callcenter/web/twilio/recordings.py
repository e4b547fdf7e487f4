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

from callcenter.core import routes
from callcenter.core.logs import get_logger
from callcenter.messages import realtime
from callcenter.web.twilio.signature import twilio_signed
from callcenter.web.twilio.voice import after_commit, params, services

bp = Blueprint("recordings", __name__)  # paths: callcenter.core.routes
log = get_logger("callcenter.webhook")


def _handle(route: str, work_in: Callable[[Session], str]) -> Response:
    svc = services()
    form = request.form
    try:
        svc.watcher.refresh()
        with svc.unit_of_work() as work:
            outcome = work_in(work.session)
    except Exception as exc:
        log.error("callback_failed", route=route, call_sid=form.get("CallSid"),
                  error=type(exc).__name__)  # fmt: skip
        return Response(status=503)
    log.info("callback", route=route, call_sid=form.get("CallSid"), outcome=outcome)
    return after_commit(Response(status=204), svc, work.tasks)


@bp.post(routes.RECORDING)
@twilio_signed
def recording() -> Response:
    """``recordingStatusCallback`` of a message's ``<Record>``."""
    form, svc = params(), services()
    return _handle(request.path, lambda s: svc.messages.recording_status(s, form, svc.clock.now()))


@bp.post(routes.TRANSCRIPTION)
@twilio_signed
def transcription() -> Response:
    """``transcribeCallback``: Twilio's transcription of a message's recording."""
    form, svc = params(), services()
    return _handle(request.path, lambda s: svc.messages.transcription(s, form, svc.clock.now()))


@bp.post(routes.REALTIME)
@twilio_signed
def realtime_event() -> Response:
    """``<Start><Transcription statusCallbackUrl>``: one real-time transcription event."""
    form, svc = params(), services()
    ref = request.args.get("ref", "")[:64]
    return _handle(
        request.path,
        lambda s: realtime.event(s, form, ref, svc.clock.now(), svc.messages.lookup),
    )
