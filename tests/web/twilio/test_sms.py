"""The number's SMS URL: a text to the practice is answered with nothing and not kept."""

from __future__ import annotations

from callcenter.core import routes
from callcenter.web.twilio.sms import EMPTY
from tests.conftest import CALLER


def test_a_signed_text_gets_an_empty_answer_and_an_unsigned_one_is_refused(app, twilio):
    form = {"MessageSid": "SM" + "a" * 32, "From": CALLER, "To": "+33184880000",
            "Body": "oui merci"}  # fmt: skip
    status, body = twilio.post(twilio.url(routes.SMS), form)
    assert (status, body) == (200, EMPTY)
    refused = app.test_client().post(routes.SMS, data=form)
    assert refused.status_code == 403
