"""The number's SMS URL through the emulator: signed texts answered once, never an error page."""

from __future__ import annotations

from sqlalchemy import select

from callcenter.appointments.models import Appointment, AppointmentSms
from callcenter.core import routes
from callcenter.ivr.twiml import sms_answer
from callcenter.jobs import tasks as jobs
from callcenter.replies.models import SmsReply
from tests.appointments.test_sms import book_thursday
from tests.conftest import CALLER, services, set_clock
from tests.ivr.test_identify import seed
from tests.test_canary import dump, leaks
from tests.web.twilio.test_appointments import sms_bodies

EMPTY = sms_answer(None)
GENERIC = ("cabinet médical des Tilleuls : ce numéro ne lit pas les messages. "
           "Pour joindre le cabinet, appelez le 01 84 88 00 00.")  # fmt: skip


def remind_thursday(app) -> str:
    """Thursday's appointment, its reminder sent on Wednesday at six."""
    appointment = book_thursday(app, seed(app, "1980-03-15"))
    set_clock(app, "2026-11-25T18:00:00+01:00")
    assert jobs.reminders(services(app), services(app).clock.now()).sent == 1
    set_clock(app, "2026-11-25T19:30:00+01:00")
    return appointment


def appointment(app, appointment_id: str) -> Appointment:
    with services(app).db.session() as session:
        return session.get_one(Appointment, appointment_id)


def test_annuler_to_a_reminder_cancels_it_and_answers_its_date(
    app, twilio, practice_number, fake_twilio
) -> None:
    booked = remind_thursday(app)
    [reminder] = sms_bodies(fake_twilio)
    assert reminder.endswith("Répondez ANNULER pour annuler.")
    answer = twilio.send_sms(CALLER, practice_number, "Annuler merci !")
    assert answer.messages == [
        "cabinet médical des Tilleuls : votre rendez-vous du jeudi 26 novembre à 10 h est annulé."
    ]
    row = appointment(app, booked)
    assert (row.status, row.cancelled_via) == ("cancelled", "sms")


def test_a_retried_text_cancels_once_and_is_answered_once(app, twilio, practice_number) -> None:
    remind_thursday(app)
    assert twilio.send_sms(CALLER, practice_number, "annuler").messages
    assert twilio.replay() == (200, EMPTY)  # Twilio's retry, byte for byte
    with services(app).db.session() as session:
        assert session.scalar(select(SmsReply.outcome)) == "done"


def test_an_unsigned_text_is_refused_and_a_malformed_sid_is_a_400(
    app, twilio, practice_number
) -> None:
    form = {"MessageSid": "SM" + "a" * 32, "From": CALLER, "To": practice_number, "Body": "STOP"}
    assert app.test_client().post(routes.SMS, data=form).status_code == 403
    status, _ = twilio.post(twilio.url(routes.SMS), {**form, "MessageSid": "nope"})
    assert status == 400
    with services(app).db.session() as session:
        assert session.scalars(select(SmsReply)).all() == []


def test_anything_else_gets_the_practice_number_and_nothing_is_kept_but_the_sid(
    app, twilio, practice_number
) -> None:
    words = "Zéphyrine Quenouille née le 14/03/1987, ma ventoline rhododendron est finie"
    answer = twilio.send_sms("+33698765432", practice_number, words)
    assert answer.messages == [GENERIC]
    with services(app).db.session() as session:
        [kept] = session.scalars(select(SmsReply)).all()
        assert (kept.keyword, kept.outcome) == ("other", "none")
    assert leaks(dump(app)) == []  # neither the text nor the number, in any encoding


def test_an_unknown_number_or_a_withheld_sender_gets_an_empty_answer(
    app, twilio, practice_number
) -> None:
    assert twilio.send_sms(CALLER, "+33100000000", "STOP").messages == []
    for sender in ("", "anonymous", "+7378742833", "<script>", "0" * 60):
        assert twilio.send_sms(sender, practice_number, "STOP").messages == []


def test_huge_or_odd_unicode_bodies_get_a_safe_answer(app, twilio, practice_number) -> None:
    for body in ("é" * 20_000, "\u202e\u0000\ufffe?", "🙂" * 2000, "STOP" + "\u0301" * 5000):
        answer = twilio.send_sms(CALLER, practice_number, body)
        assert answer.status == 200 and answer.messages == [GENERIC]


def test_a_failure_inside_still_answers_the_practice_number(
    app, twilio, practice_number, monkeypatch
) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(services(app).replies, "receive", broken)
    assert twilio.send_sms(CALLER, practice_number, "annuler").messages == [GENERIC]


def test_with_the_database_down_the_patient_still_gets_the_practice_number(
    app, twilio, practice_number, database_down
) -> None:
    assert twilio.send_sms(CALLER, practice_number, "STOP").messages == [GENERIC]


def test_stop_stops_the_next_reminder_and_start_brings_them_back(
    app, twilio, practice_number, fake_twilio
) -> None:
    booked = book_thursday(app, seed(app, "1980-03-15"))
    [confirmation] = twilio.send_sms(CALLER, practice_number, "Stop").messages
    assert confirmation.startswith("Vous ne recevrez plus de SMS du cabinet médical des Tilleuls.")
    set_clock(app, "2026-11-25T18:00:00+01:00")
    report = jobs.reminders(services(app), services(app).clock.now())
    assert (report.sent, report.opted_out) == (0, 1)
    assert sms_bodies(fake_twilio) == []  # no REST call at all
    with services(app).db.session() as session:
        sms = session.scalars(select(AppointmentSms)).one()
        assert (sms.status, sms.appointment_id) == ("opted-out", booked)
    assert twilio.send_sms(CALLER, practice_number, "START").messages
