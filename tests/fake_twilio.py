"""A fake of Twilio's REST API on a loopback port, for outbound calls made by the code.

Answers what the retention worker and the SMS features send, as Twilio does
(docs/operations/twilio.md): ``DELETE …/Recordings/RE….json``, ``…/Transcriptions/TR….json``,
``…/Calls/CA….json`` and ``…/Messages/SM….json`` with 204 (404 with code 20404
for a SID it was told is unknown, or one already deleted), and
``POST …/Messages.json`` with 201 and a JSON message resource (``sid`` SM…,
``status`` queued, ``body`` echoed), ``GET …/Recordings/RE….wav`` with the
audio a test gave it (``audio[sid]`` or ``default_audio``; 404 once deleted),
``GET …/Calls/CA….json`` with the call resource a test gave it (``calls[sid]``,
else 404), and the account's numbers (``numbers``, see :meth:`FakeTwilio.add_number`):
``GET …/IncomingPhoneNumbers.json`` (a page, filtered by ``PhoneNumber``) and
``POST …/IncomingPhoneNumbers/PN….json`` (updates the fields sent, answers the resource).
Requests need Basic auth with the account SID and token; the account in the
path must be the authenticated one.

Use the ``fake_twilio`` fixture, point a client at ``fake_twilio.base_url``
(``callcenter.core.twilio_rest.make_client(..., api_base=fake.base_url)``) and read
``fake_twilio.requests`` to see what was sent.  ``fail_next(path, times,
status)`` makes the next requests for a path answer an error instead.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from tests.loopback import ServerThread

ACCOUNT_SID = "AC" + "f" * 32
AUTH_TOKEN = "fake-twilio-auth-token-0123456789"

_ACCOUNT = r"/2010-04-01/Accounts/(?P<account>AC[0-9a-fA-F]{32})"
_DELETE = re.compile(
    _ACCOUNT + r"/(?P<collection>Recordings|Transcriptions|Calls|Messages)/(?P<sid>\w{34})\.json"
)
_PREFIXES = {"Recordings": "RE", "Transcriptions": "TR", "Calls": "CA", "Messages": "SM"}
_MESSAGES = re.compile(_ACCOUNT + r"/Messages\.json")
_MEDIA = re.compile(_ACCOUNT + r"/Recordings/(?P<sid>RE[0-9a-fA-F]{32})\.wav")
_CALL = re.compile(_ACCOUNT + r"/Calls/(?P<sid>CA[0-9a-fA-F]{32})\.json")
_NUMBERS = re.compile(_ACCOUNT + r"/IncomingPhoneNumbers\.json")
_NUMBER = re.compile(_ACCOUNT + r"/IncomingPhoneNumbers/(?P<sid>PN[0-9a-fA-F]{32})\.json")
#: The fields of a number an update may change (Twilio's form names → resource keys).
NUMBER_FIELDS = {
    "VoiceUrl": "voice_url", "VoiceMethod": "voice_method",
    "VoiceFallbackUrl": "voice_fallback_url", "VoiceFallbackMethod": "voice_fallback_method",
    "StatusCallback": "status_callback", "StatusCallbackMethod": "status_callback_method",
    "SmsUrl": "sms_url", "SmsMethod": "sms_method",
}  # fmt: skip


@dataclass(frozen=True)
class FakeRequest:
    """One request as the fake received it.

    ``form``: first value of each field; ``user``: the Basic auth user name;
    ``authenticated``: whether the password was the fake's auth token;
    ``query``: first value of each query string field.
    """

    method: str
    path: str
    form: dict[str, str]
    user: str | None
    authenticated: bool = False
    query: dict[str, str] = field(default_factory=dict)


class FakeTwilio:
    """The fake's state: request log, scheduled failures, unknown and deleted SIDs."""

    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.requests: list[FakeRequest] = []
        self.messages: list[dict[str, Any]] = []
        self.deleted: set[str] = set()
        self.delay = 0.0  # seconds before each answer, to make concurrent clients overlap
        # Recording media (GET …/Recordings/RE….wav): per SID, else ``default_audio``.
        self.audio: dict[str, bytes] = {}
        self.default_audio: bytes | None = None
        # Call resources (GET …/Calls/CA….json), per SID: what Twilio knows of a call.
        self.calls: dict[str, dict[str, Any]] = {}
        # The account's phone numbers (IncomingPhoneNumbers resources), per PN SID.
        self.numbers: dict[str, dict[str, Any]] = {}
        self._unknown: set[str] = set()
        self._failures: list[list[Any]] = []  # [path fragment, remaining, status]
        self._lock = threading.Lock()
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        self._server = ServerThread(server, name="fake-twilio")
        host, port = server.server_address[:2]
        self.base_url = f"http://{host!s}:{port}"

    # -- test controls ---------------------------------------------------------
    def fail_next(self, path: str, times: int = 1, status: int = 500) -> None:
        """The next ``times`` requests whose path contains ``path`` answer ``status``.

        ``status`` 404 answers like Twilio for a missing resource (code 20404).
        """
        with self._lock:
            self._failures.append([path, times, status])

    def unknown(self, *sids: str) -> None:
        """These SIDs do not exist here: deleting them answers 404 (code 20404)."""
        with self._lock:
            self._unknown.update(sids)

    def add_number(self, phone_number: str, **fields: str) -> dict[str, Any]:
        """A number on the account, with the webhook fields given (``voice_url=…``)."""
        sid = "PN" + secrets.token_hex(16)
        resource: dict[str, Any] = {
            "sid": sid, "account_sid": self.account_sid, "phone_number": phone_number,
            "friendly_name": phone_number, "api_version": "2010-04-01",
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/IncomingPhoneNumbers/{sid}.json",
            **{key: None for key in NUMBER_FIELDS.values()}, **fields,
        }  # fmt: skip
        with self._lock:
            self.numbers[sid] = resource
        return resource

    def deletes(self, sid: str | None = None) -> list[FakeRequest]:
        """DELETE requests received, all or for one SID."""
        with self._lock:
            found = [r for r in self.requests if r.method == "DELETE"]
        return [r for r in found if sid is None or r.path.endswith(f"/{sid}.json")]

    # -- life cycle ------------------------------------------------------------
    def start(self) -> FakeTwilio:
        self._server.start()
        return self

    def close(self) -> None:
        self._server.stop()  # at once: no half-second poll for every test with an app

    # -- answering -------------------------------------------------------------
    def answer(self, request: FakeRequest) -> tuple[int, dict[str, Any] | bytes | None]:
        """The status and JSON body Twilio would send back."""
        with self._lock:
            self.requests.append(request)
            for failure in self._failures:
                if failure[0] in request.path and failure[1] > 0:
                    failure[1] -= 1
                    return _error(failure[2])
        if not request.authenticated or request.user != self.account_sid:
            return _error(401, 20003)
        deleting = _DELETE.fullmatch(request.path)
        if request.method == "DELETE" and deleting:
            return self._delete(deleting)
        if request.method == "POST" and _MESSAGES.fullmatch(request.path):
            return self._send(request)
        if request.method == "GET" and (call := _CALL.fullmatch(request.path)):
            with self._lock:
                found = self.calls.get(call["sid"])
            if found is not None and call["account"] == self.account_sid:
                return 200, {"sid": call["sid"], "account_sid": self.account_sid, **found}
            return _error(404, 20404)
        if _NUMBERS.fullmatch(request.path) and request.method == "GET":
            return self._numbers(request)
        if (number := _NUMBER.fullmatch(request.path)) and request.method == "POST":
            return self._update_number(number["sid"], request.form)
        media = _MEDIA.fullmatch(request.path)
        if request.method == "GET" and media and media["account"] == self.account_sid:
            with self._lock:
                audio = self.audio.get(media["sid"], self.default_audio)
                if audio is not None and media["sid"] not in self.deleted:
                    return 200, audio
        return _error(404, 20404)

    def _delete(self, match: re.Match[str]) -> tuple[int, dict[str, Any] | None]:
        sid = match["sid"]
        if match["account"] != self.account_sid or not sid.startswith(
            _PREFIXES[match["collection"]]
        ):
            return _error(404, 20404)
        with self._lock:
            if sid in self._unknown or sid in self.deleted:
                return _error(404, 20404)
            self.deleted.add(sid)
        return 204, None

    def _numbers(self, request: FakeRequest) -> tuple[int, dict[str, Any]]:
        return 200, _page_of_numbers(self, request)

    def _update_number(self, sid: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            resource = self.numbers.get(sid)
            if resource is None:
                return _error(404, 20404)
            for name, key in NUMBER_FIELDS.items():
                if name in form:
                    resource[key] = form[name]
            return 200, dict(resource)

    def _send(self, request: FakeRequest) -> tuple[int, dict[str, Any] | None]:
        form = request.form
        if not form.get("To") or not (form.get("Body") or form.get("MediaUrl")):
            return _error(400, 21604)
        if not (form.get("From") or form.get("MessagingServiceSid")):
            return _error(400, 21603)
        now = format_datetime(datetime.now(UTC), usegmt=True)
        sid = "SM" + secrets.token_hex(16)
        message = {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": form.get("Body", ""),
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {
                "media": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}/Media.json"
            },
            "to": form["To"],
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }
        with self._lock:
            self.messages.append(message)
        return 201, message


def _page_of_numbers(fake: FakeTwilio, request: FakeRequest) -> dict[str, Any]:
    wanted = request.query.get("PhoneNumber")
    with fake._lock:
        found = [dict(n) for n in fake.numbers.values() if wanted in (None, n["phone_number"])]
    uri = f"/2010-04-01/Accounts/{fake.account_sid}/IncomingPhoneNumbers.json"
    return {
        "incoming_phone_numbers": found, "start": 0, "end": max(len(found) - 1, 0), "page": 0,
        "page_size": 50, "first_page_uri": f"{uri}?PageSize=50&Page=0", "next_page_uri": None,
        "previous_page_uri": None, "uri": f"{uri}?PageSize=50&Page=0",
    }  # fmt: skip


def _error(status: int, code: int | None = None) -> tuple[int, dict[str, Any]]:
    """Twilio's error body (code 20404 for a 404 unless told otherwise)."""
    if code is None:
        code = 20404 if status == 404 else status
    body = {
        "code": code,
        "message": "The requested resource was not found" if status == 404 else "Fake error",
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return status, body


def _basic_auth(header: str | None) -> tuple[str, str] | None:
    """User and password of a Basic ``Authorization`` header, or None."""
    if not header or not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
    except ValueError:
        return None
    return user, password


def _handler_for(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            form = {key: values[0] for key, values in parse_qs(raw).items()}
            user, password = _basic_auth(self.headers.get("Authorization")) or (None, None)
            path, _, query = self.path.partition("?")
            fields = {key: values[0] for key, values in parse_qs(query).items()}
            request = FakeRequest(self.command, path, form, user, password == fake.auth_token,
                                  fields)  # fmt: skip
            if fake.delay:
                time.sleep(fake.delay)
            status, body = fake.answer(request)
            if isinstance(body, bytes):
                data, kind = body, "audio/x-wav"
            else:
                data, kind = (json.dumps(body).encode() if body is not None else b""), None
            self.send_response(status)
            if data:
                self.send_header("Content-Type", kind or "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: the test reads ``fake.requests`` instead."""

    return Handler


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    """A fake Twilio REST API on 127.0.0.1, stopped after the test."""
    fake = FakeTwilio().start()
    try:
        yield fake
    finally:
        fake.close()


def closed_port() -> int:
    """A loopback port nothing listens on: a Twilio that refuses connections."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
