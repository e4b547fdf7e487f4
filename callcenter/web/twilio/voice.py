"""Voice webhooks: parse Twilio's parameters, call the engine, answer TwiML.

Errors are caught here, once: whatever fails inside a call's webhook, the
caller still gets TwiML that reaches a person or takes a message (rule 1 of
docs/security/threat-model.md), and the log line says what failed without any personal data.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from flask import Blueprint, Response, abort, current_app, request
from sqlalchemy.orm import Session

from callcenter.config.practice import Practice
from callcenter.core import metrics, routes
from callcenter.core.logs import get_logger
from callcenter.ivr.engine import Answer
from callcenter.services import Services
from callcenter.storage.unit_of_work import Task
from callcenter.web.twilio.signature import twilio_signed

bp = Blueprint("voice", __name__)  # paths: callcenter.core.routes
log = get_logger("callcenter.webhook")

CALL_SID = re.compile(r"^CA[0-9a-fA-F]{32}$")
MAX_VALUE = 4096  # longer values are cut: no Twilio parameter needs more


def services() -> Services:
    svc: Services = current_app.extensions["callcenter"]
    return svc


def params() -> dict[str, str]:
    """Twilio's form parameters as plain text, each value bounded."""
    return {k: v[:MAX_VALUE] for k, v in request.form.items()}


def call_params() -> dict[str, str]:
    form = params()
    if not CALL_SID.match(form.get("CallSid", "")):
        abort(400, description="CallSid is missing or malformed")
    return form


def twiml(text: str) -> Response:
    return Response(text, mimetype="text/xml")


def answer(
    form: dict[str, str],
    work_in: Callable[[Session], Answer],
    on_error: Callable[[Practice | None], str] | None = None,
    practice: Practice | None = None,
) -> Response:
    """Run ``work_in`` in the request's unit of work; on any error, answer safely instead.

    The safe answer reaches a person or takes a message (``on_error`` gives
    another, e.g. for a secretary's whisper), for ``practice`` or the called one.
    """
    svc = services()
    started = time.perf_counter()
    try:
        svc.watcher.refresh()
        with svc.unit_of_work() as work:
            result = work_in(work.session)
    except Exception as exc:
        practice = practice or svc.practices.by_number(form.get("To"))
        log.error(
            "webhook_failed",
            route=request.path,
            call_sid=form.get("CallSid"),
            error=type(exc).__name__,
            latency_ms=_ms(started),
        )
        metrics.observe(_route(), "error", started)
        return twiml(on_error(practice) if on_error else svc.engine.safe.reach_someone(practice))
    metrics.observe(_route(), result.outcome or "answered", started)
    log.info(
        "webhook",
        route=request.path,
        call_sid=form.get("CallSid"),
        node=result.node,
        outcome=result.outcome,
        latency_ms=_ms(started),
    )
    return after_commit(twiml(result.twiml), svc, work.tasks)


def after_commit(response: Response, svc: Services, tasks: tuple[Task, ...]) -> Response:
    """Run the committed work's tasks once the answer is sent: Twilio never waits on them."""
    if tasks:
        response.call_on_close(lambda: svc.after_commit(tasks))
    return response


def _route() -> str:
    """The route's rule (``/twilio/step``), never the raw URL: bounded, no identifiers."""
    return request.url_rule.rule if request.url_rule else "unknown"


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


@bp.post(routes.VOICE)
@twilio_signed
def voice() -> Response:
    """The number's Voice URL: a new call."""
    form = call_params()
    svc = services()
    return answer(form, lambda s: svc.engine.incoming(s, form, svc.clock.now()))


@bp.post(routes.STEP)
@twilio_signed
def step() -> Response:
    """Gather, Record and Dial actions: the caller's answer to the waiting node."""
    form = call_params()
    seq = request.args.get("seq", "")
    if not seq.isdigit() or len(seq) > 6:
        abort(400, description="seq is missing or malformed")
    svc = services()
    return answer(form, lambda s: svc.engine.step(s, form, int(seq), svc.clock.now()))


@bp.post(routes.STATUS)
@twilio_signed
def status() -> Response:
    """Call status callback: closes the call record.

    Unknown, late or repeated callbacks get 204 too: an error would only make
    Twilio log a warning and retry, and there is nothing left to do.
    """
    form = params()
    svc = services()
    try:
        with svc.unit_of_work() as work:
            outcome = svc.engine.status(work.session, form, svc.clock.now())
    except Exception as exc:
        log.error("status_failed", call_sid=form.get("CallSid"), error=type(exc).__name__)
        return Response(status=204)
    if outcome != "ignored":
        metrics.CALLS.labels(outcome).inc()
    log.info(
        "webhook",
        route=request.path,
        call_sid=form.get("CallSid"),
        status=form.get("CallStatus"),
        outcome=outcome,
    )
    return after_commit(Response(status=204), svc, work.tasks)


@bp.post(routes.WHISPER)
@twilio_signed
def whisper() -> Response:
    """Played to the secretary who picks up, before the caller is connected."""
    form = params()
    call_id = request.args.get("call", "")[:64]
    reason = request.args.get("reason", "other")[:32]
    svc = services()
    practice = svc.practices.by_id(request.args.get("practice", "")[:64])
    return answer(
        form, lambda s: svc.engine.whisper(s, call_id, reason), svc.engine.safe.whisper, practice
    )


@bp.post(routes.WHISPER_ACCEPT)
@twilio_signed
def whisper_accept() -> Response:
    result = services().engine.whisper_accept(request.form.get("Digits", ""))
    log.info(
        "webhook", route=request.path, call_sid=request.form.get("CallSid"), outcome=result.outcome
    )
    return twiml(result.twiml)


@bp.post(routes.FALLBACK)
@twilio_signed
def fallback() -> Response:
    """The number's Voice Fallback URL, and the error path's Whisper, Dial and Record actions.

    Answers from memory (practices and prompts); only a recorded message is
    stored, when the database answers, and its SID logged when it does not.
    """
    svc = services()
    safe = svc.engine.safe
    form = params()
    stage = request.args.get("stage", "")
    practice = svc.practices.by_id(request.args.get("practice", "")[:64]) or (
        svc.practices.by_number(form.get("To"))
    )
    if stage == "whisper":
        text = safe.whisper(practice)
    elif stage == "dialed":
        bridged = form.get("DialCallStatus") in ("completed", "answered")
        text = safe.goodbye(practice) if bridged else safe.leave_message(practice)
    elif stage == "recorded":
        _keep_fallback_message(form, practice)
        text = safe.goodbye(practice)
    else:
        text = safe.reach_someone(practice)
    log.warning("fallback", stage=stage or "twilio", call_sid=form.get("CallSid"),
                error_code=form.get("ErrorCode", "")[:8])  # fmt: skip
    return twiml(text)


def _keep_fallback_message(form: dict[str, str], practice: Practice | None) -> None:
    svc = services()
    try:
        with svc.unit_of_work() as work:
            svc.engine.keep_fallback_message(work.session, form, practice, svc.clock.now())
    except Exception as exc:
        # The audio is safe at Twilio; the SID (not personal) lets it be recovered.
        log.error("fallback_message_not_stored", recording_sid=form.get("RecordingSid"),
                  error=type(exc).__name__)  # fmt: skip
