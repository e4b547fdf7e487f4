"""Identifying callers, as they live it, through the emulator (docs/configuration/flows.md)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from callcenter.audit.models import AuditEntry
from callcenter.audit.trail import verify
from callcenter.calls.models import Call
from callcenter.config.prompts import Catalogue
from callcenter.config.settings import DEFAULT_FLOWS_DIR, Settings
from callcenter.ivr.loader import check_flows
from callcenter.messages.models import Message
from callcenter.patients.models import IdentificationGuard, Patient
from callcenter.phone.emulator import FlaskTransport, TwilioEmulator
from callcenter.web.app import create_app
from tests.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CALLER,
    OPEN_HOURS,
    PUBLIC_BASE,
    bound,
    create_tables,
    services,
    set_clock,
    write_practice,
)

NAME = "Zéphyrine Quenouille"
DOB = "15031980"
CHILD_DOB = "01092010"
WRONG = "02031981"
ASKS_DOB = "date de naissance en 8 chiffres"


def seed(app: Flask, born: str, name: str = NAME, phone: str = CALLER, minutes: int = 0) -> str:
    """A patient of the demo practice; ``born`` as stored (YYYY-MM-DD)."""
    svc = services(app)
    bits = svc.practices.by_id("demo").blind_index_bits
    at = OPEN_HOURS - timedelta(days=30, minutes=-minutes)
    with svc.db.session() as session:
        patient = Patient(
            practice_id="demo",
            phone=phone,
            phone_index=svc.cipher.phone_index(phone, practice="demo", bits=bits),
            name=name,
            birth_date=born,
            created_at=at,
            last_seen_at=at,
        )
        session.add(patient)
        return patient.id


def stored_call(app: Flask, sid: str) -> Call:
    with services(app).db.session() as session:
        return session.scalars(select(Call).where(Call.call_sid == sid)).one()


def patients(app: Flask) -> list[Patient]:
    with services(app).db.session() as session:
        return list(session.scalars(select(Patient).order_by(Patient.created_at)))


def no_personal_value_in_state(call: Call, *values: str) -> None:
    state = json.dumps(call.state, ensure_ascii=False)
    for value in values:
        assert value not in state


# -- known callers ------------------------------------------------------------------
def test_a_known_patient_confirms_with_the_date_of_birth_and_never_hears_a_name(
    app, twilio, practice_number
):
    patient = seed(app, "1980-03-15")
    call = twilio.place_call(CALLER, practice_number).press("2")
    assert ASKS_DOB in call.last_heard() and "tapez étoile" in call.last_heard()
    assert call.waiting_for == "Gather"
    call.press(DOB)
    assert "c'est noté" in call.last_heard()
    assert "Après le bip" in call.last_heard()  # on to the message
    assert "Quenouille" not in call.text and "Zéphyrine" not in call.text
    row = stored_call(app, call.sid)
    assert row.patient_id == patient and row.state["identity"] == "known"
    no_personal_value_in_state(row, DOB, "1980", "Quenouille", "612345678")
    assert patients(app)[0].last_seen_at == OPEN_HOURS


def test_a_family_member_sharing_the_number_is_picked_by_the_date_of_birth(
    app, twilio, practice_number
):
    seed(app, "1980-03-15", name="Claire Mère")
    child = seed(app, "2010-09-01", name="Léo Enfant", minutes=1)
    call = twilio.place_call(CALLER, practice_number).press("2").press(CHILD_DOB)
    assert "c'est noté" in call.last_heard()
    assert stored_call(app, call.sid).patient_id == child
    assert "Enfant" not in call.text and "Mère" not in call.text


def test_a_wrong_date_of_birth_is_asked_again_then_the_right_one_identifies(
    app, twilio, practice_number
):
    patient = seed(app, "1980-03-15")
    call = twilio.place_call(CALLER, practice_number).press("2").press(WRONG)
    assert "ne correspond pas" in call.last_heard() and ASKS_DOB in call.last_heard()
    assert "Quenouille" not in call.text
    call.press(DOB)
    assert stored_call(app, call.sid).patient_id == patient
    with services(app).db.session() as session:  # a success resets the counter
        assert session.scalar(select(func.count()).select_from(IdentificationGuard)) == 0


def test_a_date_that_does_not_exist_is_named_invalid(app, twilio, practice_number):
    seed(app, "1980-03-15")
    call = twilio.place_call(CALLER, practice_number).press("2").press("29022023")
    assert "n'est pas valide" in call.last_heard() and ASKS_DOB in call.last_heard()


def test_three_wrong_dates_still_reach_the_message(app, twilio, practice_number):
    seed(app, "1980-03-15")
    call = twilio.place_call(CALLER, practice_number).press("2").press(WRONG).press(WRONG)
    call.press(WRONG)
    heard = call.last_heard()
    assert "ne correspond pas" in heard and "pas pu vous identifier" in heard
    assert "Après le bip" in heard
    call.silence().record(seconds=6)
    assert "message a bien été transmis" in call.last_heard()
    row = stored_call(app, call.sid)
    assert row.patient_id is None and row.state["identity"] == "unverified"
    with services(app).db.session() as session:
        assert session.scalars(select(Message)).one().callback_number == CALLER


def test_three_wrong_dates_in_the_appointment_journey_still_reach_the_secretary(
    app, twilio, practice_number
):
    seed(app, "1980-03-15")
    call = twilio.place_call(CALLER, practice_number).press("1")
    for _ in range(3):
        call.press(WRONG)
    assert call.waiting_for == "Dial"


def test_star_at_the_date_of_birth_registers_another_person_of_the_family(
    app, twilio, practice_number
):
    seed(app, "1980-03-15")
    call = twilio.place_call(CALLER, practice_number).press("2").press("*")
    assert "Pour créer votre fiche" in call.last_heard()
    call.press(CHILD_DOB).say("Léo Dupont")
    assert "votre fiche est créée" in call.last_heard()
    rows = patients(app)
    assert [(p.birth_date, p.name) for p in rows] == [
        ("1980-03-15", NAME),
        ("2010-09-01", "Léo Dupont"),
    ]
    assert stored_call(app, call.sid).patient_id == rows[1].id


def test_a_date_of_birth_said_aloud_is_asked_for_on_the_keypad(app, twilio, practice_number):
    """Words at a keypad-only question are not silence: the caller is told to use the keys."""
    seed(app, "1980-03-15")
    call = twilio.place_call(CALLER, practice_number).press("2")
    call.say("le quinze mars mille neuf cent quatre-vingts")
    assert "utilisez le clavier" in call.last_heard() and ASKS_DOB in call.last_heard()
    assert "pas entendu" not in call.last_heard()
    call.press(DOB)
    assert "c'est noté" in call.last_heard()


def test_silence_twice_at_the_date_of_birth_offers_registration(app, twilio, practice_number):
    seed(app, "1980-03-15")
    call = twilio.place_call(CALLER, practice_number).press("2").silence()
    assert "pas entendu" in call.last_heard() and ASKS_DOB in call.last_heard()
    call.silence()
    assert "Pour créer votre fiche" in call.last_heard()


def test_an_appointment_caller_sent_on_to_a_message_is_not_asked_twice(
    app, twilio, practice_number
):
    seed(app, "1980-03-15")
    call = twilio.place_call(CALLER, practice_number).press("1").press(DOB).press("0")
    assert call.waiting_for == "Dial"
    call.no_answer()
    assert ASKS_DOB not in call.last_heard() and "Après le bip" in call.last_heard()


# -- new callers --------------------------------------------------------------------
def test_a_new_caller_registers_with_date_of_birth_and_name_stored_encrypted(
    app, twilio, practice_number
):
    call = twilio.place_call(CALLER, practice_number).press("2")
    assert "Pour créer votre fiche" in call.last_heard() and "tapez étoile" in call.last_heard()
    call.press(DOB)
    assert "votre nom et votre prénom" in call.last_heard()
    call.say("Jean Dupont")
    assert "votre fiche est créée" in call.last_heard() and "Après le bip" in call.last_heard()
    svc = services(app)
    with svc.db.session() as session:
        patient = session.scalars(select(Patient)).one()
        assert (patient.name, patient.birth_date, patient.phone) == (
            "Jean Dupont",
            "1980-03-15",
            CALLER,
        )
        assert patient.phone_index == svc.cipher.phone_index(CALLER, practice="demo", bits=12)
        assert b"Dupont" not in patient.name_ct and b"1980" not in patient.birth_date_ct
        assert patient.created_at == OPEN_HOURS
    row = stored_call(app, call.sid)
    assert row.patient_id == patient.id and row.state["identity"] == "new"
    no_personal_value_in_state(row, "Dupont", "1980", DOB, "612345678")


def test_a_new_caller_skips_the_name_with_the_hash_key(app, twilio, practice_number):
    call = twilio.place_call(CALLER, practice_number).press("2").press(DOB).press("#")
    assert "votre fiche est créée" in call.last_heard()
    assert [(p.name, p.birth_date) for p in patients(app)] == [(None, "1980-03-15")]


def test_a_silent_new_caller_is_registered_without_a_name(app, twilio, practice_number):
    call = twilio.place_call(CALLER, practice_number).press("2").press(DOB).silence()
    assert "pas entendu" in call.last_heard()
    call.silence()
    assert "votre fiche est créée" in call.last_heard()
    assert [p.name for p in patients(app)] == [None]


def test_a_new_caller_in_a_hurry_skips_identification_with_star(app, twilio, practice_number):
    call = twilio.place_call(CALLER, practice_number).press("2").press("*")
    assert "Après le bip" in call.last_heard()
    assert patients(app) == []
    assert stored_call(app, call.sid).state["identity"] == "unverified"


def test_an_impossible_date_is_asked_again_and_then_given_up(app, twilio, practice_number):
    call = twilio.place_call(CALLER, practice_number).press("2").press("31042000")
    assert "n'est pas valide" in call.last_heard() and "Pour créer votre fiche" in call.last_heard()
    call.press("15032099")  # in the future
    assert "n'est pas valide" in call.last_heard()
    call.press("15031880")  # older than 120
    assert "pas pu vous identifier" in call.last_heard() and "Après le bip" in call.last_heard()
    assert patients(app) == []


def test_a_registration_replayed_by_twilio_registers_once(app, twilio, practice_number):
    call = twilio.place_call(CALLER, practice_number).press("2").press(DOB)
    status, _ = twilio.replay()
    assert status == 200
    call.say("Jean Dupont")
    assert len(patients(app)) == 1


# -- withheld numbers -------------------------------------------------------------------
def test_a_withheld_caller_keys_a_call_back_number_that_the_message_keeps(
    app, twilio, practice_number
):
    call = twilio.place_call("anonymous", practice_number).press("2")
    assert "n'est pas présenté" in call.last_heard()
    call.press("0612345678")
    assert "Pour créer votre fiche" in call.last_heard()
    call.press("*").silence().record(seconds=5)
    assert "message a bien été transmis" in call.last_heard()
    svc = services(app)
    row = stored_call(app, call.sid)
    assert row.caller == CALLER
    assert row.caller_index == svc.cipher.phone_index(CALLER, practice="demo", bits=12)
    with svc.db.session() as session:
        message = session.scalars(select(Message)).one()
        assert message.callback_number == CALLER and message.callback_index == row.caller_index


def withheld_transcript(twilio: TwilioEmulator, practice_number: str, keyed: str) -> str:
    """All a withheld caller hears leaving a message after keying ``keyed`` and a birth date."""
    call = twilio.place_call("anonymous", practice_number).press("2").press(keyed)
    call.press(DOB).press("#").silence().record(seconds=5)
    return call.text


def test_a_keyed_number_sounds_the_same_whether_it_is_a_patients_or_not(
    app, twilio, practice_number
):
    """Being a patient of the practice is health data: typing a number must not reveal it."""
    patient = seed(app, "1980-03-15")
    known = withheld_transcript(twilio, practice_number, "0612345678")
    unknown = withheld_transcript(twilio, practice_number, "0698765432")
    # The call-back offer reads the keyed number back: that is the only difference.
    assert "06 12 34 56 78" in known and "06 98 76 54 32" in unknown
    assert known.replace("06 12 34 56 78", "N") == unknown.replace("06 98 76 54 32", "N")
    assert ASKS_DOB in known and "Pour confirmer votre identité" not in known
    # The patient's number and date of birth did not link the call to the patient.
    calls = [stored_call(app, sid) for sid in _sids(app)]
    assert all(call.patient_id != patient for call in calls)
    with services(app).db.session() as session:
        linked = {m.patient_id for m in session.scalars(select(Message))}
    assert patient not in linked and None not in linked


def _sids(app: Flask) -> list[str]:
    with services(app).db.session() as session:
        return list(session.scalars(select(Call.call_sid)))


def test_a_keyed_number_registers_a_new_record_never_the_existing_patient(
    app, twilio, practice_number
):
    patient = seed(app, "1980-03-15")
    call = twilio.place_call("anonymous", practice_number).press("2").press("0612345678")
    assert "Pour créer votre fiche" in call.last_heard()
    call.press(DOB)
    row = stored_call(app, call.sid)
    assert row.patient_id is not None and row.patient_id != patient
    assert row.caller == CALLER and row.state["identity"] == "new"
    assert [p.phone for p in patients(app)] == [CALLER, CALLER]  # a second record, same number


def test_an_invalid_call_back_number_is_asked_again_a_bounded_number_of_times(
    app, twilio, practice_number
):
    call = twilio.place_call("anonymous", practice_number).press("2").press("1234")
    assert "n'est pas valide" in call.last_heard() and "n'est pas présenté" in call.last_heard()
    call.press("0000000000")
    assert "n'est pas valide" in call.last_heard()
    call.press("0612")
    assert "pas pu vous identifier" in call.last_heard() and "Après le bip" in call.last_heard()
    assert stored_call(app, call.sid).caller is None


@pytest.fixture
def few_withheld(settings: Settings) -> Iterator[tuple[Flask, TwilioEmulator]]:
    """The demo practice taking two withheld calls an hour."""
    write_practice(settings.home, limits={"withheld_calls_per_hour": 2})
    app = bound(create_app(settings))
    create_tables(services(app).db)
    transport = FlaskTransport(app.test_client())
    yield app, TwilioEmulator(transport, AUTH_TOKEN, PUBLIC_BASE, account_sid=ACCOUNT_SID)
    services(app).db.dispose()


def test_withheld_calls_past_the_practice_limit_hear_the_advice_and_leave_a_message(
    few_withheld, practice_number
):
    """Counted per practice (a withheld caller has no number of their own), never a bare hang-up."""
    app, twilio = few_withheld
    for _ in range(2):  # keying a number does not take a call out of the count
        call = twilio.place_call("anonymous", practice_number).press("2")
        assert "n'est pas présenté" in call.last_heard()
        call.press("0612345678")
    turned = twilio.place_call("anonymous", practice_number)
    assert "15 ou le 112" in turned.text and "numéro masqué" in turned.text
    assert turned.waiting_for == "Record" and "n'est pas présenté" not in turned.text
    assert stored_call(app, turned.sid).outcome == "throttled"
    turned.record(seconds=5)
    with services(app).db.session() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 1
    # A caller showing their number is not affected.
    assert twilio.place_call(CALLER, practice_number).waiting_for == "Gather"
    set_clock(app, (OPEN_HOURS + timedelta(hours=1, minutes=1)).isoformat())
    later = twilio.place_call("anonymous", practice_number).press("2")
    assert "n'est pas présenté" in later.last_heard()


# -- the brute-force guard ----------------------------------------------------------------
def test_five_wrong_dates_across_calls_lock_identification_for_an_hour(
    app, twilio, practice_number
):
    patient = seed(app, "1980-03-15")
    first = twilio.place_call(CALLER, practice_number).press("2")
    for _ in range(3):
        first.press(WRONG)
    assert stored_call(app, first.sid).state["identity"] == "unverified"
    second = twilio.place_call(CALLER, practice_number).press("2").press(WRONG)
    assert ASKS_DOB in second.last_heard()
    second.press(WRONG)  # the fifth within the hour
    assert "pas pu vous identifier" in second.last_heard()
    assert stored_call(app, second.sid).state["identity"] == "locked"
    with services(app).db.session() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "identify.locked"))
        audited = entry.one()
        assert audited.object_ref == stored_call(app, second.sid).id
        assert audited.actor == "system:ivr" and json.loads(audited.details) == {"failures": 5}
        assert audited.practice_id == "demo" and CALLER[1:] not in (audited.details or "")
        assert verify(session).ok

    third = twilio.place_call(CALLER, practice_number).press("2")  # the right date won't help
    assert ASKS_DOB not in third.last_heard() and "pas pu vous identifier" in third.last_heard()
    assert "Après le bip" in third.last_heard()
    assert stored_call(app, third.sid).state["identity"] == "locked"

    set_clock(app, (OPEN_HOURS + timedelta(hours=1, minutes=5)).isoformat())
    fourth = twilio.place_call(CALLER, practice_number).press("2")
    assert ASKS_DOB in fourth.last_heard()
    fourth.press(DOB)
    assert stored_call(app, fourth.sid).patient_id == patient


@pytest.fixture
def strict(settings: Settings) -> Iterator[tuple[Flask, TwilioEmulator]]:
    """The demo practice with ``limits``: two wrong dates of birth lock for ten minutes."""
    limits = {"identification_failures": 2, "identification_lock_minutes": 10}
    write_practice(settings.home, limits=limits)
    app = bound(create_app(settings))
    create_tables(services(app).db)
    transport = FlaskTransport(app.test_client())
    yield app, TwilioEmulator(transport, AUTH_TOKEN, PUBLIC_BASE, account_sid=ACCOUNT_SID)
    services(app).db.dispose()


def test_a_practice_locks_after_its_own_number_of_wrong_dates(strict, practice_number):
    """identification_failures: 2 locks within one call; the lock lasts the minutes it sets."""
    app, twilio = strict
    patient = seed(app, "1980-03-15")
    first = twilio.place_call(CALLER, practice_number).press("2").press(WRONG)
    assert ASKS_DOB in first.last_heard()  # one wrong date: asked again
    first.press(WRONG)  # the second: locked, although the node allows three tries
    assert "pas pu vous identifier" in first.last_heard() and "Après le bip" in first.last_heard()
    assert stored_call(app, first.sid).state["identity"] == "locked"
    with services(app).db.session() as session:
        audited = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "identify.locked")
        ).one()
        assert json.loads(audited.details) == {"failures": 2}

    second = twilio.place_call(CALLER, practice_number).press("2")  # the right date won't help
    assert ASKS_DOB not in second.last_heard() and "pas pu vous identifier" in second.last_heard()

    set_clock(app, (OPEN_HOURS + timedelta(minutes=11)).isoformat())
    third = twilio.place_call(CALLER, practice_number).press("2")
    assert ASKS_DOB in third.last_heard()
    third.press(DOB)
    assert stored_call(app, third.sid).patient_id == patient


def test_a_lock_on_one_number_leaves_other_numbers_alone(app, twilio, practice_number):
    seed(app, "1980-03-15")
    seed(app, "1970-01-01", phone="+33698765432")
    for _ in range(2):
        call = twilio.place_call(CALLER, practice_number).press("2")
        while call.waiting_for == "Gather" and ASKS_DOB in call.last_heard():
            call.press(WRONG)
    other = twilio.place_call("+33698765432", practice_number).press("2")
    assert ASKS_DOB in other.last_heard()


# -- what identification never does ------------------------------------------------------
def test_an_urgent_caller_leaves_a_message_without_questions(app, twilio, practice_number):
    call = twilio.place_call(CALLER, practice_number).press("9")
    while call.waiting_for == "Dial":
        call.no_answer()
    assert ASKS_DOB not in call.text and "Pour créer votre fiche" not in call.text
    assert call.silence().waiting_for == "Record"


def test_the_secretary_stays_one_key_away_without_identification(twilio, practice_number):
    call = twilio.place_call(CALLER, practice_number).press("3")
    assert call.waiting_for == "Dial" and ASKS_DOB not in call.text


# -- flow files -------------------------------------------------------------------------------
def test_identify_nodes_are_checked_like_the_others(tmp_path: Path):
    folder = tmp_path / "flows"
    shutil.copytree(DEFAULT_FLOWS_DIR, folder)
    path = folder / "message.yaml"
    text = path.read_text().replace(
        "    type: identify\n    next: record\n    on_failure: record\n",
        "    type: identify\n    next: record\n    max_attempts: 9\n",
    )
    path.write_text(text)
    _, errors = check_flows(folder, Catalogue.load(folder, "fr-FR"))
    messages = [str(e) for e in errors]
    assert "message.yaml: node 'identify': field 'on_failure': is required" in messages


def test_every_identification_prompt_is_in_the_catalogue():
    flows, errors = check_flows(DEFAULT_FLOWS_DIR)
    assert errors == []
    kinds = {node.type_name for node in flows}
    assert "identify" in kinds
