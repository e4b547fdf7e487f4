"""A request understood at the open question leaves a message of that kind:
the caller is asked for the detail in one sentence, and the console and the
doctors' digest show the kind before the words."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from callcenter.config.prompts import Catalogue
from callcenter.config.settings import DEFAULT_FLOWS_DIR
from callcenter.digests.compose import Period, build
from callcenter.messages.models import Message
from tests.conftest import CALLER, OPEN_HOURS, bound, services
from tests.ivr.test_identify import DOB, seed
from tests.web.console.test_secretary_pages import DEMO, page_of, row_of

MEDICATION = "la ventoline et le doliprane"


def test_a_prescription_request_leaves_a_message_whose_kind_the_console_and_digest_show(
    app, twilio, secretary
):
    seed(app, "1980-03-15")
    call = twilio.place_call(CALLER, DEMO).say("je voudrais renouveler mon ordonnance")
    call.press(DOB)
    assert "dites en une phrase le ou les médicaments" in call.last_heard()
    if call.waiting_for == "Gather":  # the consent question: no refusal
        call.silence()
    call.record(seconds=6, words=MEDICATION, finish="hangup")
    call.deliver()
    bound(app)
    with services(app).db.session() as session:
        [message] = session.scalars(select(Message)).all()
        assert message.kind == "prescription" and message.transcript == MEDICATION
        practice = services(app).practices.by_id("demo")
        doctor = practice.doctors[0]
        catalogue = Catalogue.load(DEFAULT_FLOWS_DIR, "fr-FR")
        period = Period(OPEN_HOURS - timedelta(hours=1), OPEN_HOURS + timedelta(hours=1))
        text = build(session, practice, doctor, catalogue, period).text
        message_id = message.id
    assert "[Renouvellement d'ordonnance]" in text and MEDICATION in text
    row = row_of(page_of(secretary, "/console/messages"), message_id)
    assert "Renouvellement d'ordonnance" in row and MEDICATION in row
