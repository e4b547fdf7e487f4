"""The secretaries' pages through the Flask test client, fed by real emulated calls:
messages to call back (urgent first, marked handled once), live calls
(the whisper's context, never a name or a number), appointments by day and
doctor with cancel and move, and the search by phone number.

Every page that shows decrypted data writes one ``console.view.<page>`` audit
entry per practice shown, none when it shows nothing, and the audit chain still
verifies afterwards.  A second practice (the cabinet du Port) shares the server:
its data never reaches a secretary of the demo practice.
"""

from __future__ import annotations

import html
import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from callcenter.appointments import booking
from callcenter.appointments.models import Appointment
from callcenter.audit import trail as audit
from callcenter.audit.models import AuditEntry
from callcenter.calls.models import Call
from callcenter.messages.models import Message
from callcenter.patients.models import Patient
from callcenter.phone.emulator import PhoneCall, TwilioEmulator
from tests.conftest import CALLER, OPEN_HOURS, services, set_clock, write_practice
from tests.ivr.test_identify import DOB, NAME, seed
from tests.test_canary import rendered_logs as rendered_logs  # the fixture
from tests.web.console.conftest import Console

DEMO = "+33184880000"
PORT = "+33491000000"  # the cabinet du Port, the server's second practice
OTHER_CALLER = "+33698765432"
WORDS = "Bonjour, je voudrais renouveler mon ordonnance de Ventoline"
FEVER = "Ma fille a de la fièvre depuis trois jours et elle vomit"
PORT_WORDS = "Bonjour, c'est pour un certificat de sport"
OTHER_NAME = "Anatole Port-Vendres"  # a patient of the second practice, same number
TUESDAY = "2026-11-24"
TAKEN = "Ce créneau vient d’être pris : choisissez-en un autre."
# The number as people type it; each form must find the patient.
FORMATS = ("06 12 34 56 78", "+33612345678", "+33 6 12 34 56 78", "06.12.34.56.78", "0612345678")
# The number as it would leak: never in a URL or a log line.
NUMBER_LEAKS = ("612345678", "0612345678", "06 12 34 56 78", "12 34 56 78", "06.12.34")


@pytest.fixture
def home(home: Path) -> Path:
    """Two practices on one server: the demo one and the cabinet du Port."""
    write_practice(
        home, id="port", name="cabinet du Port", number=PORT,
        secretaries=[{"id": "s2", "name": "Marc", "phone": "+33612000002"}],
    )  # fmt: skip
    return home


# -- helpers ------------------------------------------------------------------------


def leave_message(
    twilio: TwilioEmulator, number: str = DEMO, words: str = WORDS, caller: str = CALLER,
    dob: str | None = None,
) -> PhoneCall:  # fmt: skip
    """Menu 2, the date of birth (or '*' to skip), speak after the beep, hang up; then
    Twilio's recording and transcription callbacks arrive."""
    call = twilio.place_call(caller, number).press("2").press(dob or "*")
    if "Pour créer votre fiche" in call.last_heard():  # a known number said "new patient"
        call.press("*")  # and skips the registration
    if call.waiting_for == "Gather":  # the consent question: no refusal
        call.silence()
    call.record(seconds=9, words=words, finish="hangup")
    call.deliver()
    return call


def leave_urgent_message(
    twilio: TwilioEmulator, words: str = FEVER, caller: str = OTHER_CALLER
) -> PhoneCall:
    """Key 9: the secretaries do not answer, so the caller leaves an urgent message."""
    call = twilio.place_call(caller, DEMO).press("9").no_answer().silence()
    call.record(seconds=9, words=words, finish="hangup")
    call.deliver()
    return call


def message_id(app: Flask, words: str) -> str:
    with services(app).db.session() as session:
        found = [m.id for m in session.scalars(select(Message)) if m.transcript == words]
    assert len(found) == 1, f"{len(found)} messages say {words!r}"
    return found[0]


def stored_message(app: Flask, ident: str) -> Message:
    with services(app).db.session() as session:
        return session.get_one(Message, ident)


def views(app: Flask, page: str) -> list[tuple[str | None, str | None]]:
    """(practice, object) of each ``console.view.<page>`` audit entry, in order."""
    return [(e.practice_id, e.object_ref) for e in audited(app, f"console.view.{page}")]


def audited(app: Flask, action: str) -> list[AuditEntry]:
    with services(app).db.session() as session:
        query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
        return list(session.scalars(query))


def chain_verifies(app: Flask) -> bool:
    with services(app).db.session() as session:
        result = audit.verify(session)
    assert result.ok, result.reason
    return True


def signed_in(app: Flask, make_user, username: str, practices: list[str]) -> Console:
    """A secretary of these practices, signed in at the clock's current time."""
    console = Console(app)
    console.login(*make_user(username, "secretary", practices))
    return console


def page_of(console: Console, path: str) -> str:
    """The page's text as a reader sees it (entities decoded)."""
    answer = console.get(path)
    assert answer.status_code == 200, (answer.status_code, answer.location)
    return html.unescape(answer.get_data(as_text=True))


def row_of(page: str, ident: str) -> str:
    """The table row of a message or an appointment."""
    found = re.search(rf'<tr[^>]*id="(?:message|appointment)-{ident}".*?</tr>', page, re.S)
    assert found, f"no row {ident}"
    return found.group(0)


def at(moment: str) -> datetime:
    return datetime.fromisoformat(moment)


def book(
    app: Flask, patient_id: str, starts: str, doctor: str = "dr-martin", practice: str = "demo"
) -> str:
    """An appointment as the phone books it (the same conditional insert)."""
    svc = services(app)
    with svc.db.session() as session:
        new = booking.book(
            session, practice_id=practice, doctor_id=doctor, patient_id=patient_id,
            starts_at=at(starts), minutes=20, slot_minutes=20, kind="consultation",
            now=svc.clock.now(),
        )  # fmt: skip
    assert new is not None, f"{starts} is taken"
    return new


class _Undo(Exception):
    pass


def can_book(app: Flask, starts: str, doctor: str = "dr-martin") -> bool:
    """Whether the slot is free: booking it works (then the booking is rolled back)."""
    svc = services(app)
    taken: list[str | None] = []
    with pytest.raises(_Undo), svc.db.session() as session:
        patient_id = session.scalars(select(Patient.id)).first()
        assert patient_id is not None
        taken.append(booking.book(
            session, practice_id="demo", doctor_id=doctor, patient_id=patient_id,
            starts_at=at(starts), minutes=20, slot_minutes=20, kind="consultation",
            now=svc.clock.now(),
        ))  # fmt: skip
        raise _Undo
    return taken[0] is not None


def appointment(app: Flask, ident: str) -> Appointment:
    with services(app).db.session() as session:
        return session.get_one(Appointment, ident)


def booked(app: Flask) -> list[Appointment]:
    with services(app).db.session() as session:
        query = select(Appointment).where(Appointment.status == booking.BOOKED)
        return list(session.scalars(query.order_by(Appointment.starts_at)))


def seed_port_patient(app: Flask, phone: str = CALLER) -> str:
    """A patient of the second practice with the same number as the demo one."""
    svc = services(app)
    bits = svc.practices.by_id("port").blind_index_bits
    with svc.db.session() as session:
        patient = Patient(
            practice_id="port", phone=phone,
            phone_index=svc.cipher.phone_index(phone, practice="port", bits=bits),
            name=OTHER_NAME, birth_date="1975-06-01", created_at=OPEN_HOURS,
            last_seen_at=OPEN_HOURS,
        )  # fmt: skip
        session.add(patient)
        session.flush()
        return patient.id


# -- messages -----------------------------------------------------------------------


def test_a_message_left_by_a_call_shows_its_transcript_caller_and_call_back_number(
    app, twilio, secretary
):
    seed(app, "1980-03-15")
    leave_message(twilio, dob=DOB)
    page = page_of(secretary, "/console/messages")
    row = row_of(page, message_id(app, WORDS))
    assert WORDS in row and NAME in row
    assert 'href="tel:+33612345678"' in row  # one tap to call back
    assert "Marquer rappelé / traité" in row
    assert views(app, "messages") == [("demo", None)]
    [entry] = audited(app, "console.view.messages")
    assert entry.actor == "console:lea" and entry.details == '{"rows":1}'
    assert chain_verifies(app)


def test_a_message_without_a_transcript_says_why(app, twilio, secretary):
    """A call-back request has no words; a failed transcription says to call back."""
    call = twilio.place_call(OTHER_CALLER, DEMO).press("3").busy().press("1")
    assert call.ended
    failed = twilio.place_call(CALLER, DEMO).press("2").press("*").silence()
    failed.record(seconds=9, transcription="failed", finish="hangup")
    failed.deliver()
    page = page_of(secretary, "/console/messages")
    assert "Pas de message : demande à être rappelé" in page
    assert "Transcription impossible : rappeler le patient" in page
    assert "Transcription en cours" not in page


def test_urgent_messages_come_first_even_when_older(app, twilio, secretary):
    set_clock(app, "2026-11-24T09:00:00+01:00")
    leave_urgent_message(twilio)
    set_clock(app, "2026-11-24T09:50:00+01:00")
    leave_message(twilio)
    page = page_of(secretary, "/console/messages")
    assert page.index(FEVER) < page.index(WORDS)
    urgent_row = row_of(page, message_id(app, FEVER))
    assert 'class="urgent"' in urgent_row and "URGENT" in urgent_row
    assert "URGENT" not in row_of(page, message_id(app, WORDS))


def test_marking_a_message_handled_changes_it_once_and_is_audited_once(app, twilio, secretary):
    leave_message(twilio)
    ident = message_id(app, WORDS)
    page_of(secretary, "/console/messages")
    done = secretary.post(f"/console/messages/{ident}/handled")
    assert done.status_code == 302 and done.location.endswith("/console/messages")
    first = stored_message(app, ident)
    assert first.handled_at == OPEN_HOURS and first.handled_by is not None
    set_clock(app, "2026-11-24T10:05:00+01:00")
    again = secretary.post(f"/console/messages/{ident}/handled")  # a double click, a replay
    assert again.status_code == 302
    assert stored_message(app, ident).handled_at == OPEN_HOURS  # unchanged
    assert [e.object_ref for e in audited(app, "console.message_handled")] == [ident]
    row = row_of(page_of(secretary, "/console/messages"), ident)
    assert "Rappelé / traité" in row and "<form" not in row  # still listed today, done
    assert chain_verifies(app)


def test_another_practices_message_answers_404_and_stays_open(app, twilio, secretary):
    leave_message(twilio, number=PORT, words=PORT_WORDS)
    ident = message_id(app, PORT_WORDS)
    page = page_of(secretary, "/console/messages")
    assert PORT_WORDS not in page and "cabinet du Port" not in page
    assert secretary.post(f"/console/messages/{ident}/handled").status_code == 404
    assert secretary.post("/console/messages/no-such-message/handled").status_code == 404
    assert stored_message(app, ident).handled_at is None
    assert audited(app, "console.message_handled") == []


def test_unhandled_messages_stay_listed_until_handled_older_ones_grouped_by_week(
    app, twilio, make_user
):
    """Never hidden while open: the last seven days share today's list, older ones
    follow by week, back to the messages' retention (90 days); handled ones only on
    their day."""
    set_clock(app, "2026-08-20T10:00:00+02:00")  # 96 days before: past the retention
    leave_message(twilio, words="Message d'août, déjà purgé")
    set_clock(app, "2026-09-01T10:00:00+02:00")  # 84 days before
    leave_message(twilio, words="Message de septembre")
    set_clock(app, "2026-11-16T10:00:00+01:00")  # eight days before
    leave_message(twilio, words="Message de il y a huit jours")
    set_clock(app, "2026-11-17T10:00:00+01:00")  # seven days before
    leave_message(twilio, words="Message de il y a sept jours")
    set_clock(app, "2026-11-21T10:00:00+01:00")  # three days before
    leave_message(twilio, words="Message ouvert de samedi")
    leave_message(twilio, words="Message traité samedi", caller=OTHER_CALLER)
    then = signed_in(app, make_user, "lea", ["demo"])
    page_of(then, "/console/messages")
    handled = message_id(app, "Message traité samedi")
    assert then.post(f"/console/messages/{handled}/handled").status_code == 302
    set_clock(app, OPEN_HOURS.isoformat())
    today = signed_in(app, make_user, "marc", ["demo"])
    page = page_of(today, "/console/messages")
    recent, older = page.split("Plus anciens, non traités")
    assert "Message ouvert de samedi" in recent and "Message de il y a sept jours" in recent
    assert "jusqu’à ce qu’il soit traité" in recent and "(90 jours)" in recent
    assert "Message traité samedi" not in page and "Message d'août" not in page
    # By week, the newest week first: the week of Monday 16 November, then of 31 August.
    assert older.count("Semaine du") == 2
    first, second = older.split("Semaine du")[1:]
    assert "Message de il y a huit jours" in first and "Message de septembre" in second
    assert "16/11" in first and "31/08" in second
    assert "Marquer rappelé / traité" in first and "Marquer rappelé / traité" in second
    assert audited(app, "console.view.messages")[-1].details == '{"rows":4}'


def test_only_older_messages_still_say_there_is_nothing_recent(app, twilio, secretary):
    set_clock(app, "2026-11-02T10:00:00+01:00")
    leave_message(twilio)
    set_clock(app, OPEN_HOURS.isoformat())
    page = page_of(secretary, "/console/messages")
    assert "Aucun message ces derniers jours." in page and "Aucun message." not in page
    assert WORDS in page.split("Plus anciens, non traités")[1]


def test_each_view_is_audited_once_per_practice_shown_and_not_when_empty(app, twilio, make_user):
    both = signed_in(app, make_user, "claire", ["demo", "port"])
    assert "Aucun message." in page_of(both, "/console/messages")
    assert views(app, "messages") == []  # nothing decrypted, nothing to audit
    leave_message(twilio)
    page_of(both, "/console/messages")
    assert views(app, "messages") == [("demo", None)]
    leave_message(twilio, number=PORT, words=PORT_WORDS)
    page = page_of(both, "/console/messages")
    assert WORDS in page and PORT_WORDS in page and "cabinet du Port" in page
    assert views(app, "messages") == [("demo", None), ("demo", None), ("port", None)]
    assert chain_verifies(app)


# -- live calls -------------------------------------------------------------------------


def test_live_calls_show_the_whispers_context_without_a_name_or_a_number(app, twilio, secretary):
    seed(app, "1980-03-15")
    waiting = twilio.place_call(OTHER_CALLER, DEMO).press("3").busy()
    assert waiting.waiting_for == "Enqueue"
    ringing = twilio.place_call(CALLER, DEMO).press("1").press(DOB).press("0")
    assert ringing.waiting_for == "Dial"
    urgent = twilio.place_call("+33611223344", DEMO).press("9")
    assert urgent.waiting_for == "Dial"
    elsewhere = twilio.place_call("+33655667788", PORT).press("3")
    assert elsewhere.waiting_for == "Dial"
    page = page_of(secretary, "/console/calls")
    rows = re.findall(r"<tr class=\"[^\"]*\">.*?</tr>", page, re.S)
    assert len(rows) == 3  # not the other practice's call
    assert "Appel urgent." in rows[0] and 'class="urgent"' in rows[0]  # urgent first
    assert any("En file d’attente" in r and "demande de secrétariat" in r for r in rows)
    known = [r for r in rows if "Patient identifié." in r]
    assert len(known) == 1 and "Transfert vers les secrétaires" in known[0]
    assert all("Appel pour le cabinet médical des Tilleuls." in r for r in rows)
    for secret in (NAME, "Quenouille", "1980", *NUMBER_LEAKS, "698765432", "611223344"):
        assert secret not in page
    assert "cabinet du Port" not in page
    assert audited(app, "console.view.calls") == []  # nothing decrypted is shown
    ringing.answer(press="1")
    waiting.hangup()
    urgent.answer(press="1")
    assert "Aucun appel en cours." in page_of(secretary, "/console/calls")


# -- appointments -------------------------------------------------------------------


def book_by_phone(twilio: TwilioEmulator) -> PhoneCall:
    """The known patient books docteure Martin's first slot: Tuesday at 14 h."""
    call = twilio.place_call(CALLER, DEMO).press("1").press(DOB)  # appointments, identified
    call.press("1").press("1").press("1")  # book, docteure Martin, the first slot
    assert "mardi 24 novembre à 14 h" in call.last_heard()
    call.press("1")  # yes
    assert call.ended
    return call


def test_appointments_are_listed_by_day_and_by_doctor(app, twilio, secretary):
    seed(app, "1980-03-15")
    book_by_phone(twilio)
    other = seed(app, "1990-01-01", name="Bérénice Lavande", phone=OTHER_CALLER)
    book(app, other, "2026-11-25T09:00:00+01:00", doctor="dr-bernard")
    page = page_of(secretary, "/console/appointments")  # today by default
    assert "mardi 24/11/2026" in page
    assert NAME in page and "24/11/2026 14:00 – 14:20" in page and "Claire Martin" in page
    assert "Bérénice Lavande" not in page
    wednesday = page_of(secretary, "/console/appointments?day=2026-11-25")
    assert "Bérénice Lavande" in wednesday and "Paul Bernard" in wednesday and NAME not in wednesday
    bernard = page_of(secretary, f"/console/appointments?day={TUESDAY}&doctor=demo:dr-bernard")
    assert NAME not in bernard and "Aucun rendez-vous." in bernard
    martin = page_of(secretary, f"/console/appointments?day={TUESDAY}&doctor=demo:dr-martin")
    assert NAME in martin
    assert views(app, "appointments") == [("demo", None)] * 3  # none for the empty page
    theirs = secretary.get(f"/console/appointments?day={TUESDAY}&doctor=port:dr-martin")
    assert theirs.status_code == 404
    assert chain_verifies(app)


def test_cancelling_frees_the_slot_which_the_phone_then_offers_again(app, twilio, secretary):
    seed(app, "1980-03-15")
    book_by_phone(twilio)
    [first] = booked(app)
    page_of(secretary, "/console/appointments")
    done = secretary.post(f"/console/appointments/{first.id}/cancel")
    assert done.status_code == 302 and done.location.endswith(f"?day={TUESDAY}")
    assert appointment(app, first.id).status == "cancelled"
    assert NAME not in page_of(secretary, "/console/appointments")
    again = book_by_phone(twilio)  # the same first slot, booked again
    assert again.ended and [a.starts_at for a in booked(app)] == [first.starts_at]
    replay = secretary.post(f"/console/appointments/{first.id}/cancel")
    assert replay.status_code == 302  # a second click: nothing more happens
    assert len(booked(app)) == 1 and appointment(app, first.id).status == "cancelled"
    assert [e.object_ref for e in audited(app, "console.appointment_cancelled")] == [first.id]
    assert chain_verifies(app)


def test_moving_holds_the_new_slot_and_frees_the_old_one(app, twilio, secretary):
    patient = seed(app, "1980-03-15")
    old = book(app, patient, "2026-11-24T14:00:00+01:00")
    move = f"/console/appointments/{old}/move"
    page = page_of(secretary, move)
    assert NAME in page and "24/11/2026 14:00" in page  # the appointment being moved
    assert 'value="2026-11-24T14:20:00+01:00"' in page  # the next free starts
    assert 'value="2026-11-24T14:00:00+01:00"' not in page
    assert views(app, "appointment") == [("demo", old)]
    done = secretary.post(move, {"start": "2026-11-24T15:00:00+01:00"})
    assert done.status_code == 302 and done.location.endswith(f"?day={TUESDAY}")
    [new] = booked(app)
    assert new.starts_at == at("2026-11-24T15:00:00+01:00") and new.patient_id == patient
    assert new.replaces_id == old and appointment(app, old).status == "moved"
    assert can_book(app, "2026-11-24T14:00:00+01:00")  # the old slot is free
    assert not can_book(app, "2026-11-24T15:00:00+01:00")  # the new one is held
    replay = secretary.post(move, {"start": "2026-11-24T16:00:00+01:00"})
    assert replay.status_code == 302 and [a.id for a in booked(app)] == [new.id]
    assert [e.object_ref for e in audited(app, "console.appointment_moved")] == [old]
    assert chain_verifies(app)


def test_a_move_is_confirmed_by_sms_once_the_page_is_sent(app, secretary, fake_twilio):
    """A console action runs in the same unit of work as a webhook: its SMS goes at once."""
    old = book(app, seed(app, "1980-03-15"), "2026-11-24T14:00:00+01:00")
    move = f"/console/appointments/{old}/move"
    page_of(secretary, move)
    done = secretary.post(move, {"start": "2026-11-24T15:00:00+01:00"})
    assert done.status_code == 302
    assert not [r for r in fake_twilio.requests if r.path.endswith("/Messages.json")]
    done.close()  # as a WSGI server does once the page is sent
    assert len([r for r in fake_twilio.requests if r.path.endswith("/Messages.json")]) == 1


def test_the_move_page_lists_the_free_starts_of_a_chosen_day(app, secretary):
    patient = seed(app, "1980-03-15")
    old = book(app, patient, "2026-11-24T14:00:00+01:00")
    page = page_of(secretary, f"/console/appointments/{old}/move?day=2026-11-26")
    assert 'value="2026-11-26T09:00:00+01:00"' in page and "2026-11-24T" not in page
    done = secretary.post(
        f"/console/appointments/{old}/move?day=2026-11-26", {"start": "2026-11-26T17:40:00+01:00"}
    )
    assert done.status_code == 302 and done.location.endswith("?day=2026-11-26")
    assert [a.starts_at for a in booked(app)] == [at("2026-11-26T17:40:00+01:00")]
    wednesday = page_of(secretary, f"/console/appointments/{booked(app)[0].id}/move?day=2026-11-25")
    assert "Aucun créneau libre ce jour-là." in wednesday  # docteure Martin is away on Wednesdays


def test_a_slot_taken_meanwhile_answers_409_and_keeps_the_appointment(app, secretary):
    patient = seed(app, "1980-03-15")
    other = seed(app, "1990-01-01", name="Bérénice Lavande", phone=OTHER_CALLER)
    old = book(app, patient, "2026-11-24T14:00:00+01:00")
    move = f"/console/appointments/{old}/move"
    assert 'value="2026-11-24T15:00:00+01:00"' in page_of(secretary, move)
    book(app, other, "2026-11-24T15:00:00+01:00")  # a caller takes it meanwhile
    refused = secretary.post(move, {"start": "2026-11-24T15:00:00+01:00"})
    assert refused.status_code == 409
    assert TAKEN in refused.get_data(as_text=True)
    assert appointment(app, old).status == "booked"
    assert [a.patient_id for a in booked(app)] == [patient, other]
    for odd in ("", "not-a-date", "2026-11-24T15:20:00"):  # no zone: not one of the offers
        assert secretary.post(move, {"start": odd}).status_code == 409
    assert audited(app, "console.appointment_moved") == []


def test_the_move_page_names_the_patient_of_that_appointment_not_another_at_the_same_time(
    app, secretary
):
    """Two doctors see a patient each at 9 h on 1 December: the page shows the right one."""
    martins = seed(app, "1980-03-15")
    bernards = seed(app, "1990-01-01", name="Bérénice Lavande", phone=OTHER_CALLER)
    book(app, bernards, "2026-12-01T09:00:00+01:00", doctor="dr-bernard")
    ident = book(app, martins, "2026-12-01T09:00:00+01:00")
    page = page_of(secretary, f"/console/appointments/{ident}/move")
    assert NAME in page and "Bérénice Lavande" not in page and "Claire Martin" in page


def test_another_practices_appointment_cannot_be_cancelled_or_moved(app, secretary):
    theirs = book(app, seed_port_patient(app), "2026-11-24T14:00:00+01:00", practice="port")
    page_of(secretary, "/console/appointments")
    assert secretary.post(f"/console/appointments/{theirs}/cancel").status_code == 404
    assert secretary.get(f"/console/appointments/{theirs}/move").status_code == 404
    move = secretary.post(
        f"/console/appointments/{theirs}/move", {"start": "2026-11-24T15:00:00+01:00"}
    )
    assert move.status_code == 404
    assert appointment(app, theirs).status == "booked"
    assert OTHER_NAME not in page_of(secretary, "/console/appointments")


# -- search by number ---------------------------------------------------------------


def search(console: Console, number: str) -> str:
    page_of(console, "/console/search")
    answer = console.post("/console/search", {"number": number})
    assert answer.status_code == 200
    return html.unescape(answer.get_data(as_text=True))


def test_the_search_finds_the_patient_by_the_exact_number_in_any_common_format(
    app, twilio, secretary
):
    seed(app, "1980-03-15")
    leave_message(twilio, dob=DOB)
    book_by_phone(twilio)
    for typed in FORMATS:
        page = search(secretary, typed)
        assert NAME in page and "15 mars 1980" in page, typed
        assert WORDS in page and "24/11/2026 14:00" in page, typed  # messages, appointments
    assert views(app, "search") == [("demo", None)] * len(FORMATS)
    assert chain_verifies(app)


def test_a_different_number_finds_nobody_and_the_search_is_still_audited(app, twilio, secretary):
    """Trying numbers is itself worth knowing: every search is audited, found or not."""
    seed(app, "1980-03-15")
    seed(app, "1990-01-01", name="Bérénice Lavande", phone=OTHER_CALLER)
    tried = ("06 12 34 56 79", "12 34 56 78", "0612", "n'importe quoi", "")
    for typed in tried:
        page = search(secretary, typed)
        assert "Rien pour ce numéro : aucun patient, aucun message" in page, typed
        assert NAME not in page and "Bérénice Lavande" not in page, typed
    assert views(app, "search") == [("demo", None)] * len(tried)
    nobody = {"rows": 0, "patients": [], "messages": [], "appointments": [], "calls": [],
              "requests": [], "waiting": []}  # fmt: skip
    assert {e.details for e in audited(app, "console.view.search")} == {
        json.dumps(nobody, sort_keys=True, separators=(",", ":"))
    }


def test_a_search_records_the_row_ids_of_the_patients_messages_and_appointments_shown(
    app, twilio, secretary
):
    """Whose records were seen: the pseudonymous ids, never the number or the name."""
    seed(app, "1980-03-15")
    leave_message(twilio, dob=DOB)
    book_by_phone(twilio)
    search(secretary, "06 12 34 56 78")
    with services(app).db.session() as session:
        [patient] = session.scalars(select(Patient.id).where(Patient.practice_id == "demo"))
    [appointment] = booked(app)
    [entry] = audited(app, "console.view.search")
    details = json.loads(entry.details or "")
    assert sorted(details.pop("calls")) == sorted(call_ids(app))  # the message's, the booking's
    assert details == {
        "rows": 1, "patients": [patient], "messages": [message_id(app, WORDS)],
        "appointments": [appointment.id], "requests": [], "waiting": [],
    }  # fmt: skip
    assert "0612345678" not in (entry.details or "") and NAME not in (entry.details or "")
    assert chain_verifies(app)


def call_ids(app: Flask) -> list[str]:
    """The calls' row ids, newest first (as the search lists them)."""
    with services(app).db.session() as session:
        return list(session.scalars(select(Call.id).order_by(Call.started_at.desc())))


def test_a_search_lists_an_urgent_unidentified_message_left_from_the_number(app, twilio, secretary):
    """An urgent call skips identification: its message and the call itself are found
    by the call-back number and the caller's number, not through a patient."""
    seed(app, "1980-03-15")  # a patient with another number
    set_clock(app, "2026-11-24T06:40:00+01:00")
    leave_urgent_message(twilio)
    set_clock(app, OPEN_HOURS.isoformat())
    ident = message_id(app, FEVER)
    assert stored_message(app, ident).patient_id is None
    page = search(secretary, "06 98 76 54 32")
    row = row_of(page, ident)
    assert FEVER in row and "URGENT" in row and "Non identifié" in row
    assert 'href="tel:+33698765432"' in row
    [call] = call_ids(app)
    call_row = re.search(rf'<tr[^>]*id="call-{call}".*?</tr>', page, re.S)
    assert call_row and "URGENT" in call_row.group(0) and "24/11/2026 06:40" in call_row.group(0)
    assert "Aucun patient avec ce numéro." in page and NAME not in page
    [entry] = audited(app, "console.view.search")
    assert json.loads(entry.details or "") == {
        "rows": 0, "patients": [], "messages": [ident], "appointments": [], "calls": [call],
        "requests": [], "waiting": [],
    }  # fmt: skip
    # Another number, even one sharing the practice: nothing of this caller.
    other = search(secretary, "06 12 34 56 78")
    assert FEVER not in other and NAME in other
    assert chain_verifies(app)


def test_a_search_keeps_to_the_practices_of_the_account(app, twilio, secretary):
    """The same number called the cabinet du Port: not shown to the demo's secretary."""
    twilio.place_call(OTHER_CALLER, PORT).press("9").no_answer().silence().record(
        seconds=9, words=PORT_WORDS, finish="hangup"
    ).deliver()
    page = search(secretary, "06 98 76 54 32")
    assert PORT_WORDS not in page and "cabinet du Port" not in page
    assert "Rien pour ce numéro : aucun patient, aucun message" in page
    assert views(app, "search") == [("demo", None)]


def test_each_console_write_is_signed_at_once_so_it_cannot_be_cut_unseen(app, twilio, secretary):
    """After the page's audit entry commits, the checkpoint file holds the new head."""
    seed(app, "1980-03-15")
    search(secretary, "06 12 34 56 78")
    svc = services(app)
    latest = audit.read_latest_checkpoint(svc.checkpoint_path, svc.keyring.verify_key())
    [entry] = audited(app, "console.view.search")
    assert latest is not None and latest["seq"] >= entry.seq
    with svc.db.session() as session:
        assert svc.verify_audit(session).ok


def test_the_number_searched_for_appears_in_no_url_and_no_log_line(
    app, twilio, secretary, rendered_logs
):
    seed(app, "1980-03-15")
    leave_message(twilio, dob=DOB)
    requests: list[str] = []
    page_of(secretary, "/console/search")
    for typed in FORMATS:
        answer = secretary.post("/console/search", {"number": typed})
        requests += [answer.request.url, answer.location or ""]
    # A number in the query string is ignored: nobody can build links that search.
    assert NAME not in page_of(secretary, "/console/search?number=0612345678")
    output = rendered_logs.getvalue()
    assert '"event": "webhook"' in output  # the logs were captured, rendered as in production
    for leak in NUMBER_LEAKS:
        assert not any(leak in url for url in requests), leak
        assert leak not in output, leak


def test_a_patient_of_another_practice_with_the_same_number_is_not_listed(
    app, make_user, secretary
):
    seed(app, "1980-03-15")
    seed_port_patient(app)
    page = search(secretary, "06 12 34 56 78")
    assert NAME in page and OTHER_NAME not in page and "cabinet du Port" not in page
    assert views(app, "search") == [("demo", None)]
    both = signed_in(app, make_user, "claire", ["demo", "port"])
    page = search(both, "06 12 34 56 78")
    assert NAME in page and OTHER_NAME in page
    assert views(app, "search")[1:] == [("demo", None), ("port", None)]


# -- roles --------------------------------------------------------------------------


def test_a_doctor_cannot_open_or_post_to_the_secretaries_pages(app, twilio, make_user):
    patient = seed(app, "1980-03-15")
    ident = book(app, patient, "2026-11-24T14:00:00+01:00")
    leave_message(twilio)
    doctor = Console(app)
    doctor.login(*make_user("claire", "doctor", ["demo"], "dr-martin"))
    page_of(doctor, "/console/doctor")  # for the form token
    for path in ("/console/messages", "/console/calls", "/console/appointments",
                 "/console/search", f"/console/appointments/{ident}/move"):  # fmt: skip
        assert doctor.get(path).status_code == 403, path
    assert doctor.post(f"/console/appointments/{ident}/cancel").status_code == 403
    assert doctor.post(f"/console/appointments/{ident}/move", {"start": "x"}).status_code == 403
    assert doctor.post("/console/search", {"number": "0612345678"}).status_code == 403
    assert appointment(app, ident).status == "booked"
    with services(app).db.session() as session:
        actions = set(session.scalars(select(AuditEntry.action)))
    assert not {a for a in actions if a.startswith("console.view.") and a != "console.view.doctor"}
    assert not actions & {"console.appointment_cancelled", "console.appointment_moved"}


def test_the_audit_chain_verifies_after_a_secretarys_morning(app, twilio, secretary):
    """Every page and every action of the day, then ``audit verify``."""
    seed(app, "1980-03-15")
    leave_message(twilio, dob=DOB)
    leave_urgent_message(twilio)
    book_by_phone(twilio)
    page_of(secretary, "/console/messages")
    secretary.post(f"/console/messages/{message_id(app, FEVER)}/handled")
    page_of(secretary, "/console/calls")
    [first] = booked(app)
    page_of(secretary, f"/console/appointments/{first.id}/move")
    secretary.post(f"/console/appointments/{first.id}/move", {"start": "2026-11-24T16:00:00+01:00"})
    [moved] = booked(app)
    page_of(secretary, "/console/appointments")
    secretary.post(f"/console/appointments/{moved.id}/cancel")
    search(secretary, "06 12 34 56 78")
    with services(app).db.session() as session:
        result = audit.verify(session)
        actions = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))
    assert result.ok, result.reason
    signing_in = {"console.user_added", "console.login"}
    assert [a for a in actions if a.startswith("console.") and a not in signing_in] == [
        "console.view.messages", "console.message_handled", "console.view.appointment",
        "console.appointment_moved", "console.view.appointments", "console.appointment_cancelled",
        "console.view.search",
    ]  # fmt: skip
