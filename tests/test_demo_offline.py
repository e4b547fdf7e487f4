"""A demo instance keeps everything on the machine: its REST calls go to the stand-in.

``init --demo`` makes an instance with made-up Twilio credentials; its urgent
notices, booking confirmations and deletions must not reach api.twilio.com
(or anything else), and the administrator sees what would have been sent.
"""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from callcenter.config.settings import load_settings
from callcenter.instance import DEMO_PRACTICE, init_instance
from callcenter.jobs import tasks
from callcenter.phone.emulator import FlaskTransport, TwilioEmulator
from callcenter.web.app import create_app
from tests.conftest import CALLER, OPEN_HOURS, bound, services, set_clock
from tests.fake_twilio import closed_port
from tests.ivr.test_identify import seed
from tests.web.console.conftest import Console
from tests.web.twilio.test_appointments import act, book_first, booked, identified

SUNDAY_NIGHT = "2026-11-29T22:00:00+01:00"  # dr-bernard (+33612000012) is on call
LOOPBACK = ("127.0.0.1", "::1", "localhost")


class Connections:
    """Every connection attempted and every name looked up, while patched in."""

    def __init__(self) -> None:
        self.targets: list[Any] = []
        self.names: list[str] = []

    def outside_loopback(self) -> list[Any]:
        found = [t for t in self.targets if not (isinstance(t, tuple) and t[0] in LOOPBACK)]
        return found + [n for n in self.names if n not in LOOPBACK]


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> Connections:
    seen = Connections()
    connect, create, lookup = (socket.socket.connect, socket.create_connection,
                               socket.getaddrinfo)  # fmt: skip

    def recorded_connect(self: socket.socket, address: Any) -> Any:
        seen.targets.append(address)
        return connect(self, address)

    def recorded_create(address: Any, *args: Any, **kwargs: Any) -> Any:
        seen.targets.append(tuple(address))
        return create(address, *args, **kwargs)

    def recorded_lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        seen.names.append(str(host))
        return lookup(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", recorded_connect)
    monkeypatch.setattr(socket, "create_connection", recorded_create)
    monkeypatch.setattr(socket, "getaddrinfo", recorded_lookup)
    return seen


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Flask, str]]:
    """A demo instance as `make run` makes it; (app, the admin's first password)."""
    home = tmp_path / "instance"
    monkeypatch.setenv("CALLCENTER_HOME", str(home))
    for name in ("DATABASE_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_API_BASE",
                 "TWILIO_STAND_IN", "CALLCENTER_NOW", "PUBLIC_BASE_URL", "CALLCENTER_KEYRING",
                 "CALLCENTER_KEYRING_FILE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    notes = init_instance(home, demo=True)
    [password] = [n.split(": ", 1)[1] for n in notes if n.startswith("  admin (admin)")]
    settings = load_settings()
    assert settings.twilio_stand_in
    app = bound(create_app(dataclasses.replace(settings, now=OPEN_HOURS)))
    yield app, password
    services(app).db.dispose()


def test_the_recorder_sees_a_connection(connections: Connections) -> None:
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", closed_port()), timeout=1)
    assert connections.targets and not connections.outside_loopback()


def test_a_demo_opens_no_connection_outside_loopback_and_shows_what_it_would_send(
    demo: tuple[Flask, str], connections: Connections
) -> None:
    app, password = demo
    svc = services(app)
    number = str(DEMO_PRACTICE["number"])
    settings = svc.settings
    transport = FlaskTransport(app.test_client())
    twilio = TwilioEmulator(transport, settings.twilio_auth_token, "http://localhost",
                            account_sid=settings.twilio_account_sid)  # fmt: skip
    set_clock(app, SUNDAY_NIGHT)
    twilio.place_call(CALLER, number).press("9").no_answer()  # urgent: SMS to the doctor on call
    set_clock(app, OPEN_HOURS.isoformat())
    seed(app, "1980-03-15")
    book_first(twilio, number)  # a confirmation SMS
    assert len(booked(app)) == 1
    act(identified(twilio, number, "keypad"), "keypad", "change", "cancel", "yes")
    assert booked(app) == []
    twilio.place_call("+33698765432", number)  # left without its status callback
    for job in (tasks.notices, tasks.remote_deletions, tasks.reminders, tasks.lost_calls):
        with svc.bound():
            job(svc, OPEN_HOURS + timedelta(minutes=svc.settings.call_max_minutes + 1))
    assert connections.outside_loopback() == []

    console = Console(app)
    console.login("admin", password)
    page = console.get("/console/admin/outbox").get_data(as_text=True)
    assert "Ce que la démo aurait envoyé par Twilio" in page
    assert "+336••••••12" in page  # the notice to dr-bernard's on-call phone
    assert "+336••••••78" in page  # the booking's confirmation to the patient
    for secret in ("+33612000012", CALLER, "rendez-vous confirmé", "urgent"):
        assert secret not in page.split('id="stand-in-log"', 1)[1]
    assert connections.outside_loopback() == []
