"""Joining the waiting list by phone, through the emulator: after "autre choix", or when no
slot is free; a caller whose number takes no SMS is told to call back from a mobile."""

from __future__ import annotations

from datetime import date

from flask import Flask
from sqlalchemy import select

from callcenter.waitlist.models import WaitingEntry
from tests.conftest import services
from tests.ivr.test_identify import seed
from tests.waitlist.conftest import FRIDAY, fill
from tests.web.twilio.test_appointments import identified

LANDLINE = "+33145678901"


def waiting(app: Flask) -> list[WaitingEntry]:
    with services(app).db.session() as session:
        return list(session.scalars(select(WaitingEntry)))


def martins_week_full(app: Flask) -> None:
    seed(app, "1980-03-15")
    fill(app, seed(app, "1975-01-02", phone="+33698765432"), FRIDAY)


def test_after_autre_choix_a_caller_joins_the_list_for_the_doctor_before_a_day(
    app, twilio, practice_number
) -> None:
    martins_week_full(app)
    call = identified(twilio, practice_number, "keypad")
    call.press("1").press("1")  # book, docteure Martin: the slots, from Friday on
    call.press("4")
    assert "Pour être prévenu par SMS si un créneau se libère plus tôt, tapez 5." in (
        call.last_heard()
    )
    call.press("5")
    assert "Avant quel jour ?" in call.last_heard() and call.waiting_for == "Gather"
    call.press("9")  # 9 is urgent at any moment, even here
    assert "appelez le 15 ou le 112" in call.last_heard()
    assert waiting(app) == []


def test_silence_at_the_day_is_not_a_day_misheard_and_a_third_miss_reaches_a_person(
    app, twilio, practice_number
) -> None:
    martins_week_full(app)
    call = identified(twilio, practice_number, "keypad")
    call.press("1").press("1").press("4").press("5")
    call.silence()
    assert call.last_heard().startswith("Je ne vous ai pas entendu. Avant quel jour ?")
    call.say("le jour de la marmotte")
    assert call.last_heard().startswith("Je n'ai pas compris ce jour. Avant quel jour ?")
    call.silence()
    assert "secrétariat" in call.last_heard()  # the third miss: a person, never a loop
    assert waiting(app) == []


def test_with_no_slot_free_at_all_the_caller_is_asked_and_can_join(
    app, twilio, practice_number
) -> None:
    seed(app, "1980-03-15")
    fill(app, seed(app, "1975-01-02", phone="+33698765432"), date(2027, 1, 31))
    call = identified(twilio, practice_number, "keypad")
    call.press("1").press("1")
    heard = call.last_heard()
    assert "Aucun créneau n'est libre dans les prochaines semaines." in heard
    assert "Voulez-vous être prévenu par SMS si un créneau se libère plus tôt ?" in heard
    call.say("oui")
    call.press("03")  # the 3rd: Thursday 3 December
    call.say("le matin")
    assert "avant le jeudi 3 décembre." in call.last_heard()
    [entry] = waiting(app)
    assert (entry.before, entry.period) == (date(2026, 12, 3), "morning")


def test_a_day_said_and_a_half_day_keyed_put_the_caller_on_the_list(
    app, twilio, practice_number
) -> None:
    martins_week_full(app)
    call = identified(twilio, practice_number, "keypad")
    call.press("1").press("1").press("4").press("5")
    call.say("vendredi")
    assert "Le matin, tapez 1. L'après-midi, tapez 2. Peu importe, tapez 3." in call.last_heard()
    call.press("3")
    assert (
        "C'est noté : vous serez prévenu par SMS si un créneau se libère avant le "
        "vendredi 27 novembre." in call.last_heard()
    )
    [entry] = waiting(app)
    assert (entry.doctor_id, entry.before, entry.period, entry.source, entry.status) == (
        "dr-martin", FRIDAY, "any", "phone", "open",
    )  # fmt: skip


def test_free_slots_before_the_day_are_offered_instead_of_a_wait(
    app, twilio, practice_number
) -> None:
    seed(app, "1980-03-15")
    call = identified(twilio, practice_number, "keypad")
    call.press("1").press("1").press("4").press("5")
    call.press("27")  # the 27th: Friday
    call.press("2")  # afternoons
    heard = call.last_heard()
    assert "Des créneaux sont déjà libres avant cette date." in heard
    assert "Le mardi 24 novembre à 14 h : tapez 1." in heard
    assert waiting(app) == []


def test_a_caller_without_a_mobile_is_told_to_call_back_from_one(
    app, twilio, practice_number
) -> None:
    seed(app, "1980-03-15", phone=LANDLINE)
    fill(app, seed(app, "1975-01-02", phone="+33698765432"), FRIDAY)
    call = identified(twilio, practice_number, "keypad", caller=LANDLINE)
    call.press("1").press("1").press("4").press("5")
    assert "rappelez depuis un téléphone portable" in call.last_heard()
    assert waiting(app) == []


def test_the_day_of_month_is_the_next_such_day() -> None:
    from callcenter.ivr.nodes.waitlist import day_of_month

    today = date(2026, 11, 24)
    assert day_of_month("27", today) == date(2026, 11, 27)
    assert day_of_month("03", today) == date(2026, 12, 3)
    assert day_of_month("24", today) == date(2026, 12, 24)
    assert day_of_month("31", date(2026, 11, 30)) == date(2026, 12, 31)
    assert day_of_month("00", today) is None and day_of_month("32", today) is None
