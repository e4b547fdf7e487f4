"""A real CalDAV server for the tests: Radicale on loopback, its collections in a temporary
folder, a login required.

The ``caldav_server`` fixture starts it on a free port with one empty
calendar (``caldav_server.calendar_url``) for ``USER``; ``stop()`` and
``start()`` simulate an outage (same port, same folder), and ``put`` /
``delete`` / ``events`` change and read the calendar as a doctor's own
calendar application would.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from icalendar import Calendar

USER, PASSWORD = "dr-martin", "caldav-password-for-tests"
_MKCALENDAR = """<?xml version="1.0" encoding="utf-8"?>
<c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop>
<d:displayname>Cabinet</d:displayname></d:prop></d:set></c:mkcalendar>"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class RadicaleServer:
    folder: Path
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def calendar_url(self) -> str:
        return f"{self.base_url}/{USER}/cabinet/"

    def _config(self) -> Path:
        users = self.folder / "users"
        users.write_text(f"{USER}:{PASSWORD}\n", encoding="utf-8")
        config = self.folder / "config"
        config.write_text(
            f"[server]\nhosts = 127.0.0.1:{self.port}\n"
            f"[auth]\ntype = htpasswd\nhtpasswd_filename = {users}\n"
            "htpasswd_encryption = plain\n"
            f"[storage]\nfilesystem_folder = {self.folder / 'collections'}\n"
            "[rights]\ntype = owner_only\n"
            "[logging]\nlevel = warning\n",
            encoding="utf-8",
        )
        return config

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--config", str(self._config())],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("Radicale did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    # -- the doctor's own calendar application ------------------------------------------
    def _request(self, method: str, url: str, body: str = "", **headers: str) -> requests.Response:
        return requests.request(method, url, data=body.encode(), headers=headers,
                                auth=(USER, PASSWORD), timeout=10)  # fmt: skip

    def make_calendar(self) -> None:
        answer = self._request("MKCALENDAR", self.calendar_url, _MKCALENDAR,
                               **{"Content-Type": "application/xml"})  # fmt: skip
        assert answer.status_code == 201, answer.text

    def put(self, name: str, ics: str) -> None:
        answer = self._request("PUT", self.calendar_url + name, ics,
                               **{"Content-Type": "text/calendar"})  # fmt: skip
        assert answer.status_code in (201, 204), answer.text

    def delete(self, name: str) -> None:
        assert self._request("DELETE", self.calendar_url + name).status_code in (200, 204)

    def names(self) -> list[str]:
        """The resources of the calendar folder (read from disk: no request needed)."""
        folder = self.folder / "collections" / "collection-root" / USER / "cabinet"
        return sorted(p.name for p in folder.glob("*.ics"))

    def event(self, name: str) -> Calendar:
        answer = self._request("GET", self.calendar_url + name)
        assert answer.status_code == 200, answer.status_code
        return Calendar.from_ical(answer.text)


@pytest.fixture
def caldav_server(tmp_path: Path) -> Iterator[RadicaleServer]:
    server = RadicaleServer(tmp_path / "radicale")
    server.folder.mkdir()
    server.start()
    try:
        server.make_calendar()
        yield server
    finally:
        server.stop()
