"""Booking by phone through the emulator, keypad and speech (docs/configuration/appointments.md).

The clock is Tuesday 24 November 2026, 10:00 in Paris; with two hours'
notice, docteure Martin's first free slot is that day at 14 h.
"""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from sqlalchemy import select

from callcenter.appointments.models import Appointment, AppointmentSlot
from callcenter.calls.models import Call
from callcenter.phone.emulator import PhoneCall, TwilioEmulator
from tests.conftest import CALLER, OPEN_HOURS, bound, create_tables, services, set_clock
from tests.ivr.test_identify import DOB, seed

FIRST = "mardi 24 novembre à 14 h"
SECOND = "mardi 24 novembre à 14 h 20"
LATER = "mardi 24 novembre à 15 h"  # the first of the next three
THURSDAY_PM = "jeudi 26 novembre à 14 h"
THURSDAY_AM = "jeudi 26 novembre à 9 h"

# What the caller does, by keypad and by speech ("4" then a key: one level down, "autre choix").
MODES: dict[str, dict[str, tuple[str, str]]] = {
    "keypad": {
        "appointments": ("press", "1"), "book": ("press", "1"), "change": ("press", "2"),
        "martin": ("press", "1"), "bernard": ("press", "2"), "first": ("press", "1"),
        "second": ("press", "2"), "more": ("press", "4 1"), "yes": ("press", "1"),
        "no": ("press", "2"), "cancel": ("press", "1"), "move": ("press", "2"),
        "person": ("press", "0"), "thursday_pm": ("press", "4 4"), "any": ("press", "*"),
    },
    "speech": {
        "appointments": ("say", "je voudrais un rendez-vous"),
        "book": ("say", "prendre un rendez-vous"),
        "change": ("say", "annuler mon rendez-vous"),
        "martin": ("say", "avec le docteur Martin"), "bernard": ("say", "docteur Bernard"),
        "first": ("say", "le premier"), "second": ("say", "le deuxième"),
        "more": ("say", "d'autres créneaux s'il vous plaît"), "yes": ("say", "oui je confirme"),
        "no": ("say", "non"), "cancel": ("say", "je veux l'annuler"),
        "move": ("say", "le déplacer"), "person": ("say", "le secrétariat"),
        "thursday_pm": ("say", "jeudi après-midi"), "any": ("say", "peu importe"),
    },
}  # fmt: skip


@pytest.fixture(params=list(MODES))
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def act(call: PhoneCall, mode: str, *steps: str) -> PhoneCall:
    for step in steps:
        verb, value = MODES[mode][step]
        for part in value.split(" ") if verb == "press" else [value]:
            getattr(call, verb)(part)
    return call


def identified(twilio: TwilioEmulator, number: str, mode: str, caller: str = CALLER) -> PhoneCall:
    """A known patient reaches the appointment menu (the date of birth is always keyed)."""
    call = act(twilio.place_call(caller, number), mode, "appointments")
    call.press(DOB)
    assert "Pour prendre un rendez-vous, tapez 1" in call.last_heard()
    return call


def appointments(app: Flask) -> list[Appointment]:
    with services(app).db.session() as session:
        return list(session.scalars(select(Appointment).order_by(Appointment.starts_at)))


def booked(app: Flask) -> list[Appointment]:
    return [a for a in appointments(app) if a.status == "booked"]


def spoken(app: Flask, appointment: Appointment) -> str:
    from callcenter.core.spoken import spoken_datetime

    tz = services(app).practices.by_id("demo").tz
    return spoken_datetime(appointment.starts_at.astimezone(tz))


def sms_bodies(fake_twilio) -> list[str]:
    return [r.form["Body"] for r in fake_twilio.requests if r.path.endswith("/Messages.json")]


# -- booking -------------------------------------------------------------------------------
def test_a_patient_books_the_first_slot_and_gets_an_sms(app, twilio, practice_number, mode,
                                                        fake_twilio):  # fmt: skip
    patient = seed(app, "1980-03-15")
    call = act(identified(twilio, practice_number, mode), mode, "book")
    assert "Pour la docteure Martin, tapez 1" in call.last_heard()
    act(call, mode, "martin")
    heard = call.last_heard()
    assert f"Le {FIRST} : tapez 1" in heard and f"Le {SECOND} : tapez 2" in heard
    assert booked(app) == []  # nothing before the confirmation
    act(call, mode, "first")
    assert f"Vous avez choisi le {FIRST} avec la docteure Martin" in call.last_heard()
    assert booked(app) == []
    act(call, mode, "yes")
    assert f"confirmé le {FIRST} avec la docteure Martin" in call.last_heard()
    assert "SMS de confirmation" in call.last_heard() and call.ended
    [appointment] = booked(app)
    assert appointment.doctor_id == "dr-martin" and appointment.patient_id == patient
    assert appointment.kind == "consultation"
    assert (appointment.ends_at - appointment.starts_at).seconds == 20 * 60
    assert sms_bodies(fake_twilio) == [
        f"cabinet médical des Tilleuls : rendez-vous confirmé le {FIRST}."
    ]
    with services(app).db.session() as session:
        row = session.scalars(select(Call).where(Call.call_sid == call.sid)).one()
        assert row.outcome == "booked"


def test_a_patient_books_after_asking_for_later_slots(app, twilio, practice_number, mode):
    seed(app, "1980-03-15")
    call = act(identified(twilio, practice_number, mode), mode, "book", "martin", "more")
    assert f"Le {LATER} : tapez 1" in call.last_heard() and FIRST not in call.last_heard()
    act(call, mode, "second", "yes")
    assert "confirmé le mardi 24 novembre à 15 h 20" in call.last_heard()
    assert spoken(app, booked(app)[0]) == "mardi 24 novembre à 15 h 20"


def test_a_patient_books_on_a_chosen_half_day(app, twilio, practice_number, mode):
    seed(app, "1980-03-15")
    call = act(identified(twilio, practice_number, mode), mode, "book", "martin")
    if mode == "keypad":
        call.press("4").press("2")
        assert "tapez la date en 4 chiffres" in call.last_heard()
        call.press("2611")
        assert f"Le {THURSDAY_AM} : tapez 1" in call.last_heard()
    act(call, mode, "thursday_pm")
    assert f"Le {THURSDAY_PM} : tapez 1" in call.last_heard()
    act(call, mode, "first", "yes")
    assert spoken(app, booked(app)[0]) == THURSDAY_PM


def test_a_day_can_be_said_with_its_date(app, twilio, practice_number):
    seed(app, "1980-03-15")
    call = act(identified(twilio, practice_number, "speech"), "speech", "book", "bernard")
    call.say("un autre jour")
    assert "Dites le jour souhaité" in call.last_heard()
    call.say("le 2 décembre au matin")
    assert "Le mercredi 2 décembre à 8 h 40 : tapez 1" in call.last_heard()


def test_a_new_patient_registers_then_books_a_first_consultation(
    app, twilio, practice_number, mode
):
    call = act(twilio.place_call(CALLER, practice_number), mode, "appointments")
    assert "Pour créer votre fiche" in call.last_heard()
    call.press(DOB).say("Jean Dupont")
    assert "votre fiche est créée" in call.last_heard()
    act(call, mode, "book", "martin", "first", "yes")
    assert f"confirmé le {FIRST}" in call.last_heard()
    [appointment] = booked(app)
    assert appointment.kind == "premiere-consultation"
    assert (appointment.ends_at - appointment.starts_at).seconds == 40 * 60
    with services(app).db.session() as session:
        held = session.scalars(select(AppointmentSlot.appointment_id)).all()
        assert held == [appointment.id, appointment.id]  # two 20-minute cells


def test_saying_no_at_the_confirmation_offers_the_slots_again(app, twilio, practice_number, mode):
    seed(app, "1980-03-15")
    call = act(identified(twilio, practice_number, mode), mode, "book", "martin", "first", "no")
    assert f"Le {FIRST} : tapez 1" in call.last_heard()
    assert booked(app) == []


# -- no double booking --------------------------------------------------------------------------
def test_a_slot_taken_between_offer_and_confirmation_is_said_and_others_follow(
    app, twilio, practice_number, mode
):
    seed(app, "1980-03-15")
    seed(app, "1975-01-02", name="Autre Patient", phone="+33698765432")
    first = act(identified(twilio, practice_number, mode), mode, "book", "martin", "first")
    other = twilio.place_call("+33698765432", practice_number).press("1").press("02011975")
    other.press("1").press("1").press("1").press("1")  # books the same slot first
    assert f"confirmé le {FIRST}" in other.last_heard()
    act(first, mode, "yes")
    heard = first.last_heard()
    assert "ce créneau vient d'être pris" in heard
    assert f"Le {SECOND} : tapez 1" in heard and f"Le {FIRST} :" not in heard
    act(first, mode, "first", "yes")
    assert [spoken(app, a) for a in booked(app)] == [FIRST, SECOND]


def test_a_retried_confirmation_books_once(app, twilio, practice_number):
    seed(app, "1980-03-15")
    call = act(identified(twilio, practice_number, "keypad"), "keypad", "book", "martin", "first")
    call.press("1")
    status, body = twilio.post(*call.requests[-1])  # Twilio sends the Gather action again
    assert status == 200 and "confirmé" in body
    assert len(appointments(app)) == 1


def test_a_slot_whose_notice_ran_out_while_talking_is_not_booked(app, twilio, practice_number):
    seed(app, "1980-03-15")
    call = act(identified(twilio, practice_number, "keypad"), "keypad", "book", "martin", "first")
    set_clock(app, "2026-11-24T12:30:00+01:00")  # 14 h is now less than two hours away
    call.press("1")
    assert "vient d'être pris" in call.last_heard() and booked(app) == []


# -- cancel and move ---------------------------------------------------------------------------
def book_first(twilio: TwilioEmulator, number: str) -> None:
    call = twilio.place_call(CALLER, number).press("1").press(DOB)
    call.press("1").press("1").press("1").press("1")
    assert call.ended and "confirmé" in call.text


def test_a_patient_cancels_and_the_slot_is_free_at_once(app, twilio, practice_number, mode,
                                                        fake_twilio):  # fmt: skip
    seed(app, "1980-03-15")
    book_first(twilio, practice_number)
    call = act(identified(twilio, practice_number, mode), mode, "change")
    assert f"Votre rendez-vous du {FIRST} avec la docteure Martin" in call.last_heard()
    act(call, mode, "cancel")
    assert f"annuler votre rendez-vous du {FIRST}" in call.last_heard()
    act(call, mode, "yes")
    assert "rendez-vous est annulé" in call.last_heard() and call.ended
    assert booked(app) == [] and appointments(app)[0].status == "cancelled"
    again = act(identified(twilio, practice_number, mode), mode, "book", "martin")
    assert f"Le {FIRST} : tapez 1" in again.last_heard()


def test_a_withheld_caller_keying_a_patients_number_cannot_reach_their_appointments(
    app, twilio, practice_number
):
    """Number and date of birth typed: a new record, and cancelling needs the own number."""
    patient = seed(app, "1980-03-15")
    book_first(twilio, practice_number)
    call = twilio.place_call("anonymous", practice_number).press("1").press("0612345678")
    call.press(DOB).press("#")
    assert "Pour prendre un rendez-vous, tapez 1" in call.last_heard()
    call.press("2")
    assert "depuis votre propre numéro" in call.last_heard()
    assert FIRST not in call.text and "Martin" not in call.text
    assert stored_call_patient(app, call.sid) != patient
    call.press("2")  # asking again changes nothing
    assert "depuis votre propre numéro" in call.last_heard() and FIRST not in call.text
    assert [a.status for a in appointments(app)] == ["booked"]


def stored_call_patient(app: Flask, sid: str) -> str | None:
    with services(app).db.session() as session:
        return session.scalars(select(Call.patient_id).where(Call.call_sid == sid)).one()


def test_a_patient_who_keeps_the_appointment_cancels_nothing(app, twilio, practice_number):
    seed(app, "1980-03-15")
    book_first(twilio, practice_number)
    call = identified(twilio, practice_number, "keypad").press("2").press("1").press("2")
    assert "rendez-vous est maintenu" in call.last_heard()
    assert len(booked(app)) == 1


def test_a_patient_moves_an_appointment(app, twilio, practice_number, mode):
    seed(app, "1980-03-15")
    book_first(twilio, practice_number)
    call = act(identified(twilio, practice_number, mode), mode, "change", "move")
    # Their own slot is not offered: the next ones are.
    assert (
        f"Le {SECOND} : tapez 1" in call.last_heard() and f"Le {FIRST} :" not in call.last_heard()
    )
    act(call, mode, "first", "yes")
    assert f"déplacé au {SECOND}" in call.last_heard()
    old, new = appointments(app)  # by start: the old one is earlier
    assert old.status == "moved" and new.status == "booked" and new.replaces_id == old.id
    assert spoken(app, new) == SECOND
    with services(app).db.session() as session:
        held = session.scalars(select(AppointmentSlot.appointment_id)).all()
        assert held == [new.id]  # the old slot is free


def test_several_upcoming_appointments_are_listed_to_pick_one(app, twilio, practice_number, mode):
    seed(app, "1980-03-15")
    book_first(twilio, practice_number)
    book_first(twilio, practice_number)
    call = act(identified(twilio, practice_number, mode), mode, "change")
    assert "Vous avez 2 rendez-vous à venir" in call.last_heard()
    assert f"Le {SECOND} avec la docteure Martin : tapez 2" in call.last_heard()
    act(call, mode, "second", "cancel", "yes")
    assert [spoken(app, a) for a in booked(app)] == [FIRST]


def test_a_caller_with_no_upcoming_appointment_asking_to_cancel_hears_so(
    app, twilio, practice_number, mode
):
    seed(app, "1980-03-15")
    call = act(identified(twilio, practice_number, mode), mode, "change")
    heard = call.last_heard()
    assert "aucun rendez-vous à venir" in heard and "Pour prendre un rendez-vous, tapez 1" in heard
    act(call, mode, "book", "martin")
    assert f"Le {FIRST} : tapez 1" in call.last_heard()


# -- every way to a person ----------------------------------------------------------------------
@pytest.mark.parametrize("where", ["menu", "doctor", "slots", "confirm"])
def test_the_secretariat_is_one_key_or_word_away_at_every_step(
    app, twilio, practice_number, mode, where
):
    seed(app, "1980-03-15")
    call = identified(twilio, practice_number, mode)
    steps = {"menu": [], "doctor": ["book"], "slots": ["book", "martin"],
             "confirm": ["book", "martin", "first"]}[where]  # fmt: skip
    act(call, mode, *steps, "person")
    assert call.waiting_for == "Dial" and call.dial_numbers() == ["+33612000001"]
    call.answer(press="1")
    assert "rendez-vous" in " ".join(call.whispers)


def test_an_unidentified_caller_is_put_through_to_the_secretariat(app, twilio, practice_number):
    call = twilio.place_call(CALLER, practice_number).press("1").press("*")  # skips registration
    assert call.waiting_for == "Dial"


def test_silence_while_slots_are_offered_reprompts_then_reaches_a_person(
    app, twilio, practice_number
):
    seed(app, "1980-03-15")
    call = identified(twilio, practice_number, "keypad").press("1").press("1")
    call.silence()
    assert "pas entendu" in call.last_heard() and f"Le {FIRST} : tapez 1" in call.last_heard()
    call.press("8")  # a key no option uses (9 is the urgent route everywhere)
    assert "pas compris" in call.last_heard()
    call.silence()
    assert call.waiting_for == "Dial"


def test_an_unknown_doctor_name_is_asked_again(app, twilio, practice_number):
    seed(app, "1980-03-15")
    call = identified(twilio, practice_number, "speech").say("prendre rendez-vous")
    call.say("le docteur Dupuis")
    assert "pas compris" in call.last_heard() and "Pour la docteure Martin" in call.last_heard()


def test_a_day_that_is_not_understood_is_said_so(app, twilio, practice_number):
    seed(app, "1980-03-15")
    call = identified(twilio, practice_number, "keypad").press("1").press("1").press("4")
    call.press("2").press("3102")  # 31 February
    assert "pas compris ce jour" in call.last_heard() and "tapez 1" in call.last_heard()


def test_a_day_without_free_slots_says_so_and_offers_the_next(app, twilio, practice_number):
    seed(app, "1980-03-15")
    call = identified(twilio, practice_number, "speech").press("1").press("1")
    call.say("mercredi")  # docteure Martin does not consult on Wednesdays
    heard = call.last_heard()
    assert "pas de créneau libre à ce moment-là" in heard and "absent" not in heard
    # The next ones from that day on, never before it.
    assert f"Le {THURSDAY_AM} : tapez 1" in heard and FIRST not in heard


def test_asking_past_the_last_slot_starts_again_from_the_first(app, twilio, practice_number,
                                                               settings):  # fmt: skip
    from tests.conftest import write_practice

    one_day = {"slot_minutes": 20, "week": {"tuesday": ["14:00-15:20"]}}
    demo = write_practice(settings.home)
    rules = {**demo["appointments"], "horizon_days": 1, "doctors": {"dr-martin": one_day}}  # type: ignore[dict-item]
    write_practice(settings.home, appointments=rules)
    app = restart(settings)
    twilio = emulator(app)
    seed(app, "1980-03-15")
    call = identified(twilio, practice_number, "keypad").press("1")  # one doctor: no question
    assert f"Le {FIRST} : tapez 1" in call.last_heard()
    call.press("4").press("1")
    assert "Le mardi 24 novembre à 15 h : tapez 1" in call.last_heard()
    call.press("4").press("1")
    assert (
        "pas d'autres créneaux" in call.last_heard()
        and f"Le {FIRST} : tapez 1" in call.last_heard()
    )
    services(app).db.dispose()


def test_no_free_slot_at_all_offers_the_waiting_list_then_the_secretariat(
    app, twilio, practice_number, settings
):
    from tests.conftest import write_practice

    demo = write_practice(settings.home)
    away = {"slot_minutes": 20, "week": {"tuesday": ["14:00-18:00"]},
            "absences": [date(2026, 11, 24)]}  # fmt: skip
    rules = {**demo["appointments"], "horizon_days": 6, "doctors": {"dr-martin": away}}  # type: ignore[dict-item]
    write_practice(settings.home, appointments=rules)
    app = restart(settings)
    seed(app, "1980-03-15")
    call = identified(emulator(app), practice_number, "keypad").press("1")
    assert "Aucun créneau n'est libre" in call.last_heard()
    assert "prévenu par SMS si un créneau se libère" in call.last_heard()
    assert call.press("2").waiting_for == "Dial"  # no, thank you: a person
    services(app).db.dispose()


def test_a_practice_without_schedules_sends_appointment_callers_to_the_secretariat(
    settings, practice_number
):
    from tests.conftest import write_practice

    write_practice(settings.home, appointments=None)
    app = restart(settings)
    seed(app, "1980-03-15")
    call = identified(emulator(app), practice_number, "keypad").press("1")
    assert call.waiting_for == "Dial"
    services(app).db.dispose()


def restart(settings) -> Flask:
    from callcenter.web.app import create_app

    app = bound(create_app(settings))
    create_tables(services(app).db)
    return app


def emulator(app: Flask) -> TwilioEmulator:
    from callcenter.phone.emulator import FlaskTransport
    from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_BASE

    return TwilioEmulator(
        FlaskTransport(app.test_client()), AUTH_TOKEN, PUBLIC_BASE, account_sid=ACCOUNT_SID
    )


@pytest.mark.parametrize("where", ["doctor", "confirm", "mine", "cancel"])
def test_silence_at_any_question_ends_with_a_person_never_a_loop(
    app, twilio, practice_number, where
):
    seed(app, "1980-03-15")
    if where in ("mine", "cancel"):
        book_first(twilio, practice_number)
    call = identified(twilio, practice_number, "keypad")
    steps = {"doctor": ["1"], "confirm": ["1", "1", "1"], "mine": ["2"],
             "cancel": ["2", "1"]}[where]  # fmt: skip
    for key in steps:
        call.press(key)
    call.silence()  # asked once more
    assert call.waiting_for == "Gather" and "pas entendu" in call.last_heard()
    call.silence()  # then a person
    assert call.waiting_for == "Dial"
    assert len(booked(app)) == (1 if where in ("mine", "cancel") else 0)


def test_a_day_not_understood_three_times_reaches_a_person(app, twilio, practice_number):
    seed(app, "1980-03-15")
    call = identified(twilio, practice_number, "keypad").press("1").press("1")
    for _ in range(2):
        call.press("4").press("2").press("3113")  # no 31st of November (9... is the urgent route)
        assert "pas compris ce jour" in call.last_heard()
    call.press("4").press("2").press("0000")
    assert call.waiting_for == "Dial"


def test_picking_an_appointment_that_is_not_listed_is_asked_again(app, twilio, practice_number):
    seed(app, "1980-03-15")
    book_first(twilio, practice_number)
    book_first(twilio, practice_number)
    call = identified(twilio, practice_number, "keypad").press("2").press("5")
    assert "pas compris" in call.last_heard() and "Vous avez 2 rendez-vous" in call.last_heard()
    call.say("le troisième")
    assert "pas compris" in call.last_heard()
    call.say("le deuxième")
    assert f"Votre rendez-vous du {SECOND}" in call.last_heard()


def test_an_appointment_cancelled_elsewhere_meanwhile_is_said_so(app, twilio, practice_number):
    from callcenter.appointments import booking as appointments

    patient = seed(app, "1980-03-15")
    book_first(twilio, practice_number)
    call = identified(twilio, practice_number, "keypad").press("2").press("1")
    assert "Pour confirmer l'annulation, tapez 1" in call.last_heard()
    [appointment] = booked(app)
    with services(app).db.session() as session:  # the secretariat cancels it first
        assert appointments.release(session, appointment.id, patient, "cancelled", OPEN_HOURS)
    call.press("1")
    assert "n'est plus réservé" in call.last_heard() and call.ended


def test_any_doctor_gives_the_soonest_free_slot(app, twilio, practice_number, mode):
    seed(app, "1980-03-15")
    call = act(identified(twilio, practice_number, mode), mode, "book")
    assert "premier médecin disponible, tapez étoile" in call.last_heard()
    act(call, mode, "any")
    # docteur Bernard consults this morning until 12 h 20: his 12 h slot comes first.
    assert "Le mardi 24 novembre à 12 h : tapez 1" in call.last_heard()
    assert "avec le docteur Bernard" in call.last_heard()


# -- at any hour ---------------------------------------------------------------------------------
SUNDAY_NIGHT = "2026-11-29T22:00:00+01:00"  # closed; reopens Monday 30 November at 8 h 30


def test_key_1_on_a_sunday_night_books_an_appointment(app, twilio, practice_number):
    """Booking is automatic: the closed menu offers it and it books, nobody needed."""
    set_clock(app, SUNDAY_NIGHT)
    seed(app, "1980-03-15")
    call = twilio.place_call(CALLER, practice_number)
    assert "actuellement fermé" in call.text and "rendez-vous, tapez 1" in call.last_heard()
    call.press("1").press(DOB).press("1").press("1")
    assert "Le lundi 30 novembre à 9 h : tapez 1" in call.last_heard()
    call.press("1").press("1")
    assert "confirmé le lundi 30 novembre à 9 h avec la docteure Martin" in call.last_heard()
    [appointment] = booked(app)
    assert spoken(app, appointment) == "lundi 30 novembre à 9 h"


def test_booking_cancelling_and_moving_work_on_a_public_holiday(app, twilio, practice_number):
    """Christmas Day; docteure Martin is away until 3 January (the demo practice)."""
    set_clock(app, "2026-12-25T10:00:00+01:00")
    seed(app, "1980-03-15")
    call = twilio.place_call(CALLER, practice_number)
    assert "jour férié" in call.text and "rendez-vous, tapez 1" in call.last_heard()
    call.press("1").press(DOB).press("1").press("1").press("1").press("1")
    assert "confirmé le lundi 4 janvier à 9 h" in call.last_heard()
    call = twilio.place_call(CALLER, practice_number).press("1").press(DOB).press("2")
    call.press("2").press("1").press("1")  # move it to the next slot
    assert "déplacé au lundi 4 janvier à 9 h 20" in call.last_heard()
    call = twilio.place_call(CALLER, practice_number).press("1").press(DOB).press("2")
    call.press("1").press("1")
    assert "rendez-vous est annulé" in call.last_heard()
    assert booked(app) == [] and [a.status for a in appointments(app)] == ["moved", "cancelled"]


def test_a_practice_can_keep_booking_to_opening_hours(settings, practice_number):
    from tests.conftest import write_practice

    demo = write_practice(settings.home)
    write_practice(settings.home, appointments={**demo["appointments"], "outside_hours": False})  # type: ignore[dict-item]
    app = restart(settings)
    set_clock(app, SUNDAY_NIGHT)
    call = emulator(app).place_call(CALLER, practice_number)
    assert "tapez 1" not in call.text and "message, tapez 2" in call.last_heard()
    set_clock(app, OPEN_HOURS.isoformat())
    call = emulator(app).place_call(CALLER, practice_number)
    assert "rendez-vous, tapez 1" in call.last_heard()
    services(app).db.dispose()


def test_asking_for_a_person_at_night_leaves_a_message_and_says_so(app, twilio, practice_number):
    set_clock(app, SUNDAY_NIGHT)
    seed(app, "1980-03-15")
    call = twilio.place_call(CALLER, practice_number).press("1").press(DOB).press("1").press("1")
    call.press("0")  # the secretariat, at night
    heard = call.last_heard()
    assert "Le secrétariat est fermé ; il rouvrira demain à 8 h 30" in heard
    assert "Vous pouvez laisser un message" in heard and call.waiting_for != "Dial"


# -- progressive menus ---------------------------------------------------------------------------
def test_the_slot_menu_is_three_slots_and_one_other_choice_key(app, twilio, practice_number):
    seed(app, "1980-03-15")
    call = identified(twilio, practice_number, "keypad").press("1").press("1")
    heard = call.last_heard()
    assert heard.count("tapez") == 4 and heard.endswith("Pour un autre choix, tapez 4.")
    assert "secrétariat" not in heard and "matin" not in heard
    call.press("4")  # one level down: the other choices
    heard = call.last_heard()
    for choice in ("créneaux suivants, tapez 1", "jour précis, tapez 2",
                   "matin seulement, tapez 3", "après-midi seulement, tapez 4",
                   "secrétariat, tapez 0"):  # fmt: skip
        assert choice in heard
    call.press("3")  # mornings only
    assert "Le mercredi" not in call.last_heard() and "à 9 h : tapez 1" in call.last_heard()


def test_silence_one_level_down_asks_once_more_then_reaches_a_person(app, twilio, practice_number):
    seed(app, "1980-03-15")
    call = identified(twilio, practice_number, "keypad").press("1").press("1").press("4")
    call.silence()
    assert "pas entendu" in call.last_heard() and "jour précis, tapez 2" in call.last_heard()
    call.silence()
    assert call.waiting_for == "Dial"


def test_a_day_the_doctor_is_away_says_so_and_offers_the_slots_after_it(
    app, twilio, practice_number
):
    """docteure Martin is away from 21 December to 3 January (the demo practice)."""
    set_clock(app, "2026-12-15T10:00:00+01:00")
    seed(app, "1980-03-15")
    call = identified(twilio, practice_number, "speech").press("1").press("1")
    call.say("le 22 décembre")
    heard = call.last_heard()
    assert "La docteure Martin ne consulte pas ce jour-là." in heard
    assert "pas de créneau libre" not in heard and "décembre" not in heard.split("ce jour-là")[1]
    assert "Le lundi 4 janvier à 9 h : tapez 1" in heard  # the first day back, never before
