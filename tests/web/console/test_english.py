"""The console in British English: a practice that sets ``console_language: en-GB``
gets the English catalogue on every page, and the page says which language it is in."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from flask import Flask

from callcenter.accounts import accounts
from callcenter.config.settings import Settings
from callcenter.web.app import create_app
from callcenter.web.console import text
from tests.conftest import bound, create_tables, services
from tests.web.console.conftest import Console


@pytest.fixture
def english(settings: Settings) -> Iterator[Flask]:
    """The app of an instance whose settings.yaml says ``console_language: en-GB``."""
    app = bound(create_app(dataclasses.replace(settings, extra={"console_language": "en-GB"})))
    create_tables(services(app).db)
    yield app
    services(app).db.dispose()


def test_the_login_page_is_in_english(english: Flask):
    page = Console(english).get("/console/login").get_data(as_text=True)
    assert "<h1>Sign in</h1>" in page
    assert '<html lang="en">' in page
    assert text.catalogue("fr-FR")["login.title"] not in page  # "Connexion"


def test_a_secretary_works_in_english(english: Flask):
    svc = services(english)
    with svc.db.session() as session:
        _, password = accounts.create_user(
            session, "lea", "secretary", ["demo"], now=svc.clock.now()
        )
    console = Console(english)
    console.login("lea", password)
    page = console.get("/console/messages").get_data(as_text=True)
    assert "Messages to call back" in page
    assert text.catalogue("fr-FR")["messages.title"] not in page
    # The demo clock stands on Tuesday 24 November 2026: dates use English weekday names.
    assert "Tuesday 24/11/2026" in console.get("/console/appointments").get_data(as_text=True)
