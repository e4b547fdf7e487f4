"""Barge-in: a short opening inside the first Gather, and 9 (or the words of urgency)
reaching the urgent route from the first second and from every question of every flow."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from callcenter.calls.models import Call
from callcenter.ivr.lengths import words
from callcenter.notify.models import Notice
from callcenter.phone.emulator import PhoneCall, TwilioEmulator
from callcenter.security.keyring import KeyRing
from tests.conftest import CALLER, services, set_clock, write_practice
from tests.ivr.test_identify import DOB, seed

NOTICE_URL = "https://tilleuls.example.test/donnees"
LEA = "+33612000001"  # the secretary on duty in office hours
OPENING = "Pour une urgence, tapez 9 à tout moment."


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The demo practice, publishing its data notice online."""
    path = tmp_path / "instance"
    write_practice(path, privacy_notice_url=NOTICE_URL)
    KeyRing.generate().save(path / "keyring.json")
    return path


def stored(app: Flask, call: PhoneCall) -> Call:
    with services(app).db.session() as session:
        return session.scalars(select(Call).where(Call.call_sid == call.sid)).one()


def first_answer(twilio: TwilioEmulator, number: str) -> ET.Element:
    twilio.place_call(CALLER, number)
    status, body = twilio.replay()  # the answer to /twilio/voice, as Twilio got it
    assert status == 200
    return ET.fromstring(body)


# -- the opening ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "moment",
    ["2026-11-24T10:00:00+01:00", "2026-11-24T13:00:00+01:00", "2026-11-29T22:00:00+01:00"],
    ids=["open", "lunch", "closed"],
)
def test_the_first_answer_is_one_gather_holding_every_say(app, twilio, practice_number, moment):
    set_clock(app, moment)
    root = first_answer(twilio, practice_number)
    assert root[0].tag == "Gather"
    assert [verb.tag for verb in root] == ["Gather", "Redirect"]  # no Say outside it
    gather = root[0]
    assert "dtmf" in gather.get("input", "") and "speech" in gather.get("input", "")
    says = [say.text or "" for say in gather if say.tag == "Say"]
    assert says[0].startswith(OPENING)  # the first sentence of the call


def test_at_most_thirty_words_before_the_first_choice(twilio, practice_number):
    gather = first_answer(twilio, practice_number)[0]
    says = [say.text or "" for say in gather]
    # The first choice is the open question ("Dites en quelques mots…, ou tapez"), then the keys.
    menu = next(i for i, text in enumerate(says) if text.startswith(("Dites", "Pour prendre")))
    before = " ".join(says[:menu])
    assert words(before) <= 30
    for needed in ("cabinet médical des Tilleuls", "tapez 9", "15 ou le 112", "tapez 8"):
        assert needed in before
    assert "étoile" not in " ".join(says)  # no key promised that a menu uses otherwise


def test_key_8_reads_the_full_notice_once_and_offers_its_link_by_sms(
    app, twilio, practice_number, fake_twilio
):
    call = twilio.place_call(CALLER, practice_number).press("8")
    heard = call.last_heard()
    assert "responsable de leur traitement" in heard and "par SMS, tapez 1" in heard
    call.press("1")
    assert "Le lien vous est envoyé par SMS." in call.last_heard()
    assert "Pour prendre, annuler ou déplacer un rendez-vous" in call.last_heard()  # the menu
    sms = [r.form for r in fake_twilio.requests if r.path.endswith("/Messages.json")]
    assert len(sms) == 1 and sms[0]["To"] == CALLER and NOTICE_URL in sms[0]["Body"]
    with services(app).db.session() as session:
        assert session.scalars(select(Notice)).one().kind == "privacy-notice"
    call.press("8")  # once per call: the menu again, not the notice
    assert "responsable" not in call.last_heard() and "tapez 1" in call.last_heard()


def test_a_withheld_caller_is_not_offered_the_sms(twilio, practice_number):
    call = twilio.place_call("anonymous", practice_number).press("8")
    assert "responsable de leur traitement" in call.last_heard()
    assert "SMS" not in call.last_heard()
    assert "Pour prendre, annuler" in call.last_heard()  # straight back to the menu


# -- 9 and the words of urgency, wherever the caller is --------------------------------------
def _seeded(app: Flask) -> None:
    seed(app, "1980-03-15")


def _booked(app: Flask, twilio: TwilioEmulator, number: str) -> None:
    seed(app, "1980-03-15")
    call = twilio.place_call(CALLER, number).press("1").press(DOB)
    call.press("1").press("1").press("1").press("1")
    assert call.ended and "confirmé" in call.text


def _appointments(twilio: TwilioEmulator, number: str) -> PhoneCall:
    return twilio.place_call(CALLER, number).press("1").press(DOB)


def _request(twilio: TwilioEmulator, number: str) -> PhoneCall:
    return (
        twilio.place_call(CALLER, number)
        .say("je voudrais renouveler mon ordonnance")
        .press("15031980")
    )


#: Each question that waits for the caller: what the database holds first
#: (a patient, a booked appointment), and how the caller reaches it.
WAITING: dict[str, tuple[str, Callable[[TwilioEmulator, str], PhoneCall]]] = {
    "menu (the greeting)": ("", lambda t, n: t.place_call(CALLER, n)),
    "menu (appointments)": ("patient", _appointments),
    "identify: date of birth": ("patient", lambda t, n: t.place_call(CALLER, n).press("1")),
    "identify: new patient": ("", lambda t, n: t.place_call(CALLER, n).press("2")),
    "identify: withheld number": ("", lambda t, n: t.place_call("anonymous", n).press("2")),
    "choose_doctor": ("patient", lambda t, n: _appointments(t, n).press("1")),
    "offer_slots": ("patient", lambda t, n: _appointments(t, n).press("1").press("1")),
    "offer_slots: which day": (
        "patient", lambda t, n: _appointments(t, n).press("1").press("1").press("5")),
    "confirm_booking": (
        "patient", lambda t, n: _appointments(t, n).press("1").press("1").press("1")),
    "my_appointments": ("booked", lambda t, n: _appointments(t, n).press("2")),
    "cancel_appointment": ("booked", lambda t, n: _appointments(t, n).press("2").press("1")),
    "record: consent": ("", lambda t, n: t.place_call(CALLER, n).press("2").press("*")),
    "offer_callback": (
        "", lambda t, n: t.place_call(CALLER, n).press("2").press("*").silence().record(5)),
    "privacy_notice": ("", lambda t, n: t.place_call(CALLER, n).press("8")),
    "request_doctor": ("patient", lambda t, n: _request(t, n)),
    "request_detail": ("patient", lambda t, n: _request(t, n).press("1")),
}  # fmt: skip
# Where the caller's words are content (a message, a name), only the key counts.
KEYS_ONLY: dict[str, Callable[[TwilioEmulator, str], PhoneCall]] = {
    "identify: name": lambda t, n: t.place_call(CALLER, n).press("2").press("15031980"),
    "speech_message": lambda t, n: t.place_call(CALLER, n).press("2").press("*").press("*"),
}


def reach(app: Flask, twilio: TwilioEmulator, number: str, where: str) -> PhoneCall:
    setup, path = WAITING[where]
    if setup == "patient":
        _seeded(app)
    elif setup == "booked":
        _booked(app, twilio, number)
    call = path(twilio, number)
    assert call.waiting_for == "Gather" and not stored(app, call).urgent
    return call


def on_the_urgent_route(app: Flask, call: PhoneCall) -> None:
    heard = call.last_heard()
    assert "15 ou le 112" in heard and "114" in heard and "en priorité" in heard
    assert call.waiting_for == "Dial" and call.dial_numbers() == [LEA]
    row = stored(app, call)
    assert row.urgent and row.flow == "urgent"


@pytest.mark.parametrize("where", list(WAITING))
def test_9_reaches_the_urgent_route(app, twilio, practice_number, where):
    call = reach(app, twilio, practice_number, where)
    call.press("9")
    on_the_urgent_route(app, call)


@pytest.mark.parametrize("where", list(WAITING))
def test_saying_it_is_urgent_reaches_the_urgent_route(app, twilio, practice_number, where):
    call = reach(app, twilio, practice_number, where)
    call.say("c'est urgent")
    on_the_urgent_route(app, call)


@pytest.mark.parametrize("where", list(KEYS_ONLY))
def test_9_reaches_the_urgent_route_where_words_are_content(app, twilio, practice_number, where):
    call = KEYS_ONLY[where](twilio, practice_number)
    assert call.waiting_for == "Gather"
    call.press("9")
    on_the_urgent_route(app, call)


def test_a_spoken_message_saying_urgent_is_kept_as_a_message(app, twilio, practice_number):
    call = KEYS_ONLY["speech_message"](twilio, practice_number)
    call.say("c'est urgent, rappelez-moi pour mon ordonnance")
    assert "bien été transmis" in call.last_heard() and not stored(app, call).urgent


@pytest.mark.parametrize(
    ("keys", "urgent"),
    [("9", True), ("9#", True), ("91", True), ("0612345678", False), ("1", False)],
)
def test_a_long_entry_starting_with_9_is_an_urgency(app, twilio, practice_number, keys, urgent):
    """The date of birth (JJMMAAAA) never starts with 9: a 9 first means urgency."""
    _seeded(app)
    call = twilio.place_call(CALLER, practice_number).press("1")
    call.press(keys)
    assert stored(app, call).urgent is urgent


def test_not_urgent_is_not_an_urgency(app, twilio, practice_number):
    call = twilio.place_call(CALLER, practice_number).say("ce n'est pas urgent, un message")
    assert not stored(app, call).urgent


def test_9_while_waiting_in_the_queue_reaches_the_urgent_route(app, twilio, practice_number):
    call = twilio.place_call(CALLER, practice_number).press("3")
    call.busy()
    assert call.waiting_for == "Enqueue"
    call.press("9")
    on_the_urgent_route(app, call)


def test_a_practice_adds_its_own_words_of_urgency(settings, fake_twilio):
    from callcenter.phone.emulator import FlaskTransport
    from callcenter.web.app import create_app
    from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_BASE

    write_practice(settings.home, urgent_words=["mon bébé est tout bleu"])
    app = create_app(settings)
    services(app).db.create_all()
    twilio = TwilioEmulator(
        FlaskTransport(app.test_client()), AUTH_TOKEN, PUBLIC_BASE, account_sid=ACCOUNT_SID
    )
    call = twilio.place_call(CALLER, "+33184880000").press("2")  # the new-patient question
    call.say("Mon bébé est tout bleu !")
    assert "en priorité" in call.last_heard()
    services(app).db.dispose()


class TestSpeechEngine:
    """The shipped policy's engine: the message is gathered by speech, with keys heard too."""

    @pytest.fixture
    def transcription_engine(self) -> str:
        return "speech"

    def test_9_while_the_message_is_asked_reaches_the_urgent_route(
        self, app, twilio, practice_number
    ):
        call = twilio.place_call(CALLER, practice_number).press("2").press("*")
        assert "sans enregistrement" in call.last_heard()
        call.press("9")
        on_the_urgent_route(app, call)

    def test_words_of_urgency_in_the_message_are_the_message(self, app, twilio, practice_number):
        call = twilio.place_call(CALLER, practice_number).press("2").press("*")
        call.say("c'est urgent, ma fille a de la fièvre")
        assert "bien été transmis" in call.last_heard() and not stored(app, call).urgent
