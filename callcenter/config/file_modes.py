"""Secret files readable by other accounts: found at start-up and logged.

The key ring, the settings (they may hold the auth token), the practices'
signing keys and the secret files named by ``*_FILE`` variables must be
readable by the service's account only (mode 0600).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from callcenter.config.practice import Practice
from callcenter.config.settings import SETTINGS_FILE, Settings

SECRET_VARIABLES = ("CALLCENTER_KEYRING_FILE", "TWILIO_AUTH_TOKEN_FILE",
                    "TWILIO_AUTH_TOKEN_PREVIOUS_FILE", "SMTP_PASSWORD_FILE",
                    "DATABASE_URL_FILE")  # fmt: skip


def secret_files(settings: Settings, practices: Iterable[Practice]) -> Iterator[Path]:
    yield settings.home / SETTINGS_FILE
    yield settings.home / "keyring.json"
    for name in SECRET_VARIABLES:
        if os.environ.get(name):
            yield Path(os.environ[name])
    yield from (p.signing_key for p in practices if p.signing_key)


def loose_secret_files(settings: Settings, practices: Iterable[Practice]) -> list[tuple[Path, int]]:
    """Existing secret files that group or others may read or write: (path, mode)."""
    loose = []
    for path in secret_files(settings, practices):
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            continue
        if mode & 0o077:
            loose.append((path, mode))
    return loose
