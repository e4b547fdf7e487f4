"""A caller never hears an application error (DESIGN.md rule 1) and bad input gets a 4xx."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from callcenter.emulator import FlaskTransport, TwilioEmulator
from callcenter.flow.nodes import Menu
from callcenter.models import Call
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, CALLER, PUBLIC_BASE, services


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
    """OperationalError at commit (SECURITY.md F1): the caller reaches the secretaries."""
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
    twilio = TwilioEmulator(
        FlaskTransport(app.test_client()),
        AUTH_TOKEN,
        PUBLIC_BASE,
        account_sid=ACCOUNT_SID,
        voice_path="/twilio/fallback",
    )
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
