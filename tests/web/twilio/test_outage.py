"""PostgreSQL goes away in the middle of calls, and comes back (an outage drill).

The database is reached through a relay the test cuts (tests/db_proxy.py):
callers keep getting TwiML that reaches a person, no webhook answers 5xx,
the worker's jobs fail softly, and once the database is back everything
resumes without a restart and nothing stored before is lost.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from itertools import cycle

import pytest
from flask import Flask
from sqlalchemy import select

from callcenter.calls.models import Call
from callcenter.jobs import tasks
from callcenter.jobs.worker import _guarded
from callcenter.messages.models import Message
from callcenter.phone.emulator import FlaskTransport, TwilioEmulator
from callcenter.web.app import create_app
from tests.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CALLER,
    PUBLIC_BASE,
    bound,
    create_tables,
    services,
)
from tests.db_proxy import DatabaseProxy

SECRETARY = "+33612000001"


@pytest.fixture
def proxied(settings, db_proxy: DatabaseProxy) -> Iterator[Flask]:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("the outage drill runs against PostgreSQL")
    app = bound(
        create_app(dataclasses.replace(settings, database_url=db_proxy.url(settings.database_url)))
    )
    create_tables(services(app).db)
    yield app
    services(app).db.dispose()


def emulator(*apps: Flask) -> TwilioEmulator:
    return TwilioEmulator(RoundRobin(*apps), AUTH_TOKEN, PUBLIC_BASE, account_sid=ACCOUNT_SID)


class RoundRobin:
    """Each request to the next web process, as a load balancer spreads them."""

    def __init__(self, *apps: Flask) -> None:
        self.transports = cycle([FlaskTransport(app.test_client()) for app in apps])

    def post(self, path: str, data: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        return next(self.transports).post(path, data, headers)


def test_calls_in_progress_and_new_calls_reach_a_person_while_postgresql_is_down(
    proxied, db_proxy, practice_number
):
    twilio = emulator(proxied)
    before = twilio.place_call(CALLER, practice_number).press("2").press("*").press("*")
    before.say("Rappelez-moi pour mes résultats").press("1")  # a message, stored
    during = twilio.place_call(CALLER, practice_number)  # at the menu when it goes down
    db_proxy.down()
    during.press("1")
    assert during.waiting_for == "Dial" and during.dial_numbers() == [SECRETARY]
    fresh = twilio.place_call("+33698765432", practice_number)
    assert fresh.waiting_for == "Dial" and not fresh.application_error
    assert not twilio.failures  # no 5xx: Twilio never had to use the fallback URL
    client = proxied.test_client()
    assert client.get("/readyz").status_code == 503
    status, _ = twilio.post(twilio.url("/twilio/status"), {"CallSid": during.sid,
                            "AccountSid": ACCOUNT_SID, "CallStatus": "completed"})  # fmt: skip
    assert status == 204  # accepted: Twilio does not retry status callbacks anyway

    db_proxy.up()
    after = twilio.place_call("+33677889900", practice_number)
    assert after.waiting_for == "Gather" and "tapez 1" in after.last_heard()  # the menu again
    assert client.get("/readyz").status_code == 200
    with services(proxied).db.session() as session:
        assert (
            session.scalars(select(Message)).one().transcript == "Rappelez-moi pour mes résultats"
        )
        assert session.scalars(select(Call).where(Call.call_sid == before.sid)).one()


def test_the_worker_backs_off_while_postgresql_is_down_and_resumes_after(proxied, db_proxy, caplog):
    svc = services(proxied)
    clock = [0.0]
    jobs = {
        "notices": _guarded("notices", tasks.notices, svc, lambda: clock[0]),
        "mail": _guarded("mail", tasks.mail, svc, lambda: clock[0]),
    }

    def tick(seconds: float) -> None:
        clock[0] += seconds
        for job in jobs.values():
            job()

    db_proxy.down()
    tick(0)  # both fail: retried a minute later
    tick(60)  # fail again: now two minutes
    assert caplog.text.count("job_failed") == 4
    tick(60)  # skipped: backing off
    assert caplog.text.count("job_failed") == 4 and caplog.text.count("job_backing_off") == 2
    db_proxy.up()
    caplog.clear()
    tick(60)  # two minutes after the last failure: they run, and succeed
    assert "job_failed" not in caplog.text and caplog.text.count("job_done") == 2
    caplog.clear()
    tick(60)  # back to every tick
    assert caplog.text.count("job_done") == 2


def test_two_web_processes_share_every_call(settings, practice_number):
    """Any process answers any step: call state lives in the database only."""
    first, second = bound(create_app(settings)), create_app(settings)
    create_tables(services(first).db)
    try:
        twilio = emulator(first, second)
        call = twilio.place_call(CALLER, practice_number).press("2").press("*").press("*")
        call.say("Merci de me rappeler").press("1")
        assert call.ended and "rappel" in call.text
        status, _ = twilio.replay()  # a retry lands on the other process
        assert status in (200, 204)
        with services(second).db.session() as session:
            message = session.scalars(select(Message)).one()
            assert message.transcript == "Merci de me rappeler" and message.callback_requested
    finally:
        services(first).db.dispose()
        services(second).db.dispose()
