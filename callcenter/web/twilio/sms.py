"""The number's SMS URL: texts sent to the practice's number are not read.

The practice's number sends confirmations and reminders; a patient may
answer one.  Nothing here reads or keeps that text (the practice is reached
by phone): Twilio gets an empty answer, so no reply goes out and no webhook
error is raised at Twilio, and the log holds the message SID only.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from callcenter.core import routes
from callcenter.core.logs import get_logger
from callcenter.web.twilio.signature import twilio_signed

bp = Blueprint("sms", __name__)
log = get_logger("callcenter.sms")

EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


@bp.post(routes.SMS)
@twilio_signed
def sms() -> Response:
    """Answer nothing: no reply is sent to the patient."""
    log.info("sms_ignored", message_sid=request.form.get("MessageSid", "")[:64])
    return Response(EMPTY, mimetype="text/xml")
