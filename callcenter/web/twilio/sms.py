"""The number's SMS URL: patients' replies (OUI, ANNULER, STOP, START, anything else).

Thin: the signature, Twilio's four parameters bounded, the replies' registry
(:class:`callcenter.replies.dispatch.SmsReplies`) in one unit of work, and
TwiML with the answer (``<Message>``) or none.  Never an error page: on any
failure the patient gets the practice's number, and the log says what
failed without the text or the number.
"""

from __future__ import annotations

import re
import time

from flask import Blueprint, Response, abort, request

from callcenter.core import metrics, routes
from callcenter.core.logs import get_logger
from callcenter.ivr.twiml import sms_answer
from callcenter.replies.dispatch import Inbound
from callcenter.web.twilio.signature import twilio_signed
from callcenter.web.twilio.voice import after_commit, services

bp = Blueprint("sms", __name__)
log = get_logger("callcenter.sms")

MESSAGE_SID = re.compile(r"^(SM|MM)[0-9a-fA-F]{32}$")
MAX_NUMBER = 64  # a phone number, a short code or a withheld sentinel
MAX_BODY = 1600  # Twilio's own limit for one SMS; longer is cut, never read as a keyword


def inbound() -> Inbound:
    """Twilio's SMS parameters, bounded; 400 without a well-formed ``MessageSid``."""
    form = request.form
    sid = form.get("MessageSid", "")
    if not MESSAGE_SID.match(sid):
        abort(400, description="MessageSid is missing or malformed")
    return Inbound(
        message_sid=sid,
        sender=form.get("From", "")[:MAX_NUMBER],
        to=form.get("To", "")[:MAX_NUMBER],
        body=form.get("Body", "")[: MAX_BODY + 1],
    )


@bp.post(routes.SMS)
@twilio_signed
def sms() -> Response:
    """One SMS to a practice's number, answered at most once."""
    received = inbound()
    svc = services()
    started = time.perf_counter()
    try:
        svc.watcher.refresh()
        with svc.unit_of_work() as work:
            answer = svc.replies.receive(work.session, svc.cipher, received, svc.clock.now())
    except Exception as exc:
        practice = svc.practices.by_number(received.to)
        log.error("sms_failed", message_sid=received.message_sid, error=type(exc).__name__)
        metrics.observe(routes.SMS, "error", started)
        return Response(sms_answer(svc.replies.generic(practice) if practice else None),
                        mimetype="text/xml")  # fmt: skip
    log.info("sms_reply", message_sid=received.message_sid, keyword=answer.keyword,
             outcome=answer.outcome, answered=answer.text is not None)  # fmt: skip
    metrics.observe(routes.SMS, "answered", started)
    return after_commit(Response(sms_answer(answer.text), mimetype="text/xml"), svc, work.tasks)
