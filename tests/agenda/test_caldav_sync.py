"""A doctor's calendar on a real CalDAV server (Radicale): its busy time is never offered by
phone, bookings made by phone reach it, and what the doctor changes there comes back.

The clock is Tuesday 24 November 2026, 10:00 in Paris: docteure Martin's first
free slot would be that day at 14 h, but her calendar holds every Tuesday
from 14 h to 15 h.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select

from callcenter.agenda.models import BusyTime, CalendarWrite
from callcenter.appointments.models import Appointment
from callcenter.backoffice import diary
from callcenter.instance import DEMO_PRACTICE
from callcenter.jobs import tasks
from callcenter.security.keyring import KeyRing
from tests.caldav_server import PASSWORD, USER, RadicaleServer
from tests.conftest import services, set_clock, write_practice
from tests.ivr.test_identify import seed
from tests.web.twilio.test_appointments import act, booked, identified

PARIS = ZoneInfo("Europe/Paris")
PASSWORD_ENV = "CALLCENTER_TEST_CALDAV_PASSWORD"
WEEKLY = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//tests//FR
BEGIN:VEVENT
UID:weekly-meeting
DTSTAMP:20261101T000000Z
DTSTART;TZID=Europe/Paris:20261117T140000
DTEND;TZID=Europe/Paris:20261117T150000
RRULE:FREQ=WEEKLY;BYDAY=TU
SUMMARY:Réunion de service
END:VEVENT
END:VCALENDAR
"""
SINGLE = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//tests//FR
BEGIN:VEVENT
UID:dentist
DTSTAMP:20261101T000000Z
DTSTART:20261126T130000Z
DTEND:20261126T133000Z
SUMMARY:Dentiste
END:VEVENT
END:VCALENDAR
"""
ALL_DAY = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//tests//FR
BEGIN:VEVENT
UID:training
DTSTAMP:20261101T000000Z
DTSTART;VALUE=DATE:20261130
DTEND;VALUE=DATE:20261201
SUMMARY:Formation
END:VEVENT
END:VCALENDAR
"""


@pytest.fixture
def home(tmp_path: Path, caldav_server: RadicaleServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo practice, docteure Martin's calendar on the Radicale server."""
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    appointments = copy.deepcopy(DEMO_PRACTICE["appointments"])
    assert isinstance(appointments, dict)
    appointments["doctors"]["dr-martin"]["calendar"] = {
        "url": caldav_server.calendar_url, "username": USER, "password_env": PASSWORD_ENV,
    }  # fmt: skip
    path = tmp_path / "instance"
    write_practice(path, appointments=appointments)
    KeyRing.generate().save(path / "keyring.json")
    return path


def sync(app: Flask) -> tasks.CalendarRun:
    root = services(app)
    return tasks.calendars(root, root.clock.now())


def free(app: Flask, limit: int = 200) -> list[datetime]:
    """Docteure Martin's next free starts for a consultation (practice time)."""
    root = services(app)
    practice = root.practices.by_id("demo")
    assert practice is not None
    with root.db.session() as session:
        probe = Appointment(id="probe", practice_id="demo", doctor_id="dr-martin",
                            kind="consultation")  # fmt: skip
        return diary.free_starts(session, practice, probe, root.clock.now(), limit=limit)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


def ours(server: RadicaleServer) -> list[str]:
    return [n for n in server.names() if n.startswith("callcenter-")]


# -- busy time ------------------------------------------------------------------------------
def test_busy_events_single_weekly_and_all_day_remove_slots(app, caldav_server):
    before = free(app)
    assert at("2026-11-24T14:00") in before and at("2026-11-26T14:00") in before
    caldav_server.put("weekly.ics", WEEKLY)
    caldav_server.put("dentist.ics", SINGLE)
    caldav_server.put("training.ics", ALL_DAY)
    run = sync(app)
    assert (run.synced, run.failed) == (1, 0)
    after = free(app)
    for week in range(4):  # every Tuesday, 14 h to 15 h
        tuesday = at("2026-11-24T14:00") + timedelta(weeks=week)
        for minutes in (0, 20, 40):
            assert tuesday + timedelta(minutes=minutes) not in after
        assert (
            tuesday + timedelta(hours=1) in after or tuesday.date() >= datetime(2026, 12, 21).date()
        )
    assert at("2026-11-26T14:00") not in after and at("2026-11-26T14:20") not in after
    assert at("2026-11-26T14:40") in after
    assert not [s for s in after if s.astimezone(PARIS).date() == at("2026-11-30T00:00").date()]
    assert [s for s in before if s.astimezone(PARIS).date() == at("2026-11-30T00:00").date()]


def test_a_second_sync_asks_only_what_changed(app, caldav_server):
    caldav_server.put("weekly.ics", WEEKLY)
    sync(app)
    with services(app).db.session() as session:
        first = sorted(session.scalars(select(BusyTime.id)))
    assert first
    sync(app)  # nothing changed: the sync token says so, the rows stay as they were
    with services(app).db.session() as session:
        assert sorted(session.scalars(select(BusyTime.id))) == first


# -- bookings written to the calendar --------------------------------------------------------
def test_a_caller_is_never_offered_the_weekly_block_and_the_booking_reaches_the_calendar(
    app, twilio, practice_number, caldav_server
):
    caldav_server.put("weekly.ics", WEEKLY)
    sync(app)
    seed(app, "1980-03-15")
    call = act(identified(twilio, practice_number, "keypad"), "keypad", "book", "martin")
    heard = call.last_heard()
    assert "mardi 24 novembre à 14 h" not in heard
    assert "Le mardi 24 novembre à 15 h : tapez 1" in heard
    act(call, "keypad", "first", "yes")
    [appointment] = booked(app)
    assert appointment.starts_at == at("2026-11-24T15:00")
    # Written once the webhook's transaction committed: no worker run needed.
    assert ours(caldav_server) == [f"callcenter-{appointment.id}.ics"]
    [event] = caldav_server.event(f"callcenter-{appointment.id}.ics").walk("VEVENT")
    assert str(event["SUMMARY"]) == "Rendez-vous (téléphone)"
    assert appointment.id[:8].upper() in str(event["DESCRIPTION"])
    assert "consultation" in str(event["DESCRIPTION"])
    assert event.decoded("DTSTART") == at("2026-11-24T15:00")
    sync(app)  # the sync sees our own event: not busy time, the appointment unchanged
    assert [a.id for a in booked(app)] == [appointment.id]


def test_deleting_the_busy_event_frees_the_slot_after_the_sync(app, caldav_server):
    caldav_server.put("weekly.ics", WEEKLY)
    sync(app)
    assert at("2026-11-24T14:00") not in free(app)
    caldav_server.delete("weekly.ics")
    sync(app)
    assert at("2026-11-24T14:00") in free(app)


def test_deleting_a_bookings_event_in_the_calendar_cancels_it(
    app, twilio, practice_number, caldav_server
):
    seed(app, "1980-03-15")
    sync(app)  # links the calendar, as the start-up does
    act(identified(twilio, practice_number, "keypad"), "keypad", "book", "martin", "first", "yes")
    [appointment] = booked(app)
    sync(app)
    assert at("2026-11-24T14:00") not in free(app)
    caldav_server.delete(f"callcenter-{appointment.id}.ics")
    sync(app)
    assert booked(app) == []
    assert at("2026-11-24T14:00") in free(app)


def test_moving_a_bookings_event_in_the_calendar_moves_it(
    app, twilio, practice_number, caldav_server
):
    seed(app, "1980-03-15")
    sync(app)  # links the calendar, as the start-up does
    act(identified(twilio, practice_number, "keypad"), "keypad", "book", "martin", "first", "yes")
    [appointment] = booked(app)
    sync(app)
    name = f"callcenter-{appointment.id}.ics"
    moved = caldav_server.event(name).to_ical().decode()
    moved = moved.replace("DTSTART:20261124T130000Z", "DTSTART:20261126T080000Z")
    moved = moved.replace("DTEND:20261124T132000Z", "DTEND:20261126T082000Z")
    caldav_server.put(name, moved)
    sync(app)
    [now_booked] = booked(app)
    assert now_booked.starts_at == at("2026-11-26T09:00")
    assert now_booked.replaces_id == appointment.id
    assert ours(caldav_server) == [f"callcenter-{now_booked.id}.ics"]
    assert at("2026-11-24T14:00") in free(app)


def test_the_server_stopped_mid_booking_loses_nothing_and_catches_up(
    app, twilio, practice_number, caldav_server
):
    seed(app, "1980-03-15")
    sync(app)
    caldav_server.stop()
    call = act(identified(twilio, practice_number, "keypad"), "keypad", "book", "martin", "first")
    act(call, "keypad", "yes")
    assert "confirmé le mardi 24 novembre à 14 h" in call.last_heard()  # confirmed all the same
    [appointment] = booked(app)
    with services(app).db.session() as session:
        [write] = session.scalars(select(CalendarWrite)).all()
        assert (write.status, write.attempts, write.appointment_id) == (
            "pending",
            1,
            appointment.id,
        )
        assert write.last_error
    assert sync(app).failed == 1  # still down: tried again later
    caldav_server.start()
    set_clock(app, "2026-11-24T10:05:00+01:00")  # past the first retry's delay
    run = sync(app)
    assert (run.failed, run.written) == (0, 1)
    assert ours(caldav_server) == [f"callcenter-{appointment.id}.ics"]


def test_a_cancellation_by_phone_removes_the_event(app, twilio, practice_number, caldav_server):
    seed(app, "1980-03-15")
    sync(app)
    act(identified(twilio, practice_number, "keypad"), "keypad", "book", "martin", "first", "yes")
    [appointment] = booked(app)
    assert ours(caldav_server) == [f"callcenter-{appointment.id}.ics"]
    root = services(app)
    practice = root.practices.by_id("demo")
    assert practice is not None
    with root.unit_of_work() as work:
        row = work.session.get_one(Appointment, appointment.id)
        assert diary.cancel(work.session, row, root.clock.now())
    root.after_commit(work.tasks)
    assert ours(caldav_server) == []


# -- the practice's choices --------------------------------------------------------------------
def practice_with(home: Path, url: str, **calendar: object) -> None:
    """Rewrite the practice file: docteure Martin's calendar with ``calendar``'s fields."""
    appointments = copy.deepcopy(DEMO_PRACTICE["appointments"])
    assert isinstance(appointments, dict)
    names = bool(calendar.pop("patient_names", False))
    appointments["calendar_patient_names"] = names
    appointments["doctors"]["dr-martin"]["calendar"] = {
        "url": url, "username": USER, "password_env": PASSWORD_ENV, **calendar,
    }  # fmt: skip
    write_practice(home, appointments=appointments)


@pytest.fixture
def named(home: Path, caldav_server: RadicaleServer) -> Path:
    practice_with(home, caldav_server.calendar_url, patient_names=True)
    return home


def test_the_patients_name_is_written_only_when_the_practice_turns_it_on(
    named, app, twilio, practice_number, caldav_server
):
    from callcenter.audit.models import AuditEntry

    seed(app, "1980-03-15")
    sync(app)
    act(identified(twilio, practice_number, "keypad"), "keypad", "book", "martin", "first", "yes")
    [appointment] = booked(app)
    [event] = caldav_server.event(f"callcenter-{appointment.id}.ics").walk("VEVENT")
    assert str(event["SUMMARY"]).startswith("Rendez-vous (téléphone) — ")
    assert len(str(event["SUMMARY"])) > len("Rendez-vous (téléphone) — ")
    with services(app).db.session() as session:
        actions = list(session.scalars(select(AuditEntry.action)))
    assert "agenda.event_name" in actions


@pytest.fixture
def freebusy(home: Path, caldav_server: RadicaleServer) -> Path:
    practice_with(home, caldav_server.calendar_url, busy="freebusy")
    return home


def test_the_servers_free_busy_answer_is_busy_time(freebusy, app, caldav_server):
    caldav_server.put("weekly.ics", WEEKLY)
    assert sync(app).failed == 0
    after = free(app)
    assert at("2026-11-24T14:00") not in after and at("2026-12-01T14:40") not in after
    assert at("2026-11-24T15:00") in after


def test_a_wrong_password_fails_the_sync_without_stopping_the_line(app, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "not-the-password")
    assert sync(app).failed == 1
    assert at("2026-11-24T14:00") in free(app)


def test_a_token_the_server_forgot_falls_back_to_etags(app, caldav_server):
    from callcenter.agenda.models import LinkedCalendar

    caldav_server.put("weekly.ics", WEEKLY)
    sync(app)
    with services(app).db.session() as session:
        for row in session.scalars(select(LinkedCalendar)):
            row.sync_token = "http://radicale.org/ns/sync/forgotten"
    caldav_server.delete("weekly.ics")
    caldav_server.put("dentist.ics", SINGLE)
    assert sync(app).failed == 0
    after = free(app)
    assert at("2026-11-24T14:00") in after and at("2026-11-26T14:00") not in after


def test_a_move_in_the_console_replaces_the_event(app, twilio, practice_number, caldav_server):
    seed(app, "1980-03-15")
    sync(app)
    act(identified(twilio, practice_number, "keypad"), "keypad", "book", "martin", "first", "yes")
    [appointment] = booked(app)
    root = services(app)
    practice = root.practices.by_id("demo")
    assert practice is not None
    with root.unit_of_work() as work:
        row = work.session.get_one(Appointment, appointment.id)
        new_id = diary.move(work.session, practice, row, at("2026-11-26T09:00"), root.clock.now())
    root.after_commit(work.tasks)
    assert new_id is not None
    assert ours(caldav_server) == [f"callcenter-{new_id}.ics"]
    [event] = caldav_server.event(f"callcenter-{new_id}.ics").walk("VEVENT")
    assert event.decoded("DTSTART") == at("2026-11-26T09:00")
    sync(app)  # the calendar's own view of the move changes nothing more
    assert [a.id for a in booked(app)] == [new_id]
