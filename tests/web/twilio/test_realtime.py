"""The ``realtime`` engine through the emulator: Twilio's real-time transcription events,
in any order and retried, become one encrypted message; no audio is ever recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from callcenter.messages import realtime
from callcenter.messages.models import TranscriptPart
from tests.conftest import CALLER, services, set_clock
from tests.web.twilio.test_messages import messages, the_message

FIRST, SECOND = "Bonjour, c'est pour une ordonnance", "de Doliprane pour ma fille"


@pytest.fixture
def transcription_engine() -> str:
    return "realtime"


def speaking(twilio, number: str):
    """Menu 2, skip identification, accept: real-time transcription runs while the caller talks."""
    call = twilio.place_call(CALLER, number).press("2").press("*")
    assert "tapez étoile" in call.last_heard()  # the consent key comes first
    call.silence()
    assert call.waiting_for == "Gather" and call.transcribing is not None
    return call


def parts(app) -> int:
    with services(app).db.session() as session:
        return session.scalar(select(func.count()).select_from(TranscriptPart))


def test_transcription_starts_in_french_on_the_caller_side_only(app, twilio, practice_number):
    call = speaking(twilio, practice_number)
    url, name = call.transcribing
    assert url.startswith("https://cc.example.test/twilio/realtime?ref=") and name
    gather = call.waiting.verb
    assert gather.get("input") == "dtmf" and gather.get("timeout") == "120"
    status, body = twilio.replay()  # the answer that started it, as a retry gets it
    assert status == 200
    assert 'languageCode="fr-FR"' in body and 'track="inbound_track"' in body
    assert 'statusCallbackUrl="https://cc.example.test/twilio/realtime?ref=' in body
    assert "<Record" not in body
    assert not any("RecordingSid" in params for _, params in call.requests)


def test_the_words_become_one_message_once_the_transcription_stops(app, twilio, practice_number):
    call = speaking(twilio, practice_number).speak(FIRST).speak(SECOND)
    call.press("#")
    assert "bien été transmis" in call.last_heard()
    assert the_message(app).status == "transcribing"
    assert all(status == 204 for status in call.deliver())
    message = the_message(app)
    assert message.status == "transcribed" and message.engine == "realtime"
    assert message.transcript == f"{FIRST} {SECOND}" and message.recording_sid is None
    assert parts(app) == 0  # the pieces are gone once assembled


def test_events_delivered_before_the_caller_finishes_are_assembled_when_they_do(
    app, twilio, practice_number
):
    call = speaking(twilio, practice_number).speak(FIRST)
    call.deliver()  # started and the words arrive during the message
    call.press("#").deliver()  # then the stop
    assert the_message(app).transcript == FIRST


def test_a_stop_that_overtakes_the_words_waits_for_them(app, twilio, practice_number):
    call = speaking(twilio, practice_number).speak(FIRST).speak(SECOND).press("#")
    call.callbacks.reverse()  # stopped first, then the words in reverse order
    call.deliver()
    message = the_message(app)
    assert message.status == "transcribed" and message.transcript == f"{FIRST} {SECOND}"


def test_retried_events_store_every_word_once(app, twilio, practice_number):
    call = speaking(twilio, practice_number).speak(FIRST).speak(SECOND).press("#")
    call.deliver("realtime")
    for callback in list(call.delivered):
        assert twilio.post(callback.url, callback.params)[0] == 204
    assert [m.transcript for m in messages(app)] == [f"{FIRST} {SECOND}"]


def test_hanging_up_mid_message_keeps_what_was_said(app, twilio, practice_number):
    call = speaking(twilio, practice_number).speak(FIRST).hangup()
    assert call.ended
    call.deliver()  # the call's end stops the transcription
    message = the_message(app)
    assert message.status == "transcribed" and message.transcript == FIRST
    assert message.callback_number == CALLER


def test_hanging_up_in_silence_leaves_no_empty_message(app, twilio, practice_number):
    call = speaking(twilio, practice_number).hangup()
    call.deliver()
    assert messages(app) == [] and parts(app) == 0


def test_silence_until_the_timeout_reprompts(app, twilio, practice_number):
    call = speaking(twilio, practice_number).silence()
    assert "rien entendu" in call.last_heard()
    assert messages(app) == []


def test_a_transcription_error_marks_the_message_failed_but_keeps_it(app, twilio, practice_number):
    call = speaking(twilio, practice_number).transcription_error().press("#")
    call.deliver()
    message = the_message(app)
    assert message.status == "transcription-failed" and message.callback_number == CALLER


def test_a_stop_that_never_comes_is_swept_later(app, twilio, practice_number):
    call = speaking(twilio, practice_number).speak(FIRST).press("#")
    lost = [c for c in call.callbacks if c.params["TranscriptionEvent"].endswith("stopped")]
    call.callbacks.remove(lost[0])  # Twilio never sends the stop
    call.deliver()
    assert the_message(app).status == "transcribing"
    svc = services(app)
    assert realtime.sweep(svc.db, svc.messages.lookup, svc.clock.now()) == 0  # not stale yet
    later = svc.clock.now() + timedelta(minutes=11)
    assert realtime.sweep(svc.db, svc.messages.lookup, later) == 1
    message = the_message(app)
    assert message.status == "transcribed" and message.transcript == FIRST
    assert parts(app) == 0


def test_an_urgent_intent_heard_in_real_time_tells_the_doctor(
    app, twilio, practice_number, fake_twilio
):
    set_clock(app, "2026-11-29T22:00:00+01:00")
    call = twilio.place_call(CALLER, practice_number).press("2").press("*").silence()
    call.speak("il saigne beaucoup").press("#").deliver()
    assert the_message(app).urgent
    assert len([r for r in fake_twilio.requests if r.path.endswith("/Messages.json")]) == 1


def test_the_words_waiting_for_the_stop_are_encrypted_in_the_database(app, twilio, practice_number):
    call = speaking(twilio, practice_number).speak("rhododendron")
    call.deliver()  # the words are stored, the transcription still runs
    assert parts(app) == 1
    with services(app).db.session() as session:
        raw = session.execute(text("SELECT text FROM transcript_parts")).scalar_one()
    assert b"rhododendron" not in bytes(raw)
