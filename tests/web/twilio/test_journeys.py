"""Whole calls through the Twilio emulator, as a caller would live them."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from callcenter.calls.models import Call, CallStep
from callcenter.messages.models import Message
from tests.conftest import CALLER, create_tables, services, set_clock


def stored_call(app: Flask, sid: str) -> Call:
    with services(app).db.session() as session:
        return session.scalars(select(Call).where(Call.call_sid == sid)).one()


def test_the_caller_hears_the_greeting_notice_and_menu_in_french(twilio, practice_number):
    """The first answer names the practice, reads the notice and offers keys 1-3 and 9."""
    call = twilio.place_call(CALLER, practice_number)
    assert "cabinet médical des Tilleuls" in call.heard[0]
    assert "15 ou le 112" in call.text
    assert "tapez 1" in call.text and "tapez 9" in call.text
    assert call.waiting_for == "Gather"


def test_every_say_carries_the_practice_language_and_voice(twilio, practice_number):
    """The emulator refuses a Say without language; here we check the configured voice."""
    twilio.place_call(CALLER, practice_number)
    status, body = twilio.replay()
    assert status == 200
    assert 'language="fr-FR"' in body and 'voice="Polly.Lea-Neural"' in body


def test_pressing_3_rings_the_secretary_who_accepts_with_1(app, twilio, practice_number):
    """The whisper names the practice first and the reason, never the caller's number."""
    call = twilio.place_call(CALLER, practice_number)
    call.press("3")
    assert call.waiting_for == "Dial"
    assert call.dial_numbers() == ["+33612000001"]
    call.answer(press="1")
    assert call.ended
    whisper = " ".join(call.whispers)
    assert whisper.startswith("Appel pour le cabinet médical des Tilleuls")
    assert "secrétariat" in whisper and "tapez 1" in whisper
    assert "612345678" not in whisper
    row = stored_call(app, call.sid)
    assert row.outcome == "transferred" and row.status == "completed"
    assert row.ended_at is not None


def test_a_secretary_who_does_not_press_1_leaves_the_caller_to_a_message(
    app, twilio, practice_number
):
    """A voicemail or a refusal never takes the call: the caller may leave a message."""
    call = twilio.place_call(CALLER, practice_number).press("3")
    call.answer(press=None)
    assert "ne peut pas vous répondre" in call.last_heard()
    call.press("*")  # a new caller skips identification
    assert "tapez étoile" in call.last_heard()  # the recording can be refused
    call.silence()
    assert call.waiting_for == "Record"
    call.record(seconds=12)
    assert "message a bien été transmis" in call.last_heard()
    call.press("1")  # the practice may call back
    assert "vous rappellera" in call.last_heard() and call.ended
    row = stored_call(app, call.sid)
    assert row.outcome == "message"
    with services(app).db.session() as session:
        message = session.scalars(select(Message)).one()
        assert message.call_id == row.id and message.recording_sid.startswith("RE")
        assert message.recording_duration == 12
        assert message.callback_number == CALLER  # decrypted through the model
        assert message.callback_requested


def test_nobody_answering_leads_to_a_message(twilio, practice_number):
    call = twilio.place_call(CALLER, practice_number).press("3").no_answer()
    # Said before anything is asked: nobody can answer, a message can be left.
    heard = call.last_heard()
    assert heard.index("ne peut pas vous répondre") < heard.index("laisser un message")
    assert heard.index("laisser un message") < heard.index("date de naissance")
    call.press("*")  # skips identification
    assert call.silence().waiting_for == "Record"


def test_silence_in_the_menu_reprompts_then_reaches_a_person(twilio, practice_number):
    """Two silences: the menu once more, then the secretaries; never a loop, never cut off."""
    call = twilio.place_call(CALLER, practice_number)
    call.silence()
    assert "pas entendu" in call.last_heard() and "tapez 1" in call.last_heard()
    call.silence()
    assert call.waiting_for == "Dial"
    assert "mettons en relation avec le secrétariat" in call.last_heard()


def test_a_wrong_key_then_silence_still_asks_once_more(twilio, practice_number):
    call = twilio.place_call(CALLER, practice_number).press("7").silence()
    assert call.waiting_for == "Gather" and "pas entendu" in call.last_heard()


def test_silence_twice_in_the_closed_menu_says_a_message_can_be_left(app, twilio, practice_number):
    """At night the menu gives way to a message, said so before the identification."""
    set_clock(app, "2026-11-29T22:00:00+01:00")
    call = twilio.place_call(CALLER, practice_number).silence()
    assert "pas entendu" in call.last_heard()
    call.silence()
    heard = call.last_heard()
    assert heard.index("Vous pouvez laisser un message") < heard.index("date de naissance")


def test_a_wrong_key_is_named_as_not_understood(twilio, practice_number):
    call = twilio.place_call(CALLER, practice_number).press("7")
    assert "pas compris" in call.last_heard()
    assert call.waiting_for == "Gather"


def test_saying_rendez_vous_chooses_the_appointment_branch(app, twilio, practice_number):
    call = twilio.place_call(CALLER, practice_number).say("je voudrais un rendez-vous")
    call.press("*")  # skips identification
    assert call.waiting_for == "Dial"
    assert stored_call(app, call.sid).state["transfer_reason"] == "appointment"


def test_urgent_by_speech_gives_advice_first_and_flags_the_call(app, twilio, practice_number):
    """'Douleur à la poitrine' jumps to urgent: 15/112/114 advice, then a person."""
    call = twilio.place_call(CALLER, practice_number)
    call.say("Mon mari a une douleur à la poitrine")
    heard = call.last_heard()
    assert "15 ou le 112" in heard and "114" in heard
    assert call.waiting_for == "Dial"
    call.answer(press="1")
    assert "Appel urgent." in call.whispers
    assert stored_call(app, call.sid).urgent is True


def test_urgent_by_key_9(app, twilio, practice_number):
    call = twilio.place_call(CALLER, practice_number).press("9")
    assert "114" in call.last_heard()
    assert stored_call(app, call.sid).urgent is True


def test_closed_hours_say_when_the_practice_reopens_and_keep_urgent_and_messages(
    app, twilio, practice_number
):
    """Sunday night: closed, reopening tomorrow 8:30; 1 (appointments), 2 (message), 9 (urgent)."""
    set_clock(app, "2026-11-29T22:00:00+01:00")
    call = twilio.place_call(CALLER, practice_number)
    assert "actuellement fermé" in call.text
    assert "Il rouvrira demain à 8 h 30." in call.text
    assert "tapez 9" in call.text and "rendez-vous, tapez 1" in call.text
    assert "tapez 3" not in call.text  # no secretariat at night
    call.press("2").press("*")  # '*' skips identification
    assert call.silence().waiting_for == "Record"


def test_a_public_holiday_is_announced(app, twilio, practice_number):
    """Christmas Day (a French public holiday) on a Friday."""
    set_clock(app, "2026-12-25T10:00:00+01:00")
    call = twilio.place_call(CALLER, practice_number)
    assert "jour férié" in call.text


def test_the_lunch_break_is_announced(app, twilio, practice_number):
    set_clock(app, "2026-11-24T13:00:00+01:00")
    call = twilio.place_call(CALLER, practice_number)
    assert "en pause" in call.text and "Il reprendra cet après-midi à 14 h." in call.text
    assert "mardi 24 novembre" not in call.text  # the same day is not named as another


def test_a_message_with_silence_twice_ends_politely_without_a_message(app, twilio, practice_number):
    call = twilio.place_call(CALLER, practice_number).press("2").press("*")  # no identification
    call.silence().silence()  # no refusal, then nothing said after the beep
    assert "rien entendu" in call.last_heard()
    call.silence().silence()
    assert "Aucun message" in call.last_heard() and call.ended
    assert stored_call(app, call.sid).outcome == "no-message"


def test_hanging_up_during_the_recording_keeps_the_message(app, twilio, practice_number):
    call = twilio.place_call(CALLER, practice_number).press("2").press("*").silence()
    call.record(seconds=6, finish="hangup")
    row = stored_call(app, call.sid)
    assert row.outcome == "message" and row.status == "completed"


def test_an_unknown_called_number_gets_a_polite_closing_message(twilio):
    call = twilio.place_call(CALLER, "+33184889999")
    assert "n'est pas attribué" in call.text and call.ended
    assert not call.application_error


def test_two_practices_on_one_server_are_each_reached_by_their_own_number(settings):
    """Each number selects its practice, its name and its secretaries."""
    from callcenter.phone.emulator import FlaskTransport, TwilioEmulator
    from callcenter.web.app import create_app
    from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_BASE, write_practice

    write_practice(
        settings.home,
        id="second",
        name="cabinet du Port",
        number="+33491000000",
        secretaries=[{"id": "s2", "name": "Marc", "phone": "+33612000002"}],
    )
    app = create_app(settings)
    create_tables(services(app).db)
    twilio = TwilioEmulator(
        FlaskTransport(app.test_client()), AUTH_TOKEN, PUBLIC_BASE, account_sid=ACCOUNT_SID
    )
    first = twilio.place_call(CALLER, "+33184880000")
    second = twilio.place_call(CALLER, "04 91 00 00 00")
    assert "Tilleuls" in first.heard[0] and "cabinet du Port" in second.heard[0]
    second.press("3")
    assert second.dial_numbers() == ["+33612000002"]
    second.answer()
    assert second.whispers[0] == "Appel pour le cabinet du Port."
    assert stored_call(app, second.sid).practice_id == "second"
    services(app).db.dispose()


def test_the_same_gather_posted_twice_gives_the_same_answer_and_one_state_change(
    app, twilio, practice_number
):
    """Twilio retries: the replayed request finds the first answer, nothing moves twice."""
    call = twilio.place_call(CALLER, practice_number)
    call.press("7")  # a wrong key counts one re-prompt attempt
    before = stored_call(app, call.sid)
    status, body = twilio.replay()
    assert status == 200
    after = stored_call(app, call.sid)
    assert after.seq == before.seq and after.state == before.state
    assert after.state["attempts"] == {"main.menu_open": 1}
    with services(app).db.session() as session:
        steps = session.scalar(
            select(func.count()).select_from(CallStep).where(CallStep.call_id == after.id)
        )
        assert steps == 2
        first_answer = (
            session.scalars(select(CallStep).where(CallStep.call_id == after.id, CallStep.seq == 1))
            .one()
            .twiml
        )
    assert body == first_answer


def test_a_retried_incoming_call_creates_one_call(app, twilio, practice_number):
    call = twilio.place_call(CALLER, practice_number)
    first = call.requests[0]
    status, body = twilio.post(*first)
    assert status == 200 and "Tilleuls" in body
    with services(app).db.session() as session:
        assert session.scalar(select(func.count()).select_from(Call)) == 1


def test_a_late_or_repeated_status_callback_changes_nothing(app, twilio, practice_number):
    call = twilio.place_call(CALLER, practice_number).press("3").answer()
    ended = stored_call(app, call.sid).ended_at
    set_clock(app, "2026-11-24T11:00:00+01:00")
    status, _ = twilio.post(
        twilio.url("/twilio/status"), {"CallSid": call.sid, "CallStatus": "completed"}
    )
    assert status == 204
    assert stored_call(app, call.sid).ended_at == ended


def test_a_status_callback_for_an_unknown_call_is_accepted_and_ignored(twilio):
    status, _ = twilio.post(
        twilio.url("/twilio/status"), {"CallSid": "CA" + "f" * 32, "CallStatus": "completed"}
    )
    assert status == 204


def test_refusing_the_recording_takes_the_message_by_speech_with_no_audio(
    app, twilio, practice_number
):
    """The key to refuse recording is offered before the beep: no <Record> follows it."""
    call = twilio.place_call(CALLER, practice_number)
    assert "étoile" not in call.text  # the opening promises no key a menu uses otherwise
    call.press("2").press("*")  # skips identification
    assert "Pour refuser l'enregistrement, tapez étoile maintenant." in call.last_heard()
    call.press("*")  # refuses the recording
    assert "ne sera pas enregistré" in call.last_heard()
    assert call.waiting_for == "Gather"
    call.say("Bonjour, merci de me rappeler pour mon ordonnance")
    assert "bien été transmis" in call.last_heard()
    call.silence()  # no call-back asked
    assert call.ended
    assert not any("RecordingSid" in params for _, params in call.requests)
    with services(app).db.session() as session:
        message = session.scalars(select(Message)).one()
        assert message.recording_sid is None and message.status == "transcribed"
        assert message.transcript == "Bonjour, merci de me rappeler pour mon ordonnance"
    assert stored_call(app, call.sid).state["recording_refused"] is True


def test_a_speech_message_with_silence_twice_ends_without_a_message(twilio, practice_number):
    call = twilio.place_call(CALLER, practice_number).press("2").press("*")  # no identification
    call.press("*")  # refuses the recording
    call.silence().silence()
    assert "Aucun message" in call.last_heard() and call.ended


def test_too_many_calls_from_one_number_in_a_minute_are_turned_away_with_the_advice(
    app, twilio, practice_number
):
    for _ in range(10):  # the demo practice allows 10 a minute (the clock is frozen)
        assert twilio.place_call("+33699887766", practice_number).waiting_for == "Gather"
    turned = twilio.place_call("+33699887766", practice_number)
    assert turned.ended and "15 ou le 112" in turned.text and "trop d'appels" in turned.text
    assert stored_call(app, turned.sid).outcome == "throttled"
    # Another number is not affected, even one sharing the blind-index bucket.
    svc = services(app)
    practice = svc.practices.by_id("demo")

    def bucket(number: str) -> int | None:
        return svc.cipher.phone_index(number, practice="demo", bits=practice.blind_index_bits)

    twin = next(n for n in (f"+336{i:08d}" for i in range(1, 100_000))
                if bucket(n) == bucket("+33699887766"))  # fmt: skip
    assert twilio.place_call(twin, practice_number).waiting_for == "Gather"
    set_clock(app, "2026-11-24T10:01:01+01:00")  # a minute later
    assert twilio.place_call("+33699887766", practice_number).waiting_for == "Gather"


def test_calls_dated_after_now_do_not_count_towards_the_limit(app, twilio, practice_number):
    """A demo placing calls with an earlier --at than before is not turned away."""
    set_clock(app, "2026-11-24T10:05:00+01:00")
    for _ in range(10):
        twilio.place_call("+33699887766", practice_number)
    set_clock(app, "2026-11-24T10:04:30+01:00")  # before every one of them
    again = twilio.place_call("+33699887766", practice_number)
    assert "trop d'appels" not in again.text and again.waiting_for == "Gather"


def test_the_lunch_break_on_a_monday_says_this_afternoon(app, twilio, practice_number):
    set_clock(app, "2026-12-07T13:00:00+01:00")  # Monday 7 December
    call = twilio.place_call(CALLER, practice_number)
    assert "Il reprendra cet après-midi à 14 h." in call.text
    assert "lundi 7 décembre" not in call.text


def test_a_withheld_caller_is_offered_the_number_keyed_read_in_pairs(app, twilio, practice_number):
    call = twilio.place_call("anonymous", practice_number).press("2").press("0612345678")
    call.press("*").silence().record(seconds=5)
    heard = call.last_heard()
    assert "vous rappelle au 06 12 34 56 78, tapez 1" in heard
    assert "d'où vous appelez" not in heard


def test_words_mean_one_thing(twilio, practice_number):
    """Register is "créer votre fiche", record is "enregistrer", no gendered participle."""
    call = twilio.place_call(CALLER, practice_number).press("2")
    assert "Pour créer votre fiche" in call.last_heard()
    call.press("15031980").say("Dupont Jean")
    heard = call.last_heard()
    assert "Merci, votre fiche est créée." in heard
    assert "enregistré." not in heard and "identifié" not in heard
