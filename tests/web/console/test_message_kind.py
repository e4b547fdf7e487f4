"""A late arrival said at the open question while the secretariat is closed leaves a
message of that kind: the caller is asked for the detail in one sentence, and the
console and the doctors' digest show the kind before the words.  (Prescriptions,
results and certificates are requests of their own: tests/web/console/test_patient_requests.py.)"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from callcenter.config.prompts import Catalogue
from callcenter.config.settings import DEFAULT_FLOWS_DIR
from callcenter.digests.compose import Period, build
from callcenter.messages.models import Message
from tests.conftest import CALLER, OPEN_HOURS, bound, services, set_clock
from tests.ivr.test_identify import DOB, seed
from tests.web.console.test_secretary_pages import DEMO, page_of, row_of

ARRIVAL = "vers neuf heures et quart"
EVENING = OPEN_HOURS + timedelta(hours=10)  # 20:00: closed, booking by phone still open


def test_a_late_arrival_leaves_a_message_whose_kind_the_console_and_digest_show(
    app, twilio, console, make_user
):
    seed(app, "1980-03-15")
    set_clock(app, EVENING.isoformat())
    console.login(*make_user("lea", "secretary", ["demo"]))
    call = twilio.place_call(CALLER, DEMO).say("je vais être en retard à mon rendez-vous")
    call.press(DOB)
    assert "à quelle heure vous pensez arriver" in call.last_heard()
    if call.waiting_for == "Gather":  # the consent question: no refusal
        call.silence()
    call.record(seconds=6, words=ARRIVAL, finish="hangup")
    call.deliver()
    bound(app)
    with services(app).db.session() as session:
        [message] = session.scalars(select(Message)).all()
        assert message.kind == "late" and message.transcript == ARRIVAL
        practice = services(app).practices.by_id("demo")
        doctor = practice.doctors[0]
        catalogue = Catalogue.load(DEFAULT_FLOWS_DIR, "fr-FR")
        period = Period(EVENING - timedelta(hours=1), EVENING + timedelta(hours=1))
        text = build(session, practice, doctor, catalogue, period).text
        message_id = message.id
    assert "[En retard pour son rendez-vous]" in text and ARRIVAL in text
    row = row_of(page_of(console, "/console/messages"), message_id)
    assert "En retard pour son rendez-vous" in row and ARRIVAL in row
