"""The worker's ``lost_calls`` job: calls whose status callback never came are closed."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import select

from callcenter.backoffice import inbox
from callcenter.calls.models import Call
from callcenter.jobs import tasks
from tests.conftest import CALLER, OPEN_HOURS, services, set_clock

MINUTE = timedelta(minutes=1)


def configure(app: Flask, minutes: int) -> None:
    svc = services(app)
    svc.settings = dataclasses.replace(svc.settings, call_max_minutes=minutes)


def stored(app: Flask, sid: str) -> Call:
    with services(app).db.session() as session:
        return session.scalars(select(Call).where(Call.call_sid == sid)).one()


def live(app: Flask, now: datetime) -> list[str]:
    svc = services(app)
    max_age = timedelta(minutes=svc.settings.call_max_minutes)
    with svc.db.session() as session:
        return [c.id for c in inbox.live_calls(session, ["demo"], svc.engine.runtimes, now,
                                               max_age)]  # fmt: skip


def test_a_call_without_its_status_callback_is_lost_after_the_configured_time(
    app, twilio, practice_number, fake_twilio
):
    configure(app, 30)
    call = twilio.place_call(CALLER, practice_number).press("3")  # to the secretaries
    row = stored(app, call.sid)
    assert live(app, OPEN_HOURS) == [row.id]
    svc = services(app)
    assert tasks.lost_calls(svc, OPEN_HOURS + 29 * MINUTE) == 0  # not silent long enough
    assert live(app, OPEN_HOURS + 29 * MINUTE) == [row.id]
    assert tasks.lost_calls(svc, OPEN_HOURS + 31 * MINUTE) == 1
    closed = stored(app, call.sid)
    assert closed.status == "lost" and closed.ended_at is not None
    assert closed.ended_at <= OPEN_HOURS + MINUTE  # when it was last heard of
    assert live(app, OPEN_HOURS + 31 * MINUTE) == []
    assert live(app, OPEN_HOURS) == []  # ended: gone whatever the window
    # Twilio was asked first, and knew nothing of this call.
    assert [r.path for r in fake_twilio.requests if r.method == "GET"] == [
        f"/2010-04-01/Accounts/{fake_twilio.account_sid}/Calls/{call.sid}.json"
    ]
    assert tasks.lost_calls(svc, OPEN_HOURS + 60 * MINUTE) == 0  # closed once


def test_a_call_twilio_says_is_over_gets_its_final_status_and_duration(
    app, twilio, practice_number, fake_twilio
):
    call = twilio.place_call(CALLER, practice_number)
    fake_twilio.calls[call.sid] = {"status": "completed", "duration": "42"}
    assert tasks.lost_calls(services(app), OPEN_HOURS + 241 * MINUTE) == 1
    closed = stored(app, call.sid)
    assert (closed.status, closed.duration, closed.outcome) == ("completed", 42, "hung-up")


def test_a_call_twilio_says_is_still_going_is_left_alone(app, twilio, practice_number, fake_twilio):
    call = twilio.place_call(CALLER, practice_number)
    fake_twilio.calls[call.sid] = {"status": "in-progress", "duration": None}
    assert tasks.lost_calls(services(app), OPEN_HOURS + 300 * MINUTE) == 0
    assert stored(app, call.sid).ended_at is None


def test_the_default_is_four_hours_of_silence_counted_from_the_last_webhook(
    app, twilio, practice_number
):
    call = twilio.place_call(CALLER, practice_number)
    set_clock(app, (OPEN_HOURS + 200 * MINUTE).isoformat())
    call.press("3")  # a webhook 200 minutes in: the call is alive
    assert tasks.lost_calls(services(app), OPEN_HOURS + 241 * MINUTE) == 0
    assert tasks.lost_calls(services(app), OPEN_HOURS + 441 * MINUTE) == 1


def test_a_call_still_in_the_flows_leaves_the_live_list_after_ten_silent_minutes(
    app, twilio, practice_number
):
    call = twilio.place_call(CALLER, practice_number)  # at the menu, never answered
    row = stored(app, call.sid)
    assert live(app, OPEN_HOURS + 9 * MINUTE) == [row.id]
    assert live(app, OPEN_HOURS + 11 * MINUTE) == []
