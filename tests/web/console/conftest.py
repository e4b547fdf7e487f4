"""Console fixtures: accounts made as the administrator would, and a client that
signs in with the password and a TOTP code like a person does."""

from __future__ import annotations

import re
from collections.abc import Callable

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from callcenter.accounts import accounts
from callcenter.accounts.models import ConsoleUser
from tests.conftest import services

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]*)"')


def csrf(page: TestResponse) -> str:
    found = CSRF.search(page.get_data(as_text=True))
    assert found, "the page has no form token"
    return found.group(1)


class Console:
    """A person at a browser: cookies kept, forms posted with the token they carry."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.client: FlaskClient = app.test_client()
        self.token = ""

    def get(self, path: str, **kwargs: object) -> TestResponse:
        page = self.client.get(path, **kwargs)  # type: ignore[arg-type]
        found = CSRF.search(page.get_data(as_text=True))
        if found:
            self.token = found.group(1)
        return page

    def post(
        self, path: str, data: dict[str, str] | None = None, token: bool = True
    ) -> TestResponse:
        form = dict(data or {})
        if token:
            form.setdefault("csrf_token", self.token)
        return self.client.post(path, data=form)

    def code(self, username: str, steps_ahead: int = 0) -> str:
        """The code the person's authenticator app shows now (read from the stored secret)."""
        svc = services(self.app)
        with svc.db.session() as session:
            user = accounts.find_user(session, username)
            assert user is not None and user.totp_secret
            secret = user.totp_secret
        moment = svc.clock.now().timestamp() + 30 * steps_ahead
        return pyotp.TOTP(secret).at(moment)

    def login(self, username: str, password: str) -> TestResponse:
        self.get("/console/login")
        page = self.post("/console/login", {"username": username, "password": password})
        assert page.status_code == 302, page.get_data(as_text=True)
        self.get("/console/second-factor")
        done = self.post("/console/second-factor", {"code": self.code(username)})
        assert done.status_code == 302, done.get_data(as_text=True)
        return done


@pytest.fixture
def make_user(app: Flask) -> Callable[..., tuple[str, str]]:
    """``make_user("lea", "secretary", ["demo"])`` -> (username, first password)."""

    def make(
        username: str, role: str, practices: list[str] | None = None, doctor_id: str | None = None
    ) -> tuple[str, str]:
        svc = services(app)
        with svc.db.session() as session:
            _, password = accounts.create_user(
                session, username, role, practices if practices is not None else ["demo"],
                now=svc.clock.now(), doctor_id=doctor_id,
            )  # fmt: skip
        return username, password

    return make


@pytest.fixture
def console(app: Flask) -> Console:
    return Console(app)


@pytest.fixture
def secretary(app: Flask, make_user, console: Console) -> Console:
    """A secretary of the demo practice, signed in."""
    console.login(*make_user("lea", "secretary", ["demo"]))
    return console


def stored_user(app: Flask, username: str) -> ConsoleUser:
    with services(app).db.session() as session:
        user = accounts.find_user(session, username)
        assert user is not None
        return user
