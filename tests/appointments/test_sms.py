"""Confirmation and reminder SMS: minimal content, once, never for a cancelled appointment."""

from __future__ import annotations

from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from callcenter.appointments import booking
from callcenter.appointments.models import AppointmentSms
from callcenter.audit.models import AuditEntry
from callcenter.jobs import tasks as jobs
from callcenter.jobs.worker import schedule
from tests.appointments.test_booking import take
from tests.conftest import CALLER, services, set_clock, write_practice
from tests.ivr.test_identify import seed
from tests.web.twilio.test_appointments import restart, sms_bodies

WEDNESDAY = datetime.fromisoformat("2026-11-25T10:00:00+01:00")
THURSDAY_TEN = datetime.fromisoformat("2026-11-26T10:00:00+01:00")


def book_thursday(app, patient: str) -> str:
    with services(app).db.session() as session:
        appointment = take(session, patient, THURSDAY_TEN)
        assert appointment is not None
        return appointment


def test_the_reminder_goes_the_day_before_once_its_time_has_come(app, fake_twilio) -> None:
    book_thursday(app, seed(app, "1980-03-15"))
    set_clock(app, "2026-11-25T17:59:00+01:00")
    assert jobs.reminders(services(app), services(app).clock.now()).sent == 0  # not yet
    set_clock(app, "2026-11-25T18:00:00+01:00")
    assert jobs.reminders(services(app), services(app).clock.now()).sent == 1
    assert jobs.reminders(services(app), services(app).clock.now()).sent == 0  # once
    [body] = sms_bodies(fake_twilio)
    assert body == (
        "cabinet médical des Tilleuls : rappel de votre rendez-vous demain, "
        "jeudi 26 novembre à 10 h. Répondez ANNULER pour annuler."
    )
    assert [r.form["To"] for r in fake_twilio.requests] == [CALLER]
    with services(app).db.session() as session:
        actions = session.scalars(select(AuditEntry.action)).all()
        assert "appointments.sms_sent" in actions


def test_no_reminder_for_a_cancelled_appointment(app, fake_twilio) -> None:
    patient = seed(app, "1980-03-15")
    appointment = book_thursday(app, patient)
    set_clock(app, "2026-11-25T18:00:00+01:00")
    with services(app).db.session() as session:
        assert booking.release(session, appointment, patient, booking.CANCELLED, WEDNESDAY)
    assert jobs.reminders(services(app), services(app).clock.now()).sent == 0
    assert sms_bodies(fake_twilio) == []


def test_a_reminder_queued_before_a_cancellation_is_skipped(app, fake_twilio) -> None:
    patient = seed(app, "1980-03-15")
    appointment = book_thursday(app, patient)
    fake_twilio.fail_next("Messages", status=500)
    set_clock(app, "2026-11-25T18:00:00+01:00")
    assert jobs.reminders(services(app), services(app).clock.now()).failed == 1
    with services(app).db.session() as session:
        booking.release(session, appointment, patient, booking.CANCELLED, WEDNESDAY)
    set_clock(app, "2026-11-25T19:00:00+01:00")  # after the back-off
    assert jobs.reminders(services(app), services(app).clock.now()).sent == 0
    with services(app).db.session() as session:
        row = session.scalars(select(AppointmentSms)).one()
        assert (row.status, row.last_error) == ("skipped", "not-booked")


def test_a_landline_gets_no_sms(app, fake_twilio) -> None:
    book_thursday(app, seed(app, "1980-03-15", phone="+33145000000"))
    set_clock(app, "2026-11-25T18:00:00+01:00")
    assert (
        jobs.reminders(services(app), services(app).clock.now()).sent == 0
        and sms_bodies(fake_twilio) == []
    )


def test_without_the_settings_no_sms_is_sent(settings, practice_number, fake_twilio) -> None:
    from tests.web.twilio.test_appointments import emulator

    demo = write_practice(settings.home)
    rules = {**demo["appointments"], "sms_confirmation": False, "sms_reminder": False}  # type: ignore[dict-item]
    write_practice(settings.home, appointments=rules)
    app = restart(settings)
    seed(app, "1980-03-15")
    call = emulator(app).place_call(CALLER, practice_number).press("1").press("15031980")
    call.press("1").press("1").press("1").press("1")
    assert "confirmé" in call.last_heard() and "SMS" not in call.last_heard()
    set_clock(app, "2026-11-23T18:00:00+01:00")
    assert (
        jobs.reminders(services(app), services(app).clock.now()).sent == 0
        and sms_bodies(fake_twilio) == []
    )
    services(app).db.dispose()


def test_the_worker_runs_the_reminders_every_quarter_hour(app, fake_twilio) -> None:
    book_thursday(app, seed(app, "1980-03-15"))
    svc = services(app)
    set_clock(app, "2026-11-25T18:30:00+01:00")
    scheduler = schedule(BackgroundScheduler(timezone="UTC"), svc)
    job = scheduler.get_job("appointment_reminders")
    assert job is not None and job.trigger.interval.total_seconds() == 900
    job.func()
    assert len(sms_bodies(fake_twilio)) == 1
