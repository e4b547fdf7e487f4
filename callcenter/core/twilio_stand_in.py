"""Twilio's REST API played inside the process, for demo instances: nothing leaves the machine.

A demo instance has made-up credentials: sending its SMS and deletions to
api.twilio.com would fail, be retried and logged on every run, and reach a
third party besides.  ``init --demo`` writes ``twilio_stand_in: true``; the
REST client then gets :class:`StandInHttpClient`, which answers as Twilio
would without opening a socket, and appends one line per request that would
have been sent to a file in the instance folder: its kind, its time and, for
an SMS, the masked number.  Never the text: the console's administrator sees
that a notice would have gone, not what it said.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from twilio.http import HttpClient
from twilio.http.response import Response

#: The stand-in's log, in the instance folder (one JSON object a line).
LOG_FILE = "twilio-stand-in.jsonl"
#: Only the last so many lines are shown; the file is a demo's, it stays small.
SHOWN = 50

_ACCOUNT = r"/2010-04-01/Accounts/(?P<account>AC\w{32})"
_MESSAGES = re.compile(_ACCOUNT + r"/Messages\.json")
_DELETE = re.compile(
    _ACCOUNT + r"/(?P<collection>Recordings|Transcriptions|Calls|Messages)/\w+\.json"
)
_KINDS = {
    "Recordings": "deletion-recording",
    "Transcriptions": "deletion-transcription",
    "Calls": "deletion-call",
    "Messages": "deletion-sms",
}


@dataclass(frozen=True)
class StandInEntry:
    """One request the stand-in answered instead of Twilio: no content, a masked number."""

    kind: str
    at: datetime
    number: str | None


def mask_number(number: str | None) -> str | None:
    """``+33612345678`` → ``+336••••••78``: enough to tell two numbers apart, not to call one."""
    if not number:
        return None
    digits = number.strip()
    if len(digits) <= 6:
        return "•" * len(digits)
    return digits[:4] + "•" * (len(digits) - 6) + digits[-2:]


class StandInHttpClient(HttpClient):
    """A Twilio HTTP client that never connects: it answers and records (see the module)."""

    def __init__(self, log_path: Path) -> None:
        super().__init__(logging.getLogger("twilio.http_client"), is_async=False)
        self.log_path = log_path

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        path = urlsplit(url).path
        form = {str(k): str(v) for k, v in (data or {}).items()}
        if method == "POST" and (match := _MESSAGES.fullmatch(path)):
            self._record("sms", form.get("To"))
            return _json(201, _message(match["account"], form))
        if method == "DELETE" and (match := _DELETE.fullmatch(path)):
            self._record(_KINDS[match["collection"]], None)
            return Response(204, "")
        # A lookup (a call's status, a phone number): the stand-in knows none.
        return _json(404, {"code": 20404, "message": "The requested resource was not found",
                           "status": 404})  # fmt: skip

    def _record(self, kind: str, number: str | None) -> None:
        line = {"kind": kind, "at": datetime.now(UTC).isoformat(), "number": mask_number(number)}
        # One short append per line: lines from the web and the worker do not interleave.
        fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(line) + "\n")


def read_log(log_path: Path, limit: int = SHOWN) -> list[StandInEntry]:
    """The last ``limit`` entries, newest first; none when the stand-in never answered."""
    try:
        lines = log_path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    entries = []
    for line in reversed(lines[-limit:]):
        try:
            item = json.loads(line)
            entries.append(StandInEntry(str(item["kind"]), datetime.fromisoformat(item["at"]),
                                        item.get("number")))  # fmt: skip
        except (ValueError, KeyError, TypeError):
            continue  # a line cut by a crash: skip it, show the rest
    return entries


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(status, json.dumps(body))


def _message(account: str, form: dict[str, str]) -> dict[str, Any]:
    """The message resource Twilio answers a send with (queued, never delivered)."""
    now = format_datetime(datetime.now(UTC), usegmt=True)
    sid = "SM" + secrets.token_hex(16)
    return {
        "account_sid": account, "api_version": "2010-04-01", "body": "", "sid": sid,
        "date_created": now, "date_updated": now, "date_sent": None, "direction": "outbound-api",
        "error_code": None, "error_message": None, "from": form.get("From"),
        "messaging_service_sid": form.get("MessagingServiceSid"), "num_media": "0",
        "num_segments": "1", "price": None, "price_unit": "USD", "status": "queued",
        "to": form.get("To"), "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
        "subresource_uris": {"media": f"/2010-04-01/Accounts/{account}/Messages/{sid}/Media.json"},
    }  # fmt: skip
