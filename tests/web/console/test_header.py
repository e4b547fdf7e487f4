"""The console's header names who answers: the practice, or the tele-secretariat serving several."""

from __future__ import annotations

import re

from callcenter.accounts import accounts
from tests.conftest import services
from tests.web.console.conftest import Console
from tests.web.console.test_admin import app_with as app_with  # the fixture
from tests.web.console.test_secretary_pages import home as home  # two practices: the fixture


def brand(console: Console) -> str:
    page = console.get("/console/messages").get_data(as_text=True)
    found = re.search(r'<p class="brand">([^<]*)</p>', page)
    assert found, page
    return found.group(1)


def signed_in(app, make_user, username: str, practices: list[str]) -> Console:
    console = Console(app)
    console.login(*make_user(username, "secretary", practices))
    return console


def test_a_secretary_of_one_practice_sees_its_name(app, make_user):
    assert brand(signed_in(app, make_user, "lea", ["demo"])) == "cabinet médical des Tilleuls"


def test_a_secretary_of_several_sees_the_secretariat(app_with):
    app = app_with()
    assert brand(signed_in(app, _maker(app), "lea", ["demo", "port"])) == "Secrétariat"


def test_the_secretariat_is_named_by_the_instance_setting(app_with):
    app = app_with(organisation_name="Télésecrétariat des Tilleuls")
    signed = signed_in(app, _maker(app), "marc", ["demo", "port"])
    assert brand(signed) == "Télésecrétariat des Tilleuls"


def _maker(app):  # type: ignore[no-untyped-def]
    """``make_user`` for an app made by ``app_with``."""

    def make(username: str, role: str, practices: list[str]) -> tuple[str, str]:
        svc = services(app)
        with svc.db.session() as session:
            _, password = accounts.create_user(
                session, username, role, practices, now=svc.clock.now()
            )
        return username, password

    return make
