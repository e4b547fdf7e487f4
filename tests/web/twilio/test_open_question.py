"""The open first question through the emulator: the caller says what they want.

The clock is Tuesday 24 November 2026, 10:00 in Paris (tests.conftest).
"""

from __future__ import annotations

from sqlalchemy import select

from callcenter.messages.models import Message
from callcenter.phone.emulator import PhoneCall, TwilioEmulator
from tests.conftest import CALLER, services, set_clock
from tests.ivr.test_identify import DOB, seed
from tests.web.twilio.test_barge_in import on_the_urgent_route


def asked(twilio: TwilioEmulator, number: str, words: str) -> PhoneCall:
    call = twilio.place_call(CALLER, number)
    assert "Dites en quelques mots ce que vous souhaitez" in call.last_heard()
    assert "annuler ou déplacer un rendez-vous, tapez 1" in call.last_heard()
    return call.say(words)


def test_a_doctor_and_a_day_said_at_once_offer_that_doctors_slots_that_day(
    app, twilio, practice_number
):
    seed(app, "1980-03-15")
    words = "je voudrais un rendez-vous avec le docteur bernard vendredi après midi"
    call = asked(twilio, practice_number, words).press(DOB)  # identification first
    heard = call.last_heard()
    assert "docteur Bernard" in heard and "Pour prendre un rendez-vous, tapez 1" not in heard
    assert "Le vendredi 27 novembre à 14 h : tapez 1" in heard
    call.press("1").press("1")
    assert "confirmé le vendredi 27 novembre à 14 h avec le docteur Bernard" in call.last_heard()


def test_a_day_without_slots_offers_the_nearest_after_and_says_so(app, twilio, practice_number):
    seed(app, "1980-03-15")
    words = "un rendez-vous avec le docteur bernard jeudi après-midi"
    heard = asked(twilio, practice_number, words).press(DOB).last_heard()
    assert "pas de créneau libre à ce moment-là" in heard
    assert "Le vendredi 27 novembre à 14 h : tapez 1" in heard


def test_a_day_without_a_doctor_asks_the_doctor_then_keeps_the_day(app, twilio, practice_number):
    seed(app, "1980-03-15")
    call = asked(twilio, practice_number, "un rendez-vous jeudi matin").press(DOB)
    assert "Pour la docteure Martin, tapez 1" in call.last_heard()
    call.press("1")
    assert "Le jeudi 26 novembre à 9 h : tapez 1" in call.last_heard()


def test_a_plain_appointment_request_keeps_the_appointment_menu(app, twilio, practice_number):
    seed(app, "1980-03-15")
    call = asked(twilio, practice_number, "je voudrais un rendez-vous").press(DOB)
    assert "Pour prendre un rendez-vous, tapez 1" in call.last_heard()


def test_hours_are_answered_from_the_practice_file_then_the_menu(app, twilio, practice_number):
    call = asked(twilio, practice_number, "vous êtes ouverts jusqu'à quelle heure")
    heard = call.last_heard()
    assert "Aujourd'hui, le cabinet est ouvert de 8 h 30 à 12 h 30 et de 14 h à 19 h" in heard
    assert "tapez 1" in heard and call.waiting_for == "Gather"


def test_the_address_is_read_as_the_practice_wrote_it(app, twilio, practice_number):
    call = asked(twilio, practice_number, "quelle est votre adresse")
    heard = call.last_heard()
    assert "Le cabinet se trouve au 12 rue des Tilleuls à Paris, au rez-de-chaussée." in heard
    call.press("2")  # keys always work after the answer
    assert "tapez 1" not in call.last_heard() or "message" in call.last_heard()


def test_a_life_threatening_sign_in_a_booking_request_reaches_the_urgent_route(
    app, twilio, practice_number
):
    words = "je voudrais un rendez-vous avec le docteur martin j'ai très mal à la poitrine"
    call = asked(twilio, practice_number, words)
    on_the_urgent_route(app, call)


def test_not_understood_twice_gives_the_keypad_menu_whose_keys_work(app, twilio, practice_number):
    call = asked(twilio, practice_number, "euh bah la chose là")
    assert "Redites-le autrement" in call.last_heard()
    call.say("le truc machin")
    assert "Dites en quelques mots" not in call.last_heard()
    assert "Pour prendre, annuler ou déplacer un rendez-vous, tapez 1" in call.last_heard()
    seed(app, "1980-03-15")
    call.press("1").press(DOB)
    assert "Pour prendre un rendez-vous, tapez 1" in call.last_heard()


# -- the same understanding in the appointment questions ------------------------------------
def at_the_doctor_question(twilio: TwilioEmulator, number: str) -> PhoneCall:
    call = twilio.place_call(CALLER, number).press("1").press(DOB).press("1")
    assert "Pour la docteure Martin, tapez 1" in call.last_heard()
    return call


def test_the_doctor_question_takes_a_doctor_and_a_day_in_one_sentence(app, twilio, practice_number):
    seed(app, "1980-03-15")
    call = at_the_doctor_question(twilio, practice_number)
    call.say("plutôt la docteur martine jeudi matin")
    assert "Le jeudi 26 novembre à 9 h : tapez 1" in call.last_heard()


def test_a_slot_is_chosen_by_its_time(app, twilio, practice_number):
    seed(app, "1980-03-15")
    call = at_the_doctor_question(twilio, practice_number).press("1")
    assert "Le mardi 24 novembre à 14 h 20 : tapez 2" in call.last_heard()
    call.say("celui de 14 h 20")
    assert "Vous avez choisi le mardi 24 novembre à 14 h 20" in call.last_heard()


def test_the_slots_question_takes_another_day_and_half_day(app, twilio, practice_number):
    seed(app, "1980-03-15")
    call = at_the_doctor_question(twilio, practice_number).press("1")
    call.say("non plutôt lundi prochain l'après-midi")
    assert "Le lundi 30 novembre à 14 h : tapez 1" in call.last_heard()


def test_late_when_closed_leaves_a_message_tagged_late(app, twilio, practice_number):
    set_clock(app, "2026-11-29T21:00:00+01:00")  # Sunday night: booking only
    seed(app, "1980-03-15")
    call = asked(twilio, practice_number, "je vais être en retard pour mon rendez-vous")
    call.press(DOB)
    assert "à quelle heure vous pensez arriver" in call.last_heard()
    if call.waiting_for == "Gather":
        call.silence()
    call.record(seconds=5, words="vers 10 h 15", finish="hangup")
    call.deliver()
    with services(app).db.session() as session:
        assert session.scalars(select(Message.kind)).all() == ["late"]
