"""Requests from the phone to the « Demandes » page: a prescription renewal said at the
open question is stored encrypted; the doctor marks it done and the patient's SMS (at
the fake Twilio REST API) says only that the request was handled.

The clock is Tuesday 24 November 2026, 10:00 in Paris (tests.conftest); the demo
practice has two doctors, so the caller is asked which one unless they named one.
"""

from __future__ import annotations

import html
import json
import re

import pytest
from flask import Flask
from sqlalchemy import select, text

from callcenter.audit.models import AuditEntry
from callcenter.patient_requests.models import PatientRequest, RequestSms
from callcenter.phone.emulator import PhoneCall, TwilioEmulator
from tests.conftest import CALLER, OPEN_HOURS, services, write_practice
from tests.fake_twilio import FakeTwilio
from tests.ivr.test_identify import DOB, NAME, seed
from tests.waitlist.conftest import join
from tests.web.console.conftest import Console
from tests.web.console.test_secretary_pages import audited, search

DEMO = "+33184880000"
WITHHELD = "anonymous"
ASKED = "je voudrais renouveler mon ordonnance de ventoline"
MEDICATION = "de la Ventoline et du Doliprane"
SECRETS = ("ventoline", "doliprane", "zéphyrine", "quenouille", "15031980", "15/03/1980",
           "1980-03-15", "ordonnance", "prescription")  # fmt: skip


@pytest.fixture
def martin(app: Flask, make_user, console: Console) -> Console:
    """Dr Martin, signed in."""
    console.login(*make_user("claire", "doctor", ["demo"], "dr-martin"))
    return console


def leave_request(twilio: TwilioEmulator, caller: str = CALLER, detail: str = MEDICATION,
                  doctor_key: str | None = "1") -> PhoneCall:  # fmt: skip
    """The caller asks for a renewal, is identified, picks a doctor and says the detail."""
    call = twilio.place_call(caller, DEMO).say(ASKED)
    call.press(DOB)
    if doctor_key is not None:
        assert "À quel médecin s'adresse votre demande" in call.last_heard()
        call.press(doctor_key)
    assert "dites en une phrase le ou les médicaments" in call.last_heard()
    return call.say(detail)


def the_request(app: Flask) -> PatientRequest:
    with services(app).db.session() as session:
        [request] = session.scalars(select(PatientRequest)).all()
        session.expunge(request)
        return request


def sms_bodies(fake_twilio: FakeTwilio) -> list[tuple[str, str]]:
    return [(r.form["To"], r.form["Body"]) for r in fake_twilio.requests
            if r.path.endswith("/Messages.json")]  # fmt: skip


def row_of(page: str, request_id: str) -> str:
    found = re.search(rf'<tr[^>]*id="request-{request_id}".*?</tr>', page, re.S)
    assert found, f"no row {request_id}"
    return found.group(0)


def act(console: Console, request_id: str, outcome: str) -> int:
    """Post an action as a browser does: the response is closed, so what the action queued
    (the SMS) goes out then, as after any console page."""
    answer = console.post(f"/console/requests/{request_id}/{outcome}")
    answer.close()
    return answer.status_code


def page(console: Console) -> str:
    answer = console.get("/console/requests")
    assert answer.status_code == 200, answer.status_code
    return html.unescape(answer.get_data(as_text=True))


def test_a_prescription_request_is_stored_encrypted_and_its_sms_says_nothing_of_it(
    app, twilio, martin, fake_twilio
):
    seed(app, "1980-03-15")
    call = leave_request(twilio)
    assert "Votre demande est transmise au cabinet" in call.last_heard()
    assert call.ended
    request = the_request(app)
    assert (request.kind, request.doctor_id, request.status) == (
        "prescription",
        "dr-martin",
        "open",
    )
    assert request.detail == MEDICATION and request.callback_number == CALLER
    assert request.patient_id is not None
    with services(app).db.session() as session:
        raw = session.execute(text("SELECT detail, callback_number FROM patient_requests")).one()
    assert b"Ventoline" not in raw[0] and CALLER.encode() not in raw[1]

    shown = row_of(page(martin), request.id)
    assert MEDICATION in shown and NAME in shown
    done = martin.post(f"/console/requests/{request.id}/done")
    done.close()
    assert done.status_code == 302 and done.location.endswith("/console/requests")
    assert the_request(app).status == "done"
    [(to, body)] = sms_bodies(fake_twilio)
    assert to == CALLER and body == "cabinet médical des Tilleuls : votre demande a été traitée."
    assert not any(secret in body.lower() for secret in SECRETS)


def test_a_double_click_on_done_sends_one_sms_and_audits_once(app, twilio, martin, fake_twilio):
    seed(app, "1980-03-15")
    leave_request(twilio)
    request_id = the_request(app).id
    page(martin)
    for _ in range(2):
        assert act(martin, request_id, "done") == 302
    assert len(sms_bodies(fake_twilio)) == 1
    with services(app).db.session() as session:
        assert len(session.scalars(select(RequestSms)).all()) == 1
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.action == "console.request_done")
        ).all()
    assert len(actions) == 1


@pytest.mark.parametrize("outcome", ["declined", "consultation"])
def test_declined_or_to_be_seen_is_recorded_and_sends_no_sms(
    app, twilio, martin, fake_twilio, outcome
):
    seed(app, "1980-03-15")
    leave_request(twilio)
    request_id = the_request(app).id
    page(martin)
    assert act(martin, request_id, outcome) == 302
    assert the_request(app).status == outcome
    assert sms_bodies(fake_twilio) == []
    label = {"declined": "Refusée", "consultation": "À voir en consultation"}[outcome]
    assert label in row_of(page(martin), request_id)


def test_an_unknown_request_or_outcome_is_a_404(app, twilio, martin):
    seed(app, "1980-03-15")
    leave_request(twilio)
    page(martin)
    assert martin.post("/console/requests/nosuchrequest/done").status_code == 404
    assert act(martin, the_request(app).id, "approved") == 404
    assert the_request(app).status == "open"


def test_another_doctors_request_is_neither_shown_nor_handled(app, twilio, martin):
    seed(app, "1980-03-15")
    leave_request(twilio, doctor_key="2")  # for Dr Bernard
    request_id = the_request(app).id
    assert f"request-{request_id}" not in page(martin)
    assert act(martin, request_id, "done") == 404
    assert the_request(app).status == "open"


def test_secretaries_see_requests_but_only_doctors_handle_them_by_default(
    app, twilio, secretary, fake_twilio
):
    seed(app, "1980-03-15")
    leave_request(twilio)
    request_id = the_request(app).id
    shown = row_of(page(secretary), request_id)
    assert "Seuls les médecins traitent les demandes" in shown and "<button" not in shown
    assert act(secretary, request_id, "done") == 403
    assert the_request(app).status == "open" and sms_bodies(fake_twilio) == []


@pytest.fixture
def secretaries_handle(home):
    """The demo practice lets its secretaries handle requests (before the app reads it)."""
    write_practice(home, requests={"handled_by": "secretaries"})


def test_a_practice_may_let_its_secretaries_handle_requests(
    secretaries_handle, app, twilio, secretary, fake_twilio
):
    seed(app, "1980-03-15")
    leave_request(twilio)
    request_id = the_request(app).id
    page(secretary)
    assert act(secretary, request_id, "done") == 302
    assert len(sms_bodies(fake_twilio)) == 1


def test_an_unidentified_callers_sms_goes_to_the_number_they_called_from(
    app, twilio, martin, fake_twilio
):
    other = "+33698765432"  # no patient has this number: the caller registers or skips
    call = twilio.place_call(other, DEMO).say(ASKED)
    while "À quel médecin" not in call.last_heard() and not call.ended:
        call.silence()  # no date of birth, no name: unidentified
    call.press("1")
    call.say(MEDICATION)
    request = the_request(app)
    assert request.patient_id is None and request.callback_number == other
    page(martin)
    assert act(martin, request.id, "done") == 302
    [(to, body)] = sms_bodies(fake_twilio)
    assert to == other and "ventoline" not in body.lower()


def test_a_doctor_named_at_the_open_question_is_not_asked_for_again(app, twilio):
    seed(app, "1980-03-15")
    call = twilio.place_call(CALLER, DEMO).say("un certificat pour le docteur bernard")
    call.press(DOB)
    heard = call.last_heard()
    assert "À quel médecin" not in heard and "certificat" in heard
    call.say("un certificat de sport")
    request = the_request(app)
    assert (request.kind, request.doctor_id) == ("certificate", "dr-bernard")


def test_silence_twice_at_the_detail_still_leaves_the_request_without_it(app, twilio):
    seed(app, "1980-03-15")
    call = twilio.place_call(CALLER, DEMO).say(ASKED).press(DOB).press("1")
    call.silence()
    assert "Je n'ai rien entendu" in call.last_heard()
    call.silence()
    assert "Votre demande est transmise au cabinet" in call.last_heard()
    request = the_request(app)
    assert request.detail is None and request.kind == "prescription"


def test_a_withheld_callers_sms_goes_to_the_number_they_keyed(app, twilio, martin, fake_twilio):
    call = twilio.place_call("anonymous", DEMO).say(ASKED)
    call.press("0698765432").press("*")  # the call-back number; no date of birth
    assert "À quel médecin s'adresse votre demande" in call.last_heard()
    call.press("*").say(MEDICATION)  # for the practice
    request = the_request(app)
    assert request.callback_number == "+33698765432" and request.doctor_id is None
    page(martin)
    assert act(martin, request.id, "done") == 302
    assert [to for to, _ in sms_bodies(fake_twilio)] == ["+33698765432"]


# -- the search by number and the doctor's page ---------------------------------------


def test_the_search_lists_the_numbers_requests_and_waiting_entries_and_audits_their_ids(
    app, twilio, secretary
):
    patient = seed(app, "1980-03-15")
    leave_request(twilio)  # for Dr Martin
    waiting = join(app, patient, period="morning")
    elsewhere = join(app, patient, phone="+33698765432", doctor=None)  # the patient's too
    request_id = the_request(app).id
    found = search(secretary, "06 12 34 56 78")
    row = row_of(found, request_id)
    assert "Renouvellement d'ordonnance" in row and "Claire Martin" in row
    assert MEDICATION in row and "En attente" in row
    entry_row = re.search(rf'<tr[^>]*id="entry-{waiting}".*?</tr>', found, re.S)
    assert entry_row and "Claire Martin" in entry_row.group(0) and "Matin" in entry_row.group(0)
    assert f'id="entry-{elsewhere}"' in found
    [entry] = audited(app, "console.view.search")
    details = json.loads(entry.details or "")
    assert details["requests"] == [request_id]
    assert sorted(details["waiting"]) == sorted([waiting, elsewhere])
    # Another number finds neither.
    other = search(secretary, "06 11 22 33 44")
    assert f"request-{request_id}" not in other and "entry-" not in other


def test_the_doctors_page_counts_the_open_requests_for_them_and_the_practice(app, martin):
    with services(app).db.session() as session:
        for practice, doctor, status in [
            ("demo", "dr-martin", "open"), ("demo", None, "open"),  # counted
            ("demo", "dr-martin", "done"), ("demo", "dr-bernard", "open"), ("port", None, "open"),
        ]:  # fmt: skip
            session.add(PatientRequest(practice_id=practice, doctor_id=doctor, status=status,
                                       kind="results", created_at=OPEN_HOURS))  # fmt: skip
    answer = martin.get("/console/doctor")
    shown = html.unescape(answer.get_data(as_text=True))
    counted = re.search(r'<p id="requests-awaiting">(.*?)</p>', shown, re.S)
    assert counted and "<strong>2</strong>" in counted.group(1)
    assert 'href="/console/requests"' in counted.group(1)
