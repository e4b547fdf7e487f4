"""Messages through the Twilio emulator with Twilio's transcription (``twilio`` engine)
and speech recognition (``speech``): stored encrypted, never lost, audio deleted at Twilio."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from callcenter.jobs import tasks as jobs
from callcenter.messages.models import Message
from callcenter.notify.models import Notice, RemoteDeletion
from tests.conftest import CALLER, services, set_clock
from tests.test_canary import dump, encodings
from tests.test_canary import rendered_logs as rendered_logs  # the fixture

SUNDAY_NIGHT = "2026-11-29T22:00:00+01:00"  # dr-bernard is on call
WORDS = "Bonjour, je voudrais renouveler mon ordonnance de Ventoline"
SECRET = "Ventoline"  # a word that must never be readable outside the message


def to_the_beep(twilio, number: str, caller: str = CALLER):
    """Menu 2, skip identification, accept the recording: the call waits on <Record>."""
    call = twilio.place_call(caller, number).press("2").press("*")
    assert "tapez étoile" in call.last_heard()  # the consent key comes first
    call.silence()
    assert call.waiting_for == "Record"
    return call


def messages(app) -> list[Message]:
    with services(app).db.session() as session:
        return list(session.scalars(select(Message)))


def the_message(app) -> Message:
    found = messages(app)
    assert len(found) == 1
    return found[0]


def deletion(app, sid: str) -> RemoteDeletion:
    with services(app).db.session() as session:
        return session.scalars(select(RemoteDeletion).where(RemoteDeletion.sid == sid)).one()


def sms_sent(fake_twilio) -> list:
    return [r for r in fake_twilio.requests if r.path.endswith("/Messages.json")]


# -- the twilio engine (the suite's default) --------------------------------------


def test_the_record_verb_asks_for_both_callbacks_and_a_bounded_message(
    app, twilio, practice_number
):
    """<Record> with maxLength, finishOnKey, a beep, the status and transcription callbacks."""
    call = to_the_beep(twilio, practice_number)
    record = call.waiting.verb
    assert record.get("maxLength") == "120" and record.get("finishOnKey") == "#"
    assert record.get("playBeep") == "true" and record.get("transcribe") == "true"
    assert record.get("recordingStatusCallback") == "/twilio/recording"
    assert record.get("transcribeCallback") == "/twilio/transcription"
    assert "raison de votre appel" in call.text


def test_the_transcript_after_the_recording_callback_is_stored_and_the_audio_deleted(
    app, twilio, practice_number, fake_twilio
):
    call = to_the_beep(twilio, practice_number).record(seconds=9, words=WORDS)
    sid = the_message(app).recording_sid
    assert the_message(app).status == "transcribing"
    assert call.deliver("recording") == [204]
    assert the_message(app).status == "transcribing" and fake_twilio.deletes() == []
    assert call.deliver("transcription") == [204]
    message = the_message(app)
    assert message.status == "transcribed" and message.transcript == WORDS
    assert message.transcribed_at is not None and message.callback_number == CALLER
    assert len(fake_twilio.deletes(sid)) == 1  # the audio, at once
    transcription_sid = call.delivered[-1].params["TranscriptionSid"]
    assert len(fake_twilio.deletes(transcription_sid)) == 1  # and Twilio's copy of the text
    assert deletion(app, sid).done_at is not None


def test_the_transcript_before_the_recording_callback_gives_the_same_single_message(
    app, twilio, practice_number, fake_twilio
):
    call = to_the_beep(twilio, practice_number).record(seconds=9, words=WORDS)
    assert call.deliver("transcription") == [204]
    assert call.deliver("recording") == [204]
    message = the_message(app)
    assert message.status == "transcribed" and message.transcript == WORDS
    assert len(fake_twilio.deletes(message.recording_sid)) == 1


def test_callbacks_that_come_before_the_record_action_create_the_message_once(
    app, twilio, practice_number
):
    """Twilio may send the callbacks first: the action then finds the message they made."""
    call = to_the_beep(twilio, practice_number)
    waiting = call.waiting
    call.record(seconds=7, words=WORDS)
    action_url, action_params = call.requests[-1]
    call.deliver()
    status, _ = twilio.post(action_url, action_params)  # the action again, after them
    assert status == 200
    message = the_message(app)
    assert message.status == "transcribed" and message.recording_duration == 7
    assert waiting.verb.tag == "Record"


def test_a_callback_twilio_retries_changes_nothing_twice(app, twilio, practice_number, fake_twilio):
    call = to_the_beep(twilio, practice_number).record(seconds=9, words=WORDS)
    call.deliver()
    assert call.redeliver("transcription") == 204
    assert call.redeliver("recording") == 204
    message = the_message(app)
    assert message.status == "transcribed" and message.transcript == WORDS
    assert len(fake_twilio.deletes(message.recording_sid)) == 1


def test_a_failed_transcription_keeps_the_message_marked_failed_and_deletes_the_audio(
    app, twilio, practice_number, fake_twilio
):
    call = to_the_beep(twilio, practice_number).record(seconds=9, transcription="failed")
    call.deliver()
    message = the_message(app)
    assert message.status == "transcription-failed" and message.transcript is None
    assert message.callback_number == CALLER  # the practice can still call back
    assert len(fake_twilio.deletes(message.recording_sid)) == 1


def test_hanging_up_during_the_recording_keeps_and_transcribes_the_message(
    app, twilio, practice_number
):
    call = to_the_beep(twilio, practice_number).record(seconds=6, finish="hangup", words=WORDS)
    assert call.ended
    call.deliver()
    message = the_message(app)
    assert message.status == "transcribed" and message.transcript == WORDS


def test_a_recording_too_short_to_hold_words_is_no_message_and_is_deleted(
    app, twilio, practice_number, fake_twilio
):
    call = to_the_beep(twilio, practice_number).record(seconds=1)
    assert "rien entendu" in call.last_heard() and call.waiting_for == "Gather"
    sid = call.requests[-1][1]["RecordingSid"]
    assert call.deliver("recording") == [204]
    assert messages(app) == []
    jobs.remote_deletions(services(app), services(app).clock.now())
    assert len(fake_twilio.deletes(sid)) == 1


def test_a_deletion_queued_by_a_voice_webhook_is_requested_right_after_its_answer(
    app, twilio, practice_number, fake_twilio
):
    """The voice webhook's unit of work asks for it as a callback's does: no wait for the worker."""
    call = to_the_beep(twilio, practice_number).record(seconds=1)
    sid = call.requests[-1][1]["RecordingSid"]
    assert len(fake_twilio.deletes(sid)) == 1
    assert deletion(app, sid).done_at is not None


def test_a_deletion_a_voice_webhook_could_not_request_is_left_to_the_worker(
    app, twilio, practice_number, fake_twilio
):
    fake_twilio.fail_next("/Recordings/", status=500)
    call = to_the_beep(twilio, practice_number).record(seconds=1)
    assert "rien entendu" in call.last_heard()  # the caller never notices
    sid = call.requests[-1][1]["RecordingSid"]
    assert deletion(app, sid).done_at is None
    set_clock(app, "2026-11-24T10:30:00+01:00")  # past the back-off
    assert jobs.remote_deletions(services(app), services(app).clock.now()).deleted == 1


def test_silence_after_the_beep_reprompts_then_ends_without_an_empty_message(
    app, twilio, practice_number
):
    call = to_the_beep(twilio, practice_number).silence()
    assert "rien entendu" in call.last_heard()
    call.silence().silence()
    assert "Aucun message" in call.last_heard() and call.ended
    assert messages(app) == []


def test_a_failed_delete_at_twilio_is_retried_until_done(app, twilio, practice_number, fake_twilio):
    fake_twilio.fail_next("/Recordings/", status=500)
    call = to_the_beep(twilio, practice_number).record(seconds=9, words=WORDS)
    call.deliver()
    sid = the_message(app).recording_sid
    row = deletion(app, sid)
    assert row.done_at is None and row.attempts == 1 and row.last_error == "http-500"
    svc = services(app)
    set_clock(app, "2026-11-24T10:30:00+01:00")  # past the back-off
    report = jobs.remote_deletions(svc, svc.clock.now())
    assert report.deleted == 1
    assert deletion(app, sid).done_at is not None
    assert len(fake_twilio.deletes(sid)) == 2  # the failed DELETE, then the one that worked


def test_an_urgent_intent_in_the_transcript_flags_the_message_and_tells_the_doctor(
    app, twilio, practice_number, fake_twilio
):
    set_clock(app, SUNDAY_NIGHT)
    call = twilio.place_call(CALLER, practice_number).press("2").press("*").silence()
    call.record(seconds=10, words="Mon mari a une douleur à la poitrine depuis ce soir")
    call.deliver()
    message = the_message(app)
    assert message.urgent and message.status == "transcribed"
    sms = sms_sent(fake_twilio)
    assert len(sms) == 1 and "message urgent" in sms[0].form["Body"]
    for secret in ("poitrine", "douleur", "612345678"):
        assert secret not in sms[0].form["Body"]


def test_a_message_left_in_the_urgent_flow_tells_the_doctor_at_once(
    app, twilio, practice_number, fake_twilio
):
    set_clock(app, SUNDAY_NIGHT)
    call = twilio.place_call(CALLER, practice_number).press("9").no_answer()
    call.silence().record(seconds=8, words=WORDS)  # no refusal, then the message
    message = the_message(app)
    assert message.urgent  # before any transcript
    with services(app).db.session() as session:
        kinds = sorted(n.kind for n in session.scalars(select(Notice)))
    assert kinds == ["urgent-call", "urgent-message"]
    assert len(sms_sent(fake_twilio)) == 2
    call.deliver()
    assert len(sms_sent(fake_twilio)) == 2  # the transcript sends nothing twice


def test_refusing_offers_the_speech_only_path(app, twilio, practice_number):
    call = twilio.place_call(CALLER, practice_number).press("2").press("*").press("*")
    assert "ne sera pas enregistré" in call.last_heard()
    call.say(WORDS)
    message = the_message(app)
    assert message.recording_sid is None and message.engine == "speech"
    assert message.status == "transcribed" and message.transcript == WORDS


def test_refusing_offers_a_person_too(app, twilio, practice_number):
    call = twilio.place_call(CALLER, practice_number).press("2").press("*").press("*")
    assert "secrétariat, tapez 3" in call.last_heard()
    call.press("3")
    assert call.waiting_for == "Dial" and call.dial_numbers() == ["+33612000001"]
    assert messages(app) == []


def test_callbacks_for_unknown_calls_or_recordings_are_accepted_and_ignored(twilio):
    for path in ("/twilio/recording", "/twilio/transcription", "/twilio/realtime?ref=x"):
        status, _ = twilio.post(
            twilio.url(path),
            {"CallSid": "CA" + "e" * 32, "RecordingSid": "RE" + "e" * 32,
             "RecordingStatus": "completed", "TranscriptionStatus": "completed",
             "TranscriptionText": "x", "TranscriptionEvent": "transcription-stopped"},
        )  # fmt: skip
        assert status == 204


def test_an_unsigned_callback_is_refused(app):
    response = app.test_client().post("/twilio/transcription", data={"CallSid": "CA" + "e" * 32})
    assert response.status_code == 403


def test_no_transcript_word_reaches_the_raw_database_or_the_logs(
    app, twilio, practice_number, rendered_logs
):
    call = to_the_beep(twilio, practice_number).record(seconds=9, words=WORDS)
    call.deliver()
    call.redeliver("transcription")
    assert the_message(app).transcript == WORDS
    with services(app).db.session() as session:  # raw SQL: the column holds ciphertext
        raw = session.execute(text("SELECT transcript FROM messages")).scalar_one()
    assert SECRET.encode() not in bytes(raw)
    blob = dump(app)
    assert not any(form in blob for form in encodings(SECRET))
    output = rendered_logs.getvalue()
    assert '"event": "message_transcribed"' in output
    assert not any(form in output.encode() for form in encodings(SECRET))


# -- the speech engine (the shipped policy's) --------------------------------------


class TestSpeechEngine:
    @pytest.fixture
    def transcription_engine(self) -> str:
        return "speech"

    def test_the_message_is_gathered_by_speech_with_no_record_verb(
        self, app, twilio, practice_number
    ):
        call = twilio.place_call(CALLER, practice_number).press("2").press("*")
        assert "sans enregistrement" in call.last_heard()
        assert call.waiting_for == "Gather"
        # Speech for the message, and keys only so that 9 reaches the urgent route.
        assert call.waiting.verb.get("input") == "dtmf speech"
        assert call.waiting.verb.get("numDigits") == "1"
        assert call.waiting.verb.get("language") == "fr-FR"
        call.say(WORDS)
        assert "bien été transmis" in call.last_heard()
        call.press("1")
        assert call.ended
        message = the_message(app)
        assert message.recording_sid is None and message.status == "transcribed"
        assert message.transcript == WORDS and message.callback_requested
        assert not any("RecordingSid" in params for _, params in call.requests)

    def test_silence_twice_leaves_no_message(self, app, twilio, practice_number):
        call = twilio.place_call(CALLER, practice_number).press("2").press("*")
        call.silence().silence()
        assert "Aucun message" in call.last_heard() and call.ended
        assert messages(app) == []

    def test_a_retried_speech_answer_stores_one_message(self, app, twilio, practice_number):
        call = twilio.place_call(CALLER, practice_number).press("2").press("*").say(WORDS)
        status, _ = twilio.post(*call.requests[-1])
        assert status == 200
        assert the_message(app).transcript == WORDS
