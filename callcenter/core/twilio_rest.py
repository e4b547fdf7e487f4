"""Twilio's REST API: one place that builds the client and deletes things there.

Twilio keeps recordings, transcriptions and call logs until we delete them
(docs/operations/twilio.md, The REST API), so deleting them is part of every retention and erasure.
:func:`delete_remote` turns Twilio's answer into one of three outcomes the
retention worker can act on: deleted, already gone, or failed with a short
error code that holds no personal data (it is stored and may be logged).

``api_base`` points the client at a local fake (tests, demos): every request
the client makes, whatever Twilio domain it targets, goes to that base URL
instead, keeping its path and query.  Plain ``http`` is accepted for
loopback hosts only, since the request carries the auth token.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import requests
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from callcenter.core.twilio_stand_in import StandInHttpClient

#: What can be deleted at Twilio, and the prefix of its SIDs.
KINDS: dict[str, str] = {"recording": "RE", "transcription": "TR", "call": "CA"}
#: A request to Twilio never blocks a worker longer than this.
TIMEOUT_SECONDS = 15.0
#: Twilio's error code for "the requested resource was not found".
NOT_FOUND_CODE = 20404

Outcome = Literal["deleted", "gone"]


class RemoteDeletionFailed(Exception):
    """Twilio did not confirm a deletion; ``code`` is short and free of personal data.

    Codes: ``http-<status>`` or ``http-<status>-<twilio code>``, ``timeout``,
    ``connection``, ``request-error``, ``bad-sid``.
    """

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class _RedirectingHttpClient(TwilioHttpClient):
    """Sends every request to ``api_base``, not ``*.twilio.com`` (docs/operations/twilio.md)."""

    def __init__(self, api_base: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.base = urlsplit(api_base)

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
        parts = urlsplit(url)
        path = self.base.path.rstrip("/") + parts.path
        local = urlunsplit((self.base.scheme, self.base.netloc, path, parts.query, ""))
        return super().request(method, local, params, data, headers, auth, timeout, allow_redirects)


def _check_api_base(api_base: str) -> str:
    parts = urlsplit(api_base)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("TWILIO_API_BASE: not an http(s) URL")
    if parts.query or parts.fragment:
        raise ValueError("TWILIO_API_BASE: must not carry a query or fragment")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError("TWILIO_API_BASE: plain http only to a loopback host (the token is sent)")
    return api_base


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_client(
    account_sid: str, auth_token: str, api_base: str | None = None, stand_in: Path | None = None
) -> Client:
    """A Twilio client with a timeout; with ``api_base``, one that talks to that server only;
    with ``stand_in`` (a log file), one that opens no socket (:mod:`.twilio_stand_in`).

    Close it with :func:`close_client` (it pools connections).  Raises
    ``ValueError`` for an ``api_base`` that is not an http(s) URL, or plain
    http to a host other than loopback.
    """
    if stand_in is not None:
        return Client(account_sid, auth_token, http_client=StandInHttpClient(stand_in))
    if api_base:
        http_client: TwilioHttpClient = _RedirectingHttpClient(
            _check_api_base(api_base), TIMEOUT_SECONDS
        )
    else:
        http_client = TwilioHttpClient(timeout=TIMEOUT_SECONDS)
    return Client(account_sid, auth_token, http_client=http_client)


def close_client(client: Client) -> None:
    """Close the client's pooled connections (a leaked socket fails the test suite)."""
    session = getattr(client.http_client, "session", None)
    if session is not None:
        session.close()


_SID_BODY = re.compile(r"[0-9a-fA-F]{32}")


def valid_sid(kind: str, sid: str) -> bool:
    """Whether ``sid`` is a SID of that kind (keeps anything odd out of request paths)."""
    prefix = KINDS.get(kind)
    return (
        prefix is not None
        and isinstance(sid, str)
        and sid[:2] == prefix
        and bool(_SID_BODY.fullmatch(sid[2:]))
    )


#: Twilio's collection name per kind, under ``/2010-04-01/Accounts/{AC}/``.
_COLLECTIONS = {"recording": "Recordings", "transcription": "Transcriptions", "call": "Calls"}


def _error_code(response: Response) -> int | None:
    try:
        code = json.loads(response.text or "{}").get("code")
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def delete_remote(client: Client, kind: str, sid: str) -> Outcome:
    """Delete one recording, transcription or call log at Twilio.

    Returns ``"deleted"`` when Twilio answers 204, ``"gone"`` when it answers
    404 with Twilio's code 20404 (deleted before, e.g. by an earlier attempt
    whose answer was lost).  Anything else raises
    :class:`RemoteDeletionFailed`, including a 404 without that code (a proxy,
    a wrong base URL) and a 2xx other than 204: marking those done would
    forget a deletion that may not have happened.  Raises ``ValueError`` for
    an unknown kind.

    The request is the one ``client.recordings(sid).delete()`` sends, made
    through ``client.request`` so the exact status code is seen.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown remote deletion kind {kind!r}")
    if not valid_sid(kind, sid):
        raise RemoteDeletionFailed("bad-sid")
    url = f"{client.api.base_url}/2010-04-01/Accounts/{client.account_sid}/{_COLLECTIONS[kind]}"
    try:
        response = client.request("DELETE", f"{url}/{sid}.json")
    except requests.Timeout:
        raise RemoteDeletionFailed("timeout") from None
    except requests.ConnectionError:
        raise RemoteDeletionFailed("connection") from None
    except (requests.RequestException, TwilioException):
        raise RemoteDeletionFailed("request-error") from None
    status = response.status_code
    if status == 204:
        return "deleted"
    code = _error_code(response)
    if status == 404 and code == NOT_FOUND_CODE:
        return "gone"
    raise RemoteDeletionFailed(f"http-{status}" + (f"-{code}" if code and code != status else ""))


# -- fetching a recording (the local transcription engine) --------------------

#: A message recording is two minutes at most (about 2 MB of 8 kHz WAV).
MAX_RECORDING_BYTES = 20 * 1024 * 1024


class RecordingFetchFailed(Exception):
    """Twilio did not hand over a recording; ``code`` is short and free of personal data."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def fetch_recording(
    account_sid: str,
    auth_token: str,
    sid: str,
    api_base: str | None = None,
    stand_in: bool = False,
) -> bytes:
    """The recording's WAV bytes (``GET …/Recordings/RE….wav`` with Basic auth), in memory.

    Raises :class:`RecordingFetchFailed` (``bad-sid``, ``http-<status>``,
    ``timeout``, ``connection``, ``too-large``) and ``ValueError`` for a bad
    ``api_base`` (see :func:`make_client`).  With ``stand_in`` (a demo) it
    asks nothing and answers ``http-404``.
    """
    if not valid_sid("recording", sid):
        raise RecordingFetchFailed("bad-sid")
    if stand_in:  # a demo: its recordings were never at Twilio, and nothing leaves the machine
        raise RecordingFetchFailed("http-404")
    base = _check_api_base(api_base) if api_base else "https://api.twilio.com"
    url = f"{base.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Recordings/{sid}.wav"
    try:
        with requests.get(
            url, auth=(account_sid, auth_token), timeout=TIMEOUT_SECONDS, stream=True
        ) as response:
            if response.status_code != 200:
                raise RecordingFetchFailed(f"http-{response.status_code}")
            body = response.raw.read(MAX_RECORDING_BYTES + 1, decode_content=True)
    except requests.Timeout:
        raise RecordingFetchFailed("timeout") from None
    except requests.ConnectionError:
        raise RecordingFetchFailed("connection") from None
    except requests.RequestException:
        raise RecordingFetchFailed("request-error") from None
    if len(body) > MAX_RECORDING_BYTES:
        raise RecordingFetchFailed("too-large")
    return bytes(body)


# -- a call's final status (calls whose status callback never came) -----------

#: Twilio's statuses of a call that is over.
FINAL_CALL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


@dataclass(frozen=True)
class RemoteCall:
    """What Twilio knows of a call: its status and, once over, its duration in seconds."""

    status: str
    duration: int | None


def fetch_call(client: Client, sid: str) -> RemoteCall | None:
    """The call's status at Twilio (``GET …/Calls/CA….json``); None when Twilio cannot say.

    None for a SID that is not a call SID (an emulated call's), a call Twilio
    does not know, or any failure: the caller then decides without it.
    """
    if not valid_sid("call", sid):
        return None
    url = f"{client.api.base_url}/2010-04-01/Accounts/{client.account_sid}/Calls/{sid}.json"
    try:
        response = client.request("GET", url)
        if response.status_code != 200:
            return None
        body = json.loads(response.text or "{}")
    except (requests.RequestException, TwilioException, ValueError):
        return None
    status, duration = body.get("status"), str(body.get("duration") or "")
    if not isinstance(status, str):
        return None
    return RemoteCall(status, int(duration) if duration.isdigit() and len(duration) < 7 else None)
