"""The shape of a stored PIN hash: ``scrypt$<salt>$<hash>``, both in hex.

The practice file is checked against it when it loads (config), and
:mod:`callcenter.security.pins` makes and verifies such hashes: the shape
lives here, below both, so reading the practice file needs no security code.
"""

from __future__ import annotations

SCHEME = "scrypt"
SALT_BYTES = 16
HASH_BYTES = 32


class PinError(ValueError):
    """A PIN or a stored hash is malformed."""


def format_hash(salt: bytes, digest: bytes) -> str:
    return f"{SCHEME}${salt.hex()}${digest.hex()}"


def split_hash(stored: str) -> tuple[bytes, bytes]:
    """The salt and digest of a stored hash; :class:`PinError` unless well formed."""
    parts = stored.split("$")
    try:
        if len(parts) == 3 and parts[0] == SCHEME:
            salt, digest = bytes.fromhex(parts[1]), bytes.fromhex(parts[2])
            if len(salt) == SALT_BYTES and len(digest) == HASH_BYTES:
                return salt, digest
    except ValueError:
        pass
    raise PinError("is not a hash made by 'callcenter secretaries pin'")


def check_hash(stored: str) -> None:
    """Raise :class:`PinError` unless ``stored`` is a hash ``hash_pin`` made."""
    split_hash(stored)
