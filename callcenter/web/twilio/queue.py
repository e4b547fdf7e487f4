"""Queue webhooks: the waiting caller's announcements and choice, the secretaries' line.

Thin like the voice webhooks: parse Twilio's parameters, call the queue desk,
answer TwiML; errors are caught by :func:`callcenter.web.twilio.voice.answer`.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from callcenter.core import routes
from callcenter.ivr.engine import Answer
from callcenter.ivr.twiml import Reply, Voice
from callcenter.web.twilio.signature import twilio_signed
from callcenter.web.twilio.voice import answer, call_params, services

bp = Blueprint("queue", __name__)  # paths: callcenter.core.routes


def _call_id() -> str:
    return request.args.get("call", "")[:64]


def _keep_waiting(_practice: object) -> str:
    """On an error while waiting: stay in the queue; a secretary still comes."""
    return Reply(Voice()).pause(10).to_xml()


def _goodbye(_practice: object) -> str:
    return Reply(Voice()).hangup().to_xml()


@bp.post(routes.QUEUE_WAIT)
@twilio_signed
def wait() -> Response:
    """The Enqueue waitUrl: position, expected wait, and the keys to leave."""
    form = call_params()
    svc = services()
    desk = svc.engine.queue
    return answer(
        form,
        lambda s: Answer(desk.wait(s, _call_id(), form, svc.clock.now()), outcome="waiting"),
        _keep_waiting,
    )


@bp.post(routes.QUEUE_CHOICE)
@twilio_signed
def choice() -> Response:
    """A key pressed while waiting: 1 call-back, 2 message."""
    form = call_params()
    desk = services().engine.queue
    digits = form.get("Digits", "")
    return answer(
        form, lambda s: Answer(desk.choose(s, _call_id(), digits), outcome="choice"), _keep_waiting
    )


@bp.post(routes.QUEUE_CONNECT)
@twilio_signed
def connect() -> Response:
    """Run on the caller a secretary takes off the queue, just before they are connected."""
    form = call_params()
    svc = services()
    desk = svc.engine.queue
    return answer(
        form,
        lambda s: Answer(desk.connect(s, form, svc.clock.now()), outcome="bridged"),
        lambda _p: Reply(Voice()).to_xml(),
    )


@bp.post(routes.QUEUE_AGENT)
@twilio_signed
def agent() -> Response:
    """The secretaries' line (its number's Voice URL): caller ID, then PIN."""
    form = call_params()
    svc = services()
    desk = svc.engine.queue
    caller = form.get("From")
    return answer(
        form, lambda s: Answer(desk.agent(s, caller, svc.clock.now()), outcome="line"), _goodbye
    )


@bp.post(routes.QUEUE_AGENT_PIN)
@twilio_signed
def agent_pin() -> Response:
    form = call_params()
    svc = services()
    desk = svc.engine.queue
    caller, pin = form.get("From"), form.get("Digits", "")
    return answer(
        form,
        lambda s: Answer(desk.agent_pin(s, caller, pin, svc.clock.now()), outcome="pin"),
        _goodbye,
    )


@bp.post(routes.QUEUE_AGENT_DONE)
@twilio_signed
def agent_done() -> Response:
    """The Dial action of the secretaries' line: the call with a patient is over."""
    form = call_params()
    desk = services().engine.queue
    return answer(form, lambda _s: Answer(desk.agent_done(form.get("From")), outcome="done"))


@bp.post(routes.QUEUE_AGENT_TAKE)
@twilio_signed
def agent_take() -> Response:
    form = call_params()
    desk = services().engine.queue
    caller, digits = form.get("From"), form.get("Digits", "")
    return answer(
        form, lambda s: Answer(desk.agent_take(s, caller, digits), outcome="take"), _goodbye
    )
