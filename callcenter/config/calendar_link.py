"""A doctor's own CalDAV calendar, as the practice file names it.

The practice file holds the calendar's URL and the account, never the
password: that comes from a secret file (``password_file``, read each time
it is needed, so a changed password needs no restart) or from an
environment variable (``password_env``).  A practice file is read by more
people and copied to more places than a secret should be.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callcenter.config.staff import StaffError
from callcenter.core.yaml_fields import Fields

#: How the busy time is read: every event (recurrences expanded), or the
#: server's free/busy answer (for a calendar whose events we may not read).
BUSY_MODES = ("events", "freebusy")
_FIELDS = {"url", "username", "password_file", "password_env", "busy"}


@dataclass(frozen=True)
class CalendarLink:
    """Where a doctor's calendar lives and how to log in to it."""

    url: str
    username: str
    password_file: Path | None = None
    password_env: str | None = None
    busy: str = "events"

    def password(self) -> str:
        """The account's password, read now from its file or the environment.

        Raises ``LookupError`` (naming the file or variable, never the value)
        when it is missing: the sync and the writes fail and are retried.
        """
        if self.password_file is not None:
            try:
                return self.password_file.read_text(encoding="utf-8").strip()
            except OSError:
                raise LookupError(f"cannot read {self.password_file}") from None
        assert self.password_env is not None
        value = os.environ.get(self.password_env)
        if value is None:
            raise LookupError(f"{self.password_env} is not set")
        return value


def parse_calendar(where: str, raw: Any, base: Path | None) -> CalendarLink | None:
    """A doctor's ``calendar:`` mapping, or None when absent; errors name the field."""
    if raw is None:
        return None
    fields = Fields(raw, where, shape="a mapping (url, username, password_file | password_env)",
                    error=StaffError)  # fmt: skip
    fields.refuse_unknown(_FIELDS)
    url = str(fields.text("url"))
    if not url.startswith(("https://", "http://")):
        raise StaffError(f"{where}.url", f"{url!r} is not an http(s) URL")
    username = str(fields.text("username"))
    password_file, password_env = (
        fields.text("password_file", required=False),
        fields.text("password_env", required=False),
    )
    if (password_file is None) == (password_env is None):
        raise StaffError(where, "needs exactly one of password_file and password_env "
                                "(the password is never written in the practice file)")  # fmt: skip
    path = None
    if password_file is not None:
        path = Path(password_file)
        if not path.is_absolute() and base is not None:
            path = base / path
    busy = str(fields.get("busy", "events"))
    if busy not in BUSY_MODES:
        raise StaffError(f"{where}.busy", f"must be one of {', '.join(BUSY_MODES)}")
    return CalendarLink(url=url if url.endswith("/") else url + "/", username=username,
                        password_file=path, password_env=password_env, busy=busy)  # fmt: skip
