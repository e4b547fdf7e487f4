"""The shape of a stored PIN hash, peppered or legacy.

``scrypt-hmac$<key id>$<salt>$<hash>`` is what ``callcenter secretaries pin``
makes: scrypt over an HMAC of the PIN keyed from root key ``<key id>`` of the
key ring (docs/security/keyring.md), so a copy of a practice file alone cannot
be brute-forced.  ``scrypt$<salt>$<hash>`` is the older, unpeppered shape: it
still verifies (secretaries are not locked out by an upgrade) but start-up
warns that it must be re-set.  Salt and hash are hex.

The practice file is checked against these shapes when it loads (config), and
:mod:`callcenter.security.pins` makes and verifies such hashes: the shape
lives here, below both, so reading the practice file needs no security code.
"""

from __future__ import annotations

from dataclasses import dataclass

SCHEME = "scrypt-hmac"
LEGACY_SCHEME = "scrypt"
SALT_BYTES = 16
HASH_BYTES = 32
_MAX_KEY_ID = 2**32 - 1


class PinError(ValueError):
    """A PIN or a stored hash is malformed."""


@dataclass(frozen=True)
class PinHash:
    """A parsed stored hash; ``key_id`` is None for a legacy (unpeppered) one."""

    key_id: int | None
    salt: bytes
    digest: bytes

    @property
    def legacy(self) -> bool:
        return self.key_id is None


def format_hash(key_id: int, salt: bytes, digest: bytes) -> str:
    return f"{SCHEME}${key_id}${salt.hex()}${digest.hex()}"


def parse_hash(stored: str) -> PinHash:
    """The parts of a stored hash; :class:`PinError` unless well formed."""
    parts = stored.split("$") if isinstance(stored, str) else []
    try:
        if len(parts) == 4 and parts[0] == SCHEME and parts[1].isascii() and parts[1].isdigit():
            key_id = int(parts[1])
            if 0 < key_id <= _MAX_KEY_ID:
                return _checked(key_id, parts[2], parts[3])
        if len(parts) == 3 and parts[0] == LEGACY_SCHEME:
            return _checked(None, parts[1], parts[2])
    except ValueError:
        pass
    raise PinError("is not a hash made by 'callcenter secretaries pin'")


def _checked(key_id: int | None, salt_hex: str, digest_hex: str) -> PinHash:
    salt, digest = bytes.fromhex(salt_hex), bytes.fromhex(digest_hex)
    if len(salt) != SALT_BYTES or len(digest) != HASH_BYTES:
        raise ValueError("wrong sizes")
    return PinHash(key_id, salt, digest)


def check_hash(stored: str) -> None:
    """Raise :class:`PinError` unless ``stored`` is a hash ``hash_pin`` made (or a legacy one)."""
    parse_hash(stored)
