"""Running processes follow a key rotation without a restart.

``callcenter keys rotate`` rewrites the key ring file; each web process and
worker looks at the file's modification time at most every few seconds and
reloads it when it changed.  Without this, a server would keep encrypting
under a key that ``keys retire`` later removes, and could not read rows
already moved to the new key.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

from callcenter.core.logs import get_logger
from callcenter.security.crypto import FieldCipher
from callcenter.security.keyring import KEYRING_FILE, KeyRing, KeyRingError

log = get_logger("callcenter.keys")


def keyring_path(home: Path, environ: Mapping[str, str]) -> Path | None:
    """The file the ring came from; None when it came inline from the environment."""
    if environ.get("CALLCENTER_KEYRING") is not None:
        return None
    return Path(environ.get("CALLCENTER_KEYRING_FILE") or Path(home) / KEYRING_FILE)


class KeyRingWatcher:
    def __init__(self, cipher: FieldCipher, path: Path | None, interval: float = 5.0) -> None:
        self.cipher = cipher
        self.path = path
        self.interval = interval
        self._checked = time.monotonic()
        self._mtime = self._stat()

    def _stat(self) -> int | None:
        try:
            return self.path.stat().st_mtime_ns if self.path else None
        except OSError:
            return None

    def refresh(self, force: bool = False) -> bool:
        """Reload the ring if its file changed; True when it did.  A bad file keeps the old."""
        now = time.monotonic()
        if self.path is None or (not force and now - self._checked < self.interval):
            return False
        self._checked = now
        mtime = self._stat()
        if mtime is None or mtime == self._mtime:
            return False
        try:
            ring = KeyRing.load(self.path)
        except KeyRingError as exc:
            log.error("keyring_reload_failed", error=str(exc))
            return False
        self._mtime = mtime
        self.cipher.keyring = ring
        log.info("keyring_reloaded", active=f"{ring.active_id:08x}", keys=len(ring))
        return True
