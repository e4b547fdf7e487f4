"""The calendar feed's secret token never reaches a log the server writes.

The token in ``/calendar/<token>.ics`` is the credential: anyone who reads it
in an access log reads the doctor's diary.  Our structlog lines, werkzeug's
request log (``callcenter serve``) and gunicorn's access log (``--workers``)
all mask it.
"""

from __future__ import annotations

import io
import logging
import urllib.error
import urllib.request
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from flask import Flask
from werkzeug.serving import make_server

from callcenter.appointments.ics import create_feed
from callcenter.core import logs
from tests.conftest import services
from tests.loopback import ServerThread


@pytest.fixture
def rendered() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    logs.configure("json", stream=stream)
    yield stream
    logs.configure("console")


@pytest.fixture
def token(app: Flask) -> str:
    svc = services(app)
    with svc.db.session() as session:
        return create_feed(session, "demo", "dr-martin", svc.clock.now())


def test_werkzeugs_request_log_and_ours_hold_no_feed_token(app, token, rendered):
    server = make_server("127.0.0.1", 0, app, threaded=True)  # its request log, as served
    serving = ServerThread(server, name="access-logs").start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        with urllib.request.urlopen(f"{base}/calendar/{token}.ics") as answer:
            assert b"BEGIN:VCALENDAR" in answer.read()
        with pytest.raises(urllib.error.HTTPError):  # a wrong token is logged the same way
            urllib.request.urlopen(f"{base}/calendar/{token[::-1]}.ics")
    finally:
        serving.stop()
    output = rendered.getvalue()
    assert "GET /calendar/[redacted]" in output and "calendar_feed" in output
    assert token not in output and token[::-1] not in output


def test_gunicorns_access_log_holds_no_feed_token():
    from gunicorn.config import Config

    from callcenter.web.access_log import RedactingLogger

    config = Config()
    config.set("accesslog", "-")
    logger = RedactingLogger(config)
    stream = io.StringIO()
    for handler in logger.access_log.handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(stream)
    secret = "s3cr3t-feed-token-AbCdEf0123456789"
    path = f"/calendar/{secret}.ics"
    request = SimpleNamespace(
        headers=[("USER-AGENT", "cal")], method="GET", path=path, query="", version=(1, 1),
        uri=path,
    )  # fmt: skip
    response = SimpleNamespace(status="200 OK", headers=[], sent=10, response_length=10)
    environ = {
        "REQUEST_METHOD": "GET", "RAW_URI": path, "PATH_INFO": path, "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
    }  # fmt: skip
    from datetime import timedelta

    logger.access(response, request, environ, timedelta(seconds=0.01))
    output = stream.getvalue()
    assert "/calendar/[redacted]" in output
    assert secret not in output
