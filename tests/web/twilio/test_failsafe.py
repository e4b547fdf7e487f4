"""A caller never hears an application error (threat-model rule 1) and bad input gets a 4xx."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from callcenter.calls.models import Call
from callcenter.ivr.nodes.basic import Menu
from callcenter.phone.emulator import FlaskTransport, TwilioEmulator
from tests.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CALLER,
    PUBLIC_BASE,
    broken_database,
    services,
)


def fallback_twilio(app) -> TwilioEmulator:
    """Twilio calling the number's Voice Fallback URL, as it does when our answer fails."""
    return TwilioEmulator(
        FlaskTransport(app.test_client()),
        AUTH_TOKEN,
        PUBLIC_BASE,
        account_sid=ACCOUNT_SID,
        voice_path="/twilio/fallback",
    )


def test_an_exception_in_a_node_still_routes_the_caller_to_a_person(
    app, twilio, practice_number, monkeypatch
):
    call = twilio.place_call(CALLER, practice_number)

    def explode(self, ctx, reply):
        raise RuntimeError("a bug in a node")

    monkeypatch.setattr(Menu, "resume", explode)
    call.press("1")
    assert not call.application_error
    assert "difficulté technique" in call.last_heard()
    assert call.dial_numbers() == ["+33612000001"]
    call.no_answer()
    assert call.waiting_for == "Record"  # nobody answered: take a message
    call.record(seconds=5)
    assert "Au revoir" in call.last_heard() and call.ended


def test_a_database_that_fails_at_commit_still_gives_safe_twiml(
    app, twilio, practice_number, monkeypatch
):
    """OperationalError at commit: the caller reaches the secretaries."""
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    def fail(self):
        raise OperationalError("COMMIT", {}, Exception("database is gone"))

    monkeypatch.setattr(Session, "commit", fail)
    call = twilio.place_call(CALLER, practice_number)
    assert "difficulté technique" in call.text
    assert call.waiting_for == "Dial"


def test_the_fallback_url_works_with_the_database_unreachable(app, practice_number, database_down):
    """Twilio calls the fallback URL when we fail; it must not need the database."""
    twilio = fallback_twilio(app)
    call = twilio.place_call(CALLER, practice_number)
    assert "difficulté technique" in call.text
    call.no_answer()
    assert "Laissez votre nom" in call.last_heard()
    call.record(seconds=9)
    assert call.ended and not call.application_error


def test_calls_go_on_with_the_database_down_and_readyz_says_so(
    app, twilio, practice_number, database_down
):
    call = twilio.place_call(CALLER, practice_number)
    assert call.waiting_for == "Dial" and not call.application_error
    client = app.test_client()
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").status_code == 200


def test_readyz_is_ok_with_the_database_up(app):
    assert app.test_client().get("/readyz").status_code == 200


@pytest.mark.parametrize("sid", ["", "CA123", "XX" + "a" * 32, "CA" + "g" * 32])
def test_a_missing_or_malformed_callsid_is_a_clear_400(app, twilio, sid):
    status, body = twilio.post(twilio.url("/twilio/voice"), {"CallSid": sid, "To": "+33"})
    assert status == 400 and "CallSid" in body


@pytest.mark.parametrize("seq", ["", "-1", "abc", "9999999"])
def test_a_malformed_step_number_is_a_clear_400(app, twilio, seq):
    status, _ = twilio.post(twilio.url(f"/twilio/step?seq={seq}"), {"CallSid": "CA" + "a" * 32})
    assert status == 400


def test_a_huge_body_is_refused_with_413(app, twilio):
    status, _ = twilio.post(
        twilio.url("/twilio/voice"), {"CallSid": "CA" + "a" * 32, "SpeechResult": "x" * 200_000}
    )
    assert status == 413


def test_a_step_for_a_call_we_never_saw_routes_to_a_person(app, twilio, practice_number):
    status, body = twilio.post(
        twilio.url("/twilio/step?seq=3"),
        {"CallSid": "CA" + "c" * 32, "To": practice_number, "Digits": "1"},
    )
    assert status == 200 and "<Dial" in body
    with services(app).db.session() as session:
        assert session.scalars(select(Call)).all() == []


def test_a_step_out_of_order_repeats_the_current_question(app, twilio, practice_number):
    call = twilio.place_call(CALLER, practice_number)
    status, body = twilio.post(
        twilio.url("/twilio/step?seq=5"),
        {"CallSid": call.sid, "To": practice_number, "Digits": "3"},
    )
    assert status == 200 and "tapez 1" in body
    call.press("3")
    assert call.waiting_for == "Dial"


def test_a_database_failure_during_the_whisper_still_lets_the_secretary_accept(
    app, twilio, practice_number
):
    """The secretary hears a generic whisper and presses 1; never a voicemail prompt."""
    call = twilio.place_call(CALLER, practice_number).press("3")
    svc = services(app)
    original, svc.db = svc.db, broken_database()
    try:
        call.answer(press="1")
    finally:
        svc.db.dispose()
        svc.db = original
    assert "Appel pour le cabinet médical des Tilleuls." in call.whispers
    assert "Pour prendre l'appel, tapez 1." in call.whispers
    assert not any("bip" in line for line in call.whispers)
    assert not call.application_error


def test_the_fallback_dial_asks_each_secretary_to_press_1(app, practice_number, database_down):
    """A voicemail answering the error path's Dial must not take the patient's call."""
    twilio = fallback_twilio(app)
    call = twilio.place_call(CALLER, practice_number)
    call.answer(press=None)  # a voicemail: it presses nothing
    assert "Pour prendre l'appel, tapez 1." in call.whispers
    assert call.waiting_for == "Record"  # not bridged: the caller may leave a message


def test_a_message_left_on_the_fallback_path_is_stored_when_the_database_answers(
    app, practice_number
):
    """Twilio called the fallback URL (say, a timeout); the database is fine meanwhile."""
    from callcenter.messages.models import Message

    twilio = fallback_twilio(app)
    call = twilio.place_call(CALLER, practice_number).no_answer()
    assert "raccrochez" in call.last_heard()  # how to refuse the recording
    call.record(seconds=11)
    action = next((url, p) for url, p in call.requests if "RecordingSid" in p)
    status, _ = twilio.post(*action)  # Twilio retries the action: still one message
    assert status == 200
    with services(app).db.session() as session:
        message = session.scalars(select(Message)).one()
        assert message.callback_number == CALLER and message.recording_sid.startswith("RE")


def test_a_fallback_message_with_the_database_down_logs_its_recording_sid(
    app, practice_number, database_down, caplog
):
    twilio = fallback_twilio(app)
    call = twilio.place_call(CALLER, practice_number).no_answer().record(seconds=5)
    assert "Au revoir" in call.last_heard() and call.ended
    sid = next(p["RecordingSid"] for _, p in call.requests if "RecordingSid" in p)
    assert "fallback_message_not_stored" in caplog.text and sid in caplog.text


def test_a_status_callback_before_the_last_step_still_closes_the_call(app, twilio, practice_number):
    """Callbacks arrive out of order; the call is closed and the message kept."""
    from callcenter.messages.models import Message

    call = twilio.place_call(CALLER, practice_number).press("2").press("*").silence()
    status, _ = twilio.post(
        twilio.url("/twilio/status"),
        {"CallSid": call.sid, "CallStatus": "completed", "To": practice_number},
    )
    assert status == 204
    call.record(seconds=7, finish="hangup")
    with services(app).db.session() as session:
        row = session.scalars(select(Call).where(Call.call_sid == call.sid)).one()
        assert row.ended_at is not None and row.status == "completed"
        assert session.scalars(select(Message)).one().call_id == row.id


def test_a_call_that_never_leaves_its_flows_ends_with_a_person(
    app, twilio, practice_number, monkeypatch
):
    """Whatever the flows, after MAX_REQUESTS answers the call goes to a person."""
    from callcenter.ivr import engine

    monkeypatch.setattr(engine, "MAX_REQUESTS", 6)
    call = twilio.place_call(CALLER, practice_number)
    for _ in range(5):
        call.press("7")  # never a valid choice; the menu's own limit would end it too
        if call.waiting_for != "Gather":
            break
    assert call.waiting_for == "Dial"


def test_a_failed_constraint_that_is_no_retry_gets_the_safe_answer_not_an_old_one(
    app, twilio, practice_number, monkeypatch
):
    """Only a duplicate (call, seq) replays a stored answer; any other conflict is an error."""
    from callcenter.calls.models import Call

    def conflicting(self, ctx, reply):  # a node whose write breaks a unique constraint
        ctx.session.add(Call(practice_id=ctx.call.practice_id, call_sid=ctx.call.call_sid,
                             started_at=ctx.now, flow="x", node="x", seq=0, state={}))  # fmt: skip
        return None

    call = twilio.place_call(CALLER, practice_number)
    monkeypatch.setattr(Menu, "resume", conflicting)
    call.press("2")
    assert call.waiting_for == "Dial" and call.dial_numbers() == ["+33612000001"]
    assert not call.application_error
