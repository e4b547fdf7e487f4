"""Urgent calls: advice first, the on-call doctor told by SMS at once, then people."""

from __future__ import annotations

from sqlalchemy import select

from callcenter.calls.models import Call
from callcenter.notify.models import Notice
from tests.conftest import CALLER, create_tables, services, set_clock

SUNDAY_NIGHT = "2026-11-29T22:00:00+01:00"  # dr-bernard is on call
TUESDAY_NIGHT = "2026-11-24T21:00:00+01:00"  # dr-martin is on call


def sms_sent(fake_twilio) -> list:
    return [r for r in fake_twilio.requests if r.path.endswith("/Messages.json")]


def test_at_night_the_on_call_doctor_is_rung_after_the_advice(
    app, twilio, practice_number, fake_twilio
):
    set_clock(app, SUNDAY_NIGHT)
    call = twilio.place_call(CALLER, practice_number).press("9")
    heard = call.last_heard()
    assert heard.index("114") < len(heard)  # the advice came first
    assert call.dial_numbers() == ["+33612000012"]  # dr-bernard's on-call phone
    call.answer(press="1")
    assert "Appel urgent." in call.whispers
    row = services(app).db.session
    with row() as session:
        stored = session.scalars(select(Call).where(Call.call_sid == call.sid)).one()
        assert stored.outcome == "on-call" and stored.urgent


def test_the_sms_to_the_doctor_carries_no_personal_or_health_data(
    app, twilio, practice_number, fake_twilio
):
    set_clock(app, SUNDAY_NIGHT)
    call = twilio.place_call(CALLER, practice_number)
    call.say("ma femme a une douleur à la poitrine, elle s'appelle Zoé Dupont")
    sms = sms_sent(fake_twilio)
    assert len(sms) == 1
    form = sms[0].form
    assert form["To"] == "+33612000012" and form["From"] == practice_number
    body = form["Body"]
    assert "cabinet médical des Tilleuls" in body and "urgent" in body
    for secret in ("612345678", "Zoé", "Dupont", "poitrine", "douleur"):
        assert secret not in body
    with services(app).db.session() as session:
        notice = session.scalars(select(Notice)).one()
        assert notice.status == "sent" and notice.message_sid.startswith("SM")
        assert notice.reference in body


def test_a_retried_webhook_sends_one_sms(app, twilio, practice_number, fake_twilio):
    set_clock(app, TUESDAY_NIGHT)
    call = twilio.place_call(CALLER, practice_number).press("9")
    status, _ = twilio.post(*call.requests[-1])  # Twilio retries the Gather action
    assert status == 200
    assert len(sms_sent(fake_twilio)) == 1


def test_the_on_call_doctor_not_answering_leads_to_the_secretaries_then_a_message(
    app, twilio, practice_number, fake_twilio
):
    set_clock(app, TUESDAY_NIGHT)
    call = twilio.place_call(CALLER, practice_number).press("9")
    assert call.dial_numbers() == ["+33612000011"]
    call.no_answer()
    # At night no secretary is on duty: straight to an urgent message.
    assert call.waiting_for == "Gather" and "tapez étoile" in call.last_heard()


def test_in_office_hours_the_secretaries_take_urgent_calls_and_no_sms_is_sent(
    app, twilio, practice_number, fake_twilio
):
    call = twilio.place_call(CALLER, practice_number).press("9")
    assert call.dial_numbers() == ["+33612000001"]  # Léa, on duty
    call.answer(press="1")
    assert "Appel urgent." in call.whispers
    assert sms_sent(fake_twilio) == []


def test_an_sms_that_twilio_refuses_is_retried_by_the_worker(
    app, twilio, practice_number, fake_twilio
):

    set_clock(app, SUNDAY_NIGHT)
    fake_twilio.fail_next("Messages", status=500)
    twilio.place_call(CALLER, practice_number).press("9")
    with services(app).db.session() as session:
        notice = session.scalars(select(Notice)).one()
        assert notice.status == "pending" and notice.attempts == 1
    set_clock(app, "2026-11-29T22:05:00+01:00")  # after the back-off
    assert services(app).send_notices().sent == 1
    assert services(app).send_notices().sent == 0  # nothing twice
    assert len(sms_sent(fake_twilio)) == 2  # the refused attempt, then the one sent


def test_the_caller_id_presented_to_secretaries_follows_the_practice_setting(settings, fake_twilio):
    from callcenter.phone.emulator import FlaskTransport, TwilioEmulator
    from callcenter.web.app import create_app
    from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_BASE, write_practice

    write_practice(
        settings.home, transfer={"mode": "sequential", "ring_seconds": 15, "caller_id": "caller"}
    )
    app = create_app(settings)
    create_tables(services(app).db)
    twilio = TwilioEmulator(
        FlaskTransport(app.test_client()), AUTH_TOKEN, PUBLIC_BASE, account_sid=ACCOUNT_SID
    )
    call = twilio.place_call(CALLER, "+33184880000").press("3")
    assert call.waiting.verb.get("callerId") == CALLER
    assert call.waiting.verb.get("sequential") == "true"
    assert call.waiting.verb.get("timeout") == "15"
    services(app).db.dispose()


def heard_from_the_urgency(call) -> str:
    return call.text.split("tapez 9", 1)[1]  # past the opening's own advice


def test_an_unanswered_urgent_call_in_office_hours_hears_the_advice_three_times(
    app, twilio, practice_number, fake_twilio
):
    call = twilio.place_call(CALLER, practice_number).press("9")
    assert "en priorité" in call.last_heard()  # the priority line, in office hours too
    call.no_answer()
    heard = call.last_heard()
    assert "Personne n'a pu vous répondre." in heard and "15 ou le 112" in heard
    assert "message urgent" in heard and call.waiting_for == "Gather"  # the message's consent
    call.silence().record(seconds=6)
    call.silence()  # no call-back asked
    assert call.ended and "15 ou le 112" in call.last_heard() and "Au revoir" in call.last_heard()
    assert heard_from_the_urgency(call).count("15 ou le 112") >= 3
    assert stored_call_outcome(app, call) == "message"


def test_an_unanswered_urgent_call_at_night_hears_the_advice_again_then_leaves_a_message(
    app, twilio, practice_number, fake_twilio
):
    set_clock(app, TUESDAY_NIGHT)
    call = twilio.place_call(CALLER, practice_number).press("9")
    assert "en priorité" in call.last_heard()
    call.no_answer()  # the doctor on call; no secretary at night
    heard = call.last_heard()
    assert "Personne n'a pu vous répondre." in heard and "15 ou le 112" in heard
    call.silence().record(seconds=6)
    call.silence()
    assert call.ended and "15 ou le 112" in call.last_heard()
    assert heard_from_the_urgency(call).count("15 ou le 112") >= 3


def test_an_urgent_caller_leaving_no_message_still_hears_the_advice(
    app, twilio, practice_number, fake_twilio
):
    set_clock(app, TUESDAY_NIGHT)
    call = twilio.place_call(CALLER, practice_number).press("9").no_answer()
    call.silence().silence().silence().silence()  # no refusal, nothing said, twice
    assert call.ended and "Aucun message" in call.last_heard()
    assert "15 ou le 112" in call.last_heard()


def stored_call_outcome(app, call) -> str | None:
    with services(app).db.session() as session:
        return session.scalars(select(Call.outcome).where(Call.call_sid == call.sid)).one()
