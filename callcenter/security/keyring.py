"""The root key ring: the secrets every field key and blind-index key derive from.

The ring lives outside the database and its backups (docs/security/keyring.md,
HHS's "separate location" condition), in a 0600 JSON file or in the environment.
It holds a list of root keys, each with a random 4-byte id that ciphertexts
carry, exactly one of them *active* (used to encrypt) and the others *read*
(kept so older rows still decrypt), plus the Ed25519 key that signs audit
checkpoints.  The server only ever loads a ring: keys are made by
``callcenter init`` and ``callcenter keys rotate``, never on start-up.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

FORMAT = 1
KEYRING_FILE = "keyring.json"
SECRET_BYTES = 32
ACTIVE = "active"
READ = "read"
_STATUSES = (ACTIVE, READ)
_MAX_KEY_ID = 2**32 - 1


class KeyRingError(Exception):
    """The key ring is missing, unsafe or malformed, or a key operation is refused.

    Messages are one line and never contain key material.
    """


@dataclass
class RootKey:
    """One root key; ``secret`` is left out of the repr so it never reaches a log."""

    key_id: int
    secret: bytes = field(repr=False)
    created_at: str
    status: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: object, what: str, source: str) -> bytes:
    if not isinstance(value, str):
        raise KeyRingError(f"{source}: {what} must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise KeyRingError(f"{source}: {what} is not valid base64") from None


class KeyRing:
    """Root keys (one active) and the audit signing key."""

    def __init__(self, keys: list[RootKey], signing_seed: bytes, source: str = "key ring") -> None:
        self._keys = list(keys)
        self._signing_seed = signing_seed
        self._check(source)

    # -- construction -------------------------------------------------------

    @classmethod
    def generate(cls) -> KeyRing:
        """A fresh ring with one active key and a new signing key (``callcenter init``)."""
        first = RootKey(_new_key_id(set()), secrets.token_bytes(SECRET_BYTES), _now(), ACTIVE)
        return cls([first], secrets.token_bytes(32))

    # -- reading -------------------------------------------------------------

    @property
    def active_id(self) -> int:
        return self._active().key_id

    def key_ids(self) -> list[int]:
        """Every key id, the active one first: the order decryption and lookups try."""
        active = self.active_id
        return [active] + [k.key_id for k in self._keys if k.key_id != active]

    def entries(self) -> list[RootKey]:
        """Copies of the keys, for ``callcenter keys list``."""
        return [RootKey(k.key_id, k.secret, k.created_at, k.status) for k in self._keys]

    def __contains__(self, key_id: object) -> bool:
        return any(k.key_id == key_id for k in self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"KeyRing(active={self.active_id}, keys={[k.key_id for k in self._keys]})"

    def secret(self, key_id: int) -> bytes:
        """The root secret of ``key_id``; an unknown (or retired) id is an error."""
        for key in self._keys:
            if key.key_id == key_id:
                return key.secret
        raise KeyRingError(f"key {key_id} is not in the key ring (retired or never created)")

    def signing_key(self) -> Ed25519PrivateKey:
        """The Ed25519 key that signs audit checkpoints."""
        return Ed25519PrivateKey.from_private_bytes(self._signing_seed)

    def verify_key(self) -> Ed25519PublicKey:
        return self.signing_key().public_key()

    # -- changes -------------------------------------------------------------

    def add(self) -> int:
        """Add a new key as "read" only: the first half of an online rotation.

        Tink's order: every instance must hold a key before any of them
        encrypts with it, so a multi-instance deployment adds, rolls the ring
        out, then promotes.
        """
        key_id = _new_key_id({k.key_id for k in self._keys})
        self._keys.append(RootKey(key_id, secrets.token_bytes(SECRET_BYTES), _now(), READ))
        return key_id

    def promote(self, key_id: int) -> None:
        """Make ``key_id`` the active key; the previous active key becomes "read"."""
        self.secret(key_id)  # raises for an unknown id
        for key in self._keys:
            key.status = ACTIVE if key.key_id == key_id else READ

    def rotate(self) -> int:
        """Add a new key and make it active at once (single-instance rotation)."""
        key_id = self.add()
        self.promote(key_id)
        return key_id

    def retire(self, key_id: int) -> None:
        """Remove a read key.  The caller checks that no row still uses it."""
        key = next((k for k in self._keys if k.key_id == key_id), None)
        if key is None:
            raise KeyRingError(f"key {key_id} is not in the key ring")
        if key.status == ACTIVE:
            raise KeyRingError(
                f"key {key_id} is the active key and cannot be retired; rotate first"
            )
        self._keys.remove(key)

    # -- serialisation -------------------------------------------------------

    def to_json(self) -> str:
        data = {
            "format": FORMAT,
            "keys": [
                {
                    "id": k.key_id,
                    "secret": _b64(k.secret),
                    "created_at": k.created_at,
                    "status": k.status,
                }
                for k in self._keys
            ],
            "signing_key": _b64(self._signing_seed),
        }
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "key ring") -> KeyRing:
        """Parse a ring; ``source`` names where it came from in error messages."""
        try:
            data = json.loads(text)
        except (ValueError, TypeError):
            raise KeyRingError(f"{source}: not valid JSON") from None
        if not isinstance(data, dict):
            raise KeyRingError(f"{source}: must be a JSON object")
        if data.get("format") != FORMAT:
            raise KeyRingError(f"{source}: unsupported format {data.get('format')!r} (want 1)")
        raw_keys = data.get("keys")
        if not isinstance(raw_keys, list) or not raw_keys:
            raise KeyRingError(f"{source}: 'keys' must be a non-empty list")
        keys = [_parse_key(item, n, source) for n, item in enumerate(raw_keys)]
        seed = _unb64(data.get("signing_key"), "signing_key", source)
        return cls(keys, seed, source)

    def save(self, path: Path) -> None:
        """Write the ring atomically, readable by its owner only.

        The temporary file is created 0600 before any secret is written to it,
        and ``os.replace`` means a crash leaves either the old ring or the new
        one, never half of one.
        """
        path = Path(path)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(self.to_json())
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)  # in case a umask or ACL widened it
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> KeyRing:
        """Read a ring file, refusing one that anybody but its owner could read."""
        path = Path(path)
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise KeyRingError(_missing(path)) from None
        except OSError as exc:
            raise KeyRingError(f"{path}: cannot read key ring ({exc.strerror})") from None
        if not stat.S_ISREG(mode):
            raise KeyRingError(f"{path}: key ring must be a regular file")
        if mode & 0o077:
            raise KeyRingError(
                f"{path}: key ring file must be readable by its owner only (chmod 600)"
            )
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise KeyRingError(f"{path}: not valid JSON") from None
        except OSError as exc:
            raise KeyRingError(f"{path}: cannot read key ring ({exc.strerror})") from None
        return cls.from_json(text, str(path))

    # -- internals -----------------------------------------------------------

    def _active(self) -> RootKey:
        return next(k for k in self._keys if k.status == ACTIVE)

    def _check(self, source: str) -> None:
        ids = [k.key_id for k in self._keys]
        if not ids:
            raise KeyRingError(f"{source}: holds no key")
        if len(set(ids)) != len(ids):
            raise KeyRingError(f"{source}: duplicate key id")
        for key in self._keys:
            _check_key(key, source)
        actives = sum(1 for k in self._keys if k.status == ACTIVE)
        if actives != 1:
            raise KeyRingError(f"{source}: needs exactly one active key, found {actives}")
        if not isinstance(self._signing_seed, bytes) or len(self._signing_seed) != 32:
            raise KeyRingError(f"{source}: signing_key must be 32 bytes")


def _check_key(key: RootKey, source: str) -> None:
    if type(key.key_id) is not int or not 0 < key.key_id <= _MAX_KEY_ID:
        raise KeyRingError(f"{source}: key id must be an integer from 1 to 2^32-1")
    if not isinstance(key.secret, bytes) or len(key.secret) != SECRET_BYTES:
        raise KeyRingError(f"{source}: key {key.key_id} secret must be {SECRET_BYTES} bytes")
    if key.status not in _STATUSES:
        raise KeyRingError(f"{source}: key {key.key_id} status must be 'active' or 'read'")
    if not isinstance(key.created_at, str):
        raise KeyRingError(f"{source}: key {key.key_id} created_at must be a string")


def _parse_key(item: Any, n: int, source: str) -> RootKey:
    if not isinstance(item, dict):
        raise KeyRingError(f"{source}: keys[{n}] must be an object")
    secret = _unb64(item.get("secret"), f"keys[{n}].secret", source)
    return RootKey(item.get("id"), secret, item.get("created_at"), item.get("status"))  # type: ignore[arg-type]


def _new_key_id(taken: set[int]) -> int:
    while True:
        key_id = int.from_bytes(secrets.token_bytes(4), "big")
        if key_id and key_id not in taken:
            return key_id


def _missing(path: Path) -> str:
    return (
        f"no key ring at {path}; run 'callcenter init' — the server never creates keys on its own"
    )


def _ring_from_env(value: str) -> KeyRing:
    """``CALLCENTER_KEYRING`` holds the JSON itself or base64 of it (easier in env files)."""
    text = value.strip()
    if not text:
        raise KeyRingError("CALLCENTER_KEYRING is set but empty; unset it or give the key ring")
    if not text.startswith("{"):
        try:
            text = base64.b64decode(text, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise KeyRingError(
                "CALLCENTER_KEYRING: neither key ring JSON nor base64 of it"
            ) from None
    return KeyRing.from_json(text, "CALLCENTER_KEYRING")


def load_keyring(home: Path, environ: Mapping[str, str]) -> KeyRing:
    """The ring the server runs with: environment first, then the instance file.

    Order: ``CALLCENTER_KEYRING`` (the ring itself), ``CALLCENTER_KEYRING_FILE``
    (a path), ``home/keyring.json``.  A missing ring is an error: generating
    one here would silently make every stored ciphertext unreadable.
    """
    inline = environ.get("CALLCENTER_KEYRING")
    if inline is not None:
        return _ring_from_env(inline)
    path_value = environ.get("CALLCENTER_KEYRING_FILE")
    if path_value:
        return KeyRing.load(Path(path_value))
    return KeyRing.load(Path(home) / KEYRING_FILE)
