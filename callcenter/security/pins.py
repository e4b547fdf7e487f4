"""Secretaries' PINs for the secretaries' line: stored as scrypt hashes, never in clear.

The practice file holds ``pin_hash: scrypt$<salt>$<hash>`` (made by
``callcenter secretaries pin``); a caller ID can be spoofed, a PIN cannot be
guessed past the brute-force guard.  scrypt is in the standard library and
is memory-hard, which is what a short numeric secret needs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

# The stored shape lives in config, which checks practice files without this module.
from callcenter.config.pin_hash import (
    HASH_BYTES,
    SALT_BYTES,
    PinError,
    check_hash,
    format_hash,
    split_hash,
)

__all__ = ["PIN_DIGITS", "PinError", "check_hash", "hash_pin", "verify_pin"]

_N, _R, _P = 2**14, 8, 1
PIN_DIGITS = range(4, 9)


def hash_pin(pin: str) -> str:
    if not _well_formed(pin):
        raise PinError("a PIN is 4 to 8 digits")
    salt = secrets.token_bytes(SALT_BYTES)
    return format_hash(salt, _scrypt(pin, salt))


def verify_pin(pin: str, stored: str) -> bool:
    """Constant-time check of a keyed PIN against its stored hash."""
    salt, digest = split_hash(stored)
    if not _well_formed(pin):
        return False
    return hmac.compare_digest(_scrypt(pin, salt), digest)


def _well_formed(pin: str) -> bool:
    return pin.isascii() and pin.isdigit() and len(pin) in PIN_DIGITS


def _scrypt(pin: str, salt: bytes) -> bytes:
    return hashlib.scrypt(pin.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=HASH_BYTES)
