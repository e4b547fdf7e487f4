"""All secretaries busy: the queue, call-back requests, and the secretaries' line."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select, text

from callcenter.audit.models import AuditEntry
from callcenter.calls.models import Call, QueueEntry
from callcenter.config.practice import PracticeError, load_practice
from callcenter.messages.models import Message
from callcenter.phone.emulator import FlaskTransport, PhoneCall, TwilioEmulator
from callcenter.security.keyring import KeyRing
from callcenter.security.pins import hash_pin
from callcenter.web.app import create_app
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, CALLER, PUBLIC_BASE, services, write_practice

LEA = "+33612000001"  # the demo secretary; her PIN is 2468 (an older, unpeppered hash)
LINE = "/twilio/queue/agent"
OTHER_CALLER = "+33698765432"


def queued(twilio: TwilioEmulator, number: str, caller: str = CALLER, key: str = "3") -> PhoneCall:
    """A caller asks for the secretariat (or urgent help) and finds every line busy."""
    call = twilio.place_call(caller, number).press(key)
    call.busy()
    assert call.waiting_for == "Enqueue"
    return call


def stored(app: Flask, call: PhoneCall) -> Call:
    with services(app).db.session() as session:
        return session.scalars(select(Call).where(Call.call_sid == call.sid)).one()


def entry(app: Flask, call: PhoneCall) -> QueueEntry:
    with services(app).db.session() as session:
        return session.get_one(QueueEntry, stored(app, call).id)


def line(twilio: TwilioEmulator, number: str, pin: str = "2468", caller: str = LEA) -> PhoneCall:
    agent = twilio.place_call(caller, number, voice_path=LINE)
    if agent.waiting_for == "Gather":
        agent.press(pin)
    return agent


def test_a_caller_finding_everyone_busy_hears_position_and_expected_wait(
    app, twilio, practice_number
):
    call = queued(twilio, practice_number)
    heard = call.text
    assert "Toutes nos secrétaires sont en ligne" in heard
    assert "position 1" in heard and "environ 3 minutes" in heard
    assert "tapez 1" in heard and "tapez 2" in heard
    second = queued(twilio, practice_number, caller=OTHER_CALLER)
    assert "position 2" in second.text and "environ 6 minutes" in second.text
    waiting = entry(app, call)
    assert waiting.queue == "demo" and waiting.left_at is None and not waiting.urgent


def test_the_announcement_is_repeated_with_the_new_position_while_waiting(twilio, practice_number):
    first = queued(twilio, practice_number)
    second = queued(twilio, practice_number, caller=OTHER_CALLER)
    first.hangup()
    second.hold(30)
    assert "position 1" in second.last_heard() and "position 2" not in second.last_heard()


def test_pressing_1_while_waiting_leaves_a_call_back_request_with_the_number_encrypted(
    app, twilio, practice_number
):
    call = queued(twilio, practice_number).press("1")
    assert "le cabinet vous rappellera" in call.last_heard() and call.ended
    assert call.queue_position is None and not twilio.queues["demo"]
    with services(app).db.session() as session:
        message = session.scalars(select(Message)).one()
        assert message.callback_requested and message.status == "callback"
        assert message.callback_number == CALLER and message.transcript is None
        raw = session.execute(text("SELECT callback_number FROM messages")).scalar_one()
        assert CALLER.encode() not in bytes(raw) and b"612345678" not in bytes(raw)
    assert stored(app, call).outcome == "callback"
    assert entry(app, call).result == "leave" and entry(app, call).choice == "callback"


def test_pressing_2_while_waiting_takes_a_message_instead(app, twilio, practice_number):
    call = queued(twilio, practice_number).press("2")
    assert call.waiting_for == "Gather" and "date de naissance" in call.last_heard()
    assert entry(app, call).choice == "message" and entry(app, call).left_at is not None


def test_another_key_while_waiting_keeps_the_caller_in_the_queue(twilio, practice_number):
    call = queued(twilio, practice_number).press("7")
    assert "n'est pas proposée" in call.last_heard()
    assert call.waiting_for == "Enqueue" and call.queue_position == 1
    call.hold()
    assert "position 1" in call.last_heard()


def test_a_caller_without_a_number_is_offered_a_message_not_a_call_back(
    app, twilio, practice_number
):
    call = twilio.place_call("anonymous", practice_number).press("3").busy()
    assert call.waiting_for == "Enqueue"
    assert "être rappelé" not in call.text and "laisser un message" in call.text
    call.press("1")
    assert call.waiting_for == "Enqueue"  # no call-back without a number
    with services(app).db.session() as session:
        assert session.scalars(select(Message)).first() is None


def test_hanging_up_in_the_queue_is_an_abandoned_call(app, twilio, practice_number):
    call = queued(twilio, practice_number).hangup()
    assert stored(app, call).outcome == "abandoned"
    assert entry(app, call).result == "hangup"


def test_a_secretary_takes_urgent_callers_first_then_the_longest_wait(app, twilio, practice_number):
    early = queued(twilio, practice_number)
    urgent = queued(twilio, practice_number, caller=OTHER_CALLER, key="9")
    assert entry(app, urgent).queue == "demo-urgent" and entry(app, urgent).urgent
    agent = line(twilio, practice_number)
    said = agent.last_heard()
    assert "Appel pour le cabinet médical des Tilleuls" in said and "Appel urgent." in said
    assert CALLER not in said and OTHER_CALLER not in said
    assert agent.bridged_with is urgent and "Une secrétaire prend votre appel" in urgent.text
    assert entry(app, urgent).result == "bridged"
    urgent.hangup()  # the conversation ends: the secretary is offered the next caller
    assert stored(app, urgent).outcome == "transferred"
    assert "patient suivant, tapez 1" in agent.last_heard()
    agent.press("1")
    assert agent.bridged_with is early and "Appel urgent." not in agent.last_heard()
    agent.hangup()
    assert early.ended and stored(app, early).outcome == "transferred"


def test_the_line_with_nobody_waiting_says_so_and_hangs_up_on_silence(twilio, practice_number):
    agent = line(twilio, practice_number)
    assert "Aucun patient en attente" in agent.last_heard()
    agent.silence()
    assert agent.ended and "Au revoir" in agent.last_heard()


def test_the_line_refuses_a_number_that_is_not_a_secretary(app, twilio, practice_number):
    waiting = queued(twilio, practice_number)
    stranger = twilio.place_call(OTHER_CALLER, practice_number, voice_path=LINE)
    assert stranger.ended and "n'a pas accès" in stranger.text
    assert waiting.queue_position == 1 and waiting.bridged_with is None


def test_a_wrong_pin_is_refused_and_five_lock_the_line_for_that_number(
    app, twilio, practice_number
):
    waiting = queued(twilio, practice_number)
    for _ in range(5):
        agent = line(twilio, practice_number, pin="1111")
        assert agent.ended and "Code incorrect" in agent.text
    agent = twilio.place_call(LEA, practice_number, voice_path=LINE)
    assert agent.ended and "bloquée" in agent.text  # even the right PIN is not asked for
    assert waiting.queue_position == 1
    with services(app).db.session() as session:
        actions = session.scalars(select(AuditEntry.action)).all()
    assert actions.count("secretary.locked") == 1 and "secretary.line" not in actions


def test_a_right_pin_is_audited(app, twilio, practice_number):
    line(twilio, practice_number)
    with services(app).db.session() as session:
        logins = session.scalars(select(AuditEntry).where(AuditEntry.action == "secretary.line"))
        assert [e.actor for e in logins] == ["secretary:sec-lea"]


def test_an_urgent_call_at_a_busy_secretariat_waits_in_the_urgent_queue(
    app, twilio, practice_number
):
    call = queued(twilio, practice_number, key="9")
    assert stored(app, call).urgent and entry(app, call).queue == "demo-urgent"


def test_a_full_queue_sends_the_caller_to_a_message(app, twilio, practice_number, home):
    write_practice(home, transfer={"mode": "simultaneous", "queue": {"size": 1}})
    settings = services(app).settings
    small = create_app(settings)
    try:
        phone = TwilioEmulator(FlaskTransport(small.test_client()), AUTH_TOKEN, PUBLIC_BASE,
                               account_sid=ACCOUNT_SID)  # fmt: skip
        queued(phone, practice_number)
        second = phone.place_call(OTHER_CALLER, practice_number).press("3").busy()
        assert second.waiting_for == "Gather" and "date de naissance" in second.last_heard()
    finally:
        services(small).db.dispose()


def test_a_retried_wait_request_and_choice_change_nothing_twice(app, twilio, practice_number):
    call = queued(twilio, practice_number)
    status, body = twilio.replay()  # Twilio retries the wait URL
    assert status == 200 and "position 1" in body
    call.press("1")
    leave = next((url, form) for url, form in call.requests if form.get("QueueResult") == "leave")
    status, body = twilio.post(*leave)  # and the Enqueue action that followed the choice
    assert status == 200 and "vous rappellera" in body
    with services(app).db.session() as session:
        assert len(session.scalars(select(Message)).all()) == 1


def test_the_wait_url_answers_even_for_an_unknown_call(twilio):
    status, body = twilio.post(
        twilio.url("/twilio/queue/wait?call=nope"),
        {"CallSid": "CA" + "1" * 32, "QueuePosition": "1", "From": CALLER, "To": "+33100000000"},
    )
    assert status == 200 and "<Pause" in body


def test_the_queue_setting_is_validated(home):
    write_practice(home, transfer={"queue": {"size": -1}})
    with pytest.raises(PracticeError, match=r"transfer\.queue\.size"):
        load_practice(home / "practices" / "demo.yaml")


def test_an_urgent_caller_asking_for_a_call_back_hears_the_advice_again(
    app, twilio, practice_number
):
    call = queued(twilio, practice_number, key="9").press("1")
    assert call.ended and "rappellera en priorité" in call.last_heard()
    assert "15 ou le 112" in call.last_heard()
    assert stored(app, call).outcome == "callback"


def test_9_while_waiting_leaves_the_queue_for_the_urgent_route(app, twilio, practice_number):
    call = queued(twilio, practice_number).press("9")
    assert stored(app, call).urgent and call.waiting_for == "Dial"
    assert entry(app, call).result == "leave"


def test_a_peppered_pin_opens_the_line_and_only_with_this_instances_ring(
    app, practice_number, home, caplog
):
    """A hash made by `secretaries pin` verifies with the ring; the older one is flagged."""
    ring = services(app).keyring
    secretary = {"id": "sec-lea", "name": "Léa", "phone": LEA,
                 "pin_hash": hash_pin("246810", ring)}  # fmt: skip
    write_practice(home, secretaries=[secretary])
    peppered = create_app(services(app).settings)
    try:
        assert "secretary_pin_must_be_reset" not in caplog.text
        phone = TwilioEmulator(FlaskTransport(peppered.test_client()), AUTH_TOKEN, PUBLIC_BASE,
                               account_sid=ACCOUNT_SID)  # fmt: skip
        assert "Code incorrect" in line(phone, practice_number, pin="246811").text
        assert "Aucun patient en attente" in line(phone, practice_number, pin="246810").text
    finally:
        services(peppered).db.dispose()
    other_ring = KeyRing.generate()
    secretary["pin_hash"] = hash_pin("246810", other_ring)  # made for another instance
    write_practice(home, secretaries=[secretary])
    stranger = create_app(services(app).settings)
    try:
        assert "its key left the key ring" in caplog.text
        phone = TwilioEmulator(FlaskTransport(stranger.test_client()), AUTH_TOKEN, PUBLIC_BASE,
                               account_sid=ACCOUNT_SID)  # fmt: skip
        assert "Code incorrect" in line(phone, practice_number, pin="246810").text
    finally:
        services(stranger).db.dispose()


def test_an_older_unpeppered_pin_still_works_but_start_up_says_to_reset_it(app, caplog):
    """The test practice keeps an older hash (PIN 2468): accepted, and flagged at every start."""
    services(create_app(services(app).settings)).db.dispose()
    assert "secretary_pin_must_be_reset" in caplog.text and "sec-lea" in caplog.text
