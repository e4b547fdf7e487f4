"""The ``local`` engine through the emulator: the recording is fetched from the (fake) REST
API, transcribed on this machine by a registered backend, stored, then deleted at Twilio."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from callcenter.jobs import tasks as jobs
from callcenter.messages.transcribers import MAX_ATTEMPTS, load_transcriber
from tests.conftest import CALLER, services, set_clock
from tests.fake_transcriber import text_wav
from tests.web.twilio.test_messages import messages, the_message, to_the_beep

WORDS = "Je voudrais un certificat pour la piscine de ma fille"


@pytest.fixture
def transcription_engine() -> str:
    return "local"


def transcribe(app):
    svc = services(app)
    return jobs.transcribe_local(svc, svc.clock.now())


def fetches(fake_twilio, sid: str) -> list:
    return [r for r in fake_twilio.requests if r.method == "GET" and sid in r.path]


def test_the_record_verb_asks_for_the_status_callback_and_no_twilio_transcription(
    twilio, practice_number
):
    record = to_the_beep(twilio, practice_number).waiting.verb
    assert record.get("recordingStatusCallback") == "/twilio/recording"
    assert record.get("transcribe") is None and record.get("transcribeCallback") is None


def test_a_recording_is_fetched_transcribed_here_stored_and_deleted_at_twilio(
    app, twilio, practice_number, fake_twilio, tmp_path: Path
):
    fake_twilio.default_audio = text_wav(WORDS)
    call = to_the_beep(twilio, practice_number).record(seconds=9)
    assert the_message(app).status == "recorded"  # the audio is not ready before its callback
    assert transcribe(app).transcribed == 0
    call.deliver("recording")
    assert the_message(app).status == "transcribing"
    report = transcribe(app)
    assert report.transcribed == 1
    message = the_message(app)
    assert message.status == "transcribed" and message.transcript == WORDS
    assert message.callback_number == CALLER
    assert len(fetches(fake_twilio, message.recording_sid)) == 1
    assert len(fake_twilio.deletes(message.recording_sid)) == 1
    # Held in memory only: no audio file was left anywhere in the instance or the test folder.
    assert [p for p in tmp_path.rglob("*") if p.suffix in (".wav", ".mp3")] == []
    assert transcribe(app).transcribed == 0  # nothing twice


def test_a_recording_twilio_will_not_hand_over_is_retried_then_failed(
    app, twilio, practice_number, fake_twilio
):
    fake_twilio.default_audio = text_wav(WORDS)
    fake_twilio.fail_next(".wav", times=MAX_ATTEMPTS, status=503)
    to_the_beep(twilio, practice_number).record(seconds=9).deliver("recording")
    for _ in range(MAX_ATTEMPTS - 1):
        assert transcribe(app).retry == 1
        assert the_message(app).status == "transcribing"
    assert transcribe(app).failed == 1
    message = the_message(app)
    assert message.status == "transcription-failed" and message.callback_number == CALLER
    assert len(fake_twilio.deletes(message.recording_sid)) == 1


def test_a_backend_that_cannot_read_the_audio_fails_the_message_without_losing_it(
    app, twilio, practice_number, fake_twilio
):
    fake_twilio.default_audio = b"not a wav file"
    to_the_beep(twilio, practice_number).record(seconds=9).deliver("recording")
    assert transcribe(app).failed == 1
    message = the_message(app)
    assert message.status == "transcription-failed"
    assert len(fake_twilio.deletes(message.recording_sid)) == 1


def test_hanging_up_mid_message_is_transcribed_all_the_same(
    app, twilio, practice_number, fake_twilio
):
    fake_twilio.default_audio = text_wav(WORDS)
    call = to_the_beep(twilio, practice_number).record(seconds=5, finish="hangup")
    call.deliver()
    call.redeliver("recording")  # Twilio retries: still one message
    assert transcribe(app).transcribed == 1
    assert [m.transcript for m in messages(app)] == [WORDS]


def test_an_urgent_transcript_tells_the_doctor_on_call(app, twilio, practice_number, fake_twilio):
    set_clock(app, "2026-11-29T22:00:00+01:00")
    fake_twilio.default_audio = text_wav("mon fils est inconscient")
    call = twilio.place_call(CALLER, practice_number).press("2").press("*").silence()
    call.record(seconds=6).deliver()
    transcribe(app)
    assert the_message(app).urgent
    assert services(app).send_notices().sent == 1  # the worker sends it right after
    assert any(r.path.endswith("/Messages.json") for r in fake_twilio.requests)


VOSK_MODEL = os.environ.get("CALLCENTER_TEST_VOSK_MODEL")


NO_MODEL = "no Vosk model: set CALLCENTER_TEST_VOSK_MODEL to a model folder holding a test.wav"


@pytest.mark.skipif(not VOSK_MODEL, reason=NO_MODEL + " (and pip install vosk)")
def test_the_vosk_backend_transcribes_a_real_recording():
    """Model-dependent: a real model on a WAV the administrator provides beside it."""
    backend = load_transcriber("vosk", VOSK_MODEL)
    sample = Path(str(VOSK_MODEL)) / "test.wav"
    if not sample.exists():
        pytest.skip(f"no {sample} to transcribe")
    assert backend.transcribe(sample.read_bytes(), "fr-FR").strip()
