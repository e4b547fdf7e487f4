"""Parallel requests against the limits of signing in: a real threaded server, real sockets.

Each limit (a TOTP code accepted once, a few wrong codes, a few wrong
passwords) must hold when the attempts arrive at the same moment, not only
one after another: each is counted in the database before it is checked.
"""

from __future__ import annotations

import http.client
import threading
from collections import Counter
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from callcenter.accounts.sessions import COOKIE
from tests.loopback import ServerThread
from tests.web.console.conftest import Console


class QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """The bursts' requests are the test's business, not stderr's."""


@pytest.fixture
def port(app: Flask) -> Iterator[int]:
    """The app served by werkzeug's threaded server on a free loopback port."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    serving = ServerThread(server, name="login-races").start()
    yield server.server_port
    serving.stop()


def burst(port: int, path: str, forms: list[tuple[str, dict[str, str]]]) -> Counter[int]:
    """POST every (cookie, form) at once, each on its own connection; the statuses seen."""
    ready = threading.Barrier(len(forms))
    statuses: list[int] = []
    lock = threading.Lock()

    def send(cookie: str, form: dict[str, str]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.connect()  # connected first: the requests leave together
        body = urlencode(form)
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
        ready.wait()
        connection.request("POST", path, body=body, headers=headers)
        status = connection.getresponse().status
        connection.close()
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=send, args=pair) for pair in forms]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return Counter(statuses)


def at_second_factor(app: Flask, username: str, password: str) -> tuple[Console, str]:
    """A browser past the password: its cookie header and the form's token."""
    console = Console(app)
    console.get("/console/login")
    form = {"username": username, "password": password}
    assert console.post("/console/login", form).status_code == 302
    console.get("/console/second-factor")
    found = console.client.get_cookie(COOKIE)
    assert found is not None
    return console, f"{COOKIE}={found.value}"


def test_one_code_sent_four_times_at_once_opens_one_session(app, make_user, port):
    username, password = make_user("lea", "secretary")
    enrolled = Console(app)
    enrolled.login(username, password)  # enrols; the code of the next step will be replayed
    browsers = [at_second_factor(app, username, password) for _ in range(4)]
    code = browsers[0][0].code(username, steps_ahead=1)
    forms = [(cookie, {"code": code, "csrf_token": console.token}) for console, cookie in browsers]
    statuses = burst(port, "/console/second-factor", forms)
    assert statuses[302] == 1, statuses
    assert statuses[401] == 3, statuses


def test_a_burst_of_wrong_codes_is_checked_no_more_than_the_limit(app, make_user, port):
    username, password = make_user("lea", "secretary")
    Console(app).login(username, password)
    console, cookie = at_second_factor(app, username, password)
    forms = [(cookie, {"code": f"{n:06d}", "csrf_token": console.token}) for n in range(30)]
    statuses = burst(port, "/console/second-factor", forms)
    assert statuses[401] <= 5, statuses  # checked: the limit, never more
    assert statuses[401] + statuses[429] == 30, statuses  # and no error


def test_a_burst_of_wrong_passwords_is_checked_no_more_than_the_limit(app, make_user, port):
    username, _ = make_user("lea", "secretary")
    console = Console(app)
    console.get("/console/login")
    found = console.client.get_cookie(COOKIE)
    assert found is not None
    form = {"username": username, "password": "not-the-password", "csrf_token": console.token}
    statuses = burst(port, "/console/login", [(f"{COOKIE}={found.value}", form)] * 30)
    assert statuses[401] <= 5, statuses
    assert statuses[401] + statuses[429] == 30, statuses
