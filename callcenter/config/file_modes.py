"""Secret files readable by other accounts: found at start-up and logged.

The key ring, the settings (they may hold the auth token), the practice files
(secretaries' PIN hashes), the SQLite database, the practices' signing keys
and the secret files named by ``*_FILE`` variables must be readable by the
service's account only (mode 0600), and the instance folder and its
``practices`` folder by nobody else either (0700): ``callcenter init`` makes
them so, and an older instance is told at every start.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from sqlalchemy import make_url

from callcenter.config.practice import Practice
from callcenter.config.settings import SETTINGS_FILE, Settings

SECRET_VARIABLES = ("CALLCENTER_KEYRING_FILE", "TWILIO_AUTH_TOKEN_FILE",
                    "TWILIO_AUTH_TOKEN_PREVIOUS_FILE", "SMTP_PASSWORD_FILE",
                    "DATABASE_URL_FILE")  # fmt: skip


def secret_files(settings: Settings, practices: Iterable[Practice]) -> Iterator[Path]:
    yield settings.home
    yield settings.home / SETTINGS_FILE
    yield settings.home / "keyring.json"
    yield settings.practices_dir
    if settings.practices_dir.is_dir():
        yield from sorted(settings.practices_dir.glob("*.yaml"))
    database = _sqlite_file(settings.database_url)
    if database is not None:
        yield database
    for name in SECRET_VARIABLES:
        if os.environ.get(name):
            yield Path(os.environ[name])
    yield from (p.signing_key for p in practices if p.signing_key)


def loose_secret_files(settings: Settings, practices: Iterable[Practice]) -> list[tuple[Path, int]]:
    """Existing secret files (and folders) that group or others may use: (path, mode)."""
    loose = []
    for path in secret_files(settings, practices):
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            continue
        if mode & 0o077:
            loose.append((path, mode))
    return loose


def _sqlite_file(url: str) -> Path | None:
    """The file of a SQLite database URL; None for another database or one in memory."""
    try:
        parsed = make_url(url)
    except Exception:  # a malformed URL is the database's own start-up error
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(str(parsed.database))
