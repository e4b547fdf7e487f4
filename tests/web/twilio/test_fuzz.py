"""Hostile but validly signed webhooks: never a 5xx, always a clear 4xx, 204 or valid TwiML.

Hypothesis generates Twilio-like forms with missing, empty, duplicated,
overlong (10 kB+) and odd-Unicode values (RTL marks, NUL, emoji, combining
characters), unknown CallSids and steps out of order, for every webhook.
``make test`` runs a small budget; ``make fuzz`` (``FUZZ_EXAMPLES=500``) a
longer one.  After each run the audit chain still verifies.
"""

from __future__ import annotations

import os
import string
import xml.etree.ElementTree as ET

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from callcenter.audit import trail as audit
from callcenter.phone.emulator import EmulatorError, TwilioEmulator, new_sid
from tests.conftest import CALLER, services

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
ODD = ["\u200f", "\u202e", "\x00", "😷", "e\u0301", "\ufeff", "\ud7ff", "'\"<>&", "%00", "\r\n"]
ROUTES = [
    "/twilio/voice",
    "/twilio/step?seq=1",
    "/twilio/step?seq=999999",
    "/twilio/step?seq=-1",
    "/twilio/status",
    "/twilio/fallback",
    "/twilio/fallback?stage=recorded",
    "/twilio/whisper?call=x&reason=urgent",
    "/twilio/whisper/accept?call=x",
    "/twilio/queue/wait?call=x",
    "/twilio/queue/choice?call=x",
    "/twilio/queue/connect",
    "/twilio/queue/agent",
    "/twilio/queue/agent/pin",
    "/twilio/queue/agent/done",
    "/twilio/queue/agent/take",
    "/twilio/recording",
    "/twilio/transcription",
    "/twilio/realtime",
]
TWILIO_WORDS = ["completed", "busy", "no-answer", "leave", "bridged", "hangup", "1", "*",
                "transcription-content", "transcription-stopped", "true"]  # fmt: skip
NAMES = ["CallSid", "From", "To", "Digits", "SpeechResult", "Confidence", "CallStatus",
         "CallDuration", "RecordingSid", "RecordingUrl", "RecordingDuration", "RecordingStatus",
         "TranscriptionText", "TranscriptionStatus", "TranscriptionEvent", "TranscriptionData",
         "DialCallStatus", "QueueResult", "QueuePosition", "QueueTime", "SequenceId",
         "Final", "Caller", "AccountSid"]  # fmt: skip

BUDGET = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
values = st.one_of(
    st.text(max_size=40),
    st.lists(st.sampled_from(ODD + list(string.digits)), max_size=20).map("".join),
    st.just(""),
    st.builds(lambda n: "9" * n, st.integers(10_000, 12_000)),  # overlong
    st.builds(lambda: new_sid("CA")),  # a well-formed SID no one knows
    st.sampled_from(TWILIO_WORDS),
)


def _form(fields: dict[str, str | list[str]]) -> MultiDict[str, str]:
    """A form as Twilio's signature sees it; a list value is a parameter sent twice or more."""
    return MultiDict([(k, v) for k, vs in fields.items() for v in ([vs] if isinstance(vs, str)
                      else vs)])  # fmt: skip


forms = st.dictionaries(
    st.sampled_from(NAMES),
    st.one_of(values, st.lists(values, min_size=2, max_size=3)),
    max_size=10,
).map(_form)


@BUDGET
@given(route=st.sampled_from(ROUTES), form=forms)
def test_every_webhook_answers_hostile_forms_safely(app, twilio, route, form):
    status, body = twilio.post(twilio.url(route), form)
    assert status < 500, (route, status, body[:200])
    if status == 200:
        TwilioEmulator.parse(body)  # valid TwiML (raises otherwise)
    else:
        assert status in (204, 400, 403, 404, 405, 413), (route, status)


@BUDGET
@given(steps=st.lists(st.tuples(st.integers(0, 12), forms), min_size=1, max_size=6))
def test_a_real_call_hit_by_steps_out_of_order_stays_on_a_safe_path(
    app, twilio, practice_number, steps
):
    call = twilio.place_call(CALLER, practice_number)
    for seq, form in steps:
        status, body = twilio.post(twilio.url(f"/twilio/step?seq={seq}"),
                                   {**form, "CallSid": call.sid})  # fmt: skip
        assert status in (200, 400), (seq, status)
        if status == 200:
            TwilioEmulator.parse(body)
    # The call can still be followed by Twilio: its next answer is valid TwiML.
    try:
        call.hangup()
    except EmulatorError as exc:  # pragma: no cover - a failure names the broken answer
        raise AssertionError(str(exc)) from None


def test_the_audit_chain_and_the_calls_stay_consistent_after_fuzzing(app, twilio):
    for route in ROUTES:
        twilio.post(twilio.url(route), {"CallSid": new_sid("CA"), "Digits": "\x00" * 20_000})
    with services(app).db.session() as session:
        assert audit.verify(session).ok


sms_forms = st.fixed_dictionaries(
    {},
    optional={
        "MessageSid": st.one_of(values, st.builds(lambda: new_sid("SM"))),
        "From": st.one_of(values, st.just(CALLER)),
        "To": st.one_of(values, st.just("+33184880000")),
        "Body": st.one_of(values, st.sampled_from(["STOP", "START", "annuler", "oui"])),
        "AccountSid": values,
        "NumMedia": values,
    },
).map(_form)


@BUDGET
@given(form=sms_forms)
def test_the_sms_webhook_answers_hostile_forms_safely(app, twilio, form):
    """A patient's SMS, however odd: a 400 for a bad MessageSid, else messaging TwiML."""
    status, body = twilio.post(twilio.url("/twilio/sms"), form)
    assert status in (200, 400, 413), (status, body[:200])
    if status == 200:
        root = ET.fromstring(body)
        assert root.tag == "Response" and all(verb.tag == "Message" for verb in root)
