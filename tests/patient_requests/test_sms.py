"""The "request handled" SMS through the fake Twilio REST API: to the call-back number,
with nothing of the request in it, once, retried when Twilio fails, skipped for a landline."""

from __future__ import annotations

import itertools
from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from callcenter.calls.models import Call
from callcenter.patient_requests import desk, sms
from callcenter.patient_requests.models import PatientRequest, RequestSms
from callcenter.patients.models import Patient
from tests.conftest import OPEN_HOURS, services
from tests.fake_twilio import FakeTwilio

MOBILE = "+33698765432"
LANDLINE = "+33145678901"
NAME, BORN, DETAIL = "Zéphyrine Quenouille", "1980-03-15", "Ventoline 100 microgrammes"
_sids = itertools.count(1)


def handled(app: Flask, number: str | None, *, patient: bool = False) -> str:
    """A request left from ``number`` (by a known patient or not), marked done now."""
    svc = services(app)
    with svc.db.session() as session:
        patient_id = None
        if patient:
            row = Patient(practice_id="demo", phone=number, name=NAME, birth_date=BORN,
                          created_at=OPEN_HOURS, last_seen_at=OPEN_HOURS)  # fmt: skip
            session.add(row)
            session.flush()
            patient_id = row.id
        call = Call(practice_id="demo", call_sid=f"CA{next(_sids):032x}", caller=number,
                    patient_id=patient_id, started_at=OPEN_HOURS, flow="request",
                    node="detail")  # fmt: skip
        session.add(call)
        session.flush()
        request = desk.capture(session, call, "prescription", DETAIL, OPEN_HOURS)
        session.flush()
        desk.handle(session, request, desk.DONE, "u1", OPEN_HOURS)
        return request.id


def sent(fake_twilio: FakeTwilio) -> list[tuple[str, str]]:
    return [(r.form["To"], r.form["Body"]) for r in fake_twilio.requests
            if r.path.endswith("/Messages.json")]  # fmt: skip


def sms_row(app: Flask) -> RequestSms:
    with services(app).db.session() as session:
        row = session.scalars(select(RequestSms)).one()
        session.expunge(row)
        return row


def test_the_sms_names_the_practice_and_nothing_of_the_request(app, fake_twilio) -> None:
    handled(app, MOBILE, patient=True)
    assert services(app).send_notices(OPEN_HOURS).sent == 1
    [(to, body)] = sent(fake_twilio)
    assert to == MOBILE and body == "cabinet médical des Tilleuls : votre demande a été traitée."
    for secret in ("Ventoline", "microgrammes", "Zéphyrine", "Quenouille", "1980", "15/03",
                   "ordonnance", "renouvellement"):  # fmt: skip
        assert secret.lower() not in body.lower()
    assert services(app).send_notices(OPEN_HOURS + timedelta(hours=1)).sent == 0  # once
    assert sms_row(app).status == "sent"


def test_an_unidentified_callers_sms_goes_to_their_call_back_number(app, fake_twilio) -> None:
    handled(app, MOBILE)
    services(app).send_notices(OPEN_HOURS)
    assert [to for to, _ in sent(fake_twilio)] == [MOBILE]


def test_a_landline_or_no_number_is_skipped_not_failed(app, fake_twilio) -> None:
    handled(app, LANDLINE)
    services(app).send_notices(OPEN_HOURS)
    assert sent(fake_twilio) == []
    assert (sms_row(app).status, sms_row(app).last_error) == ("skipped", "no-mobile")


def test_a_twilio_failure_is_retried_later_and_sent_once(app, fake_twilio) -> None:
    handled(app, MOBILE)
    fake_twilio.fail_next("Messages", status=500)
    assert services(app).send_notices(OPEN_HOURS).failed == 1
    assert services(app).send_notices(OPEN_HOURS + timedelta(minutes=3)).sent == 1
    assert services(app).send_notices(OPEN_HOURS + timedelta(hours=2)).sent == 0
    assert (sms_row(app).status, sms_row(app).attempts) == ("sent", 2)


def test_a_request_erased_before_its_sms_left_takes_its_sms_with_it(app, fake_twilio) -> None:
    request_id = handled(app, MOBILE)
    with services(app).db.session() as session:
        session.delete(session.get_one(PatientRequest, request_id))
    assert services(app).send_notices(OPEN_HOURS).sent == 0
    with services(app).db.session() as session:
        assert session.scalars(select(RequestSms)).all() == []
    assert sent(fake_twilio) == [] and sms.TEMPLATE == "sms_request_handled"
