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

_N, _R, _P = 2**14, 8, 1
PIN_DIGITS = range(4, 9)


class PinError(ValueError):
    """A PIN or a stored hash is malformed."""


def hash_pin(pin: str) -> str:
    if not _well_formed(pin):
        raise PinError("a PIN is 4 to 8 digits")
    salt = secrets.token_bytes(16)
    return f"scrypt${salt.hex()}${_scrypt(pin, salt).hex()}"


def check_hash(stored: str) -> None:
    """Raise :class:`PinError` unless ``stored`` is a hash :func:`hash_pin` made."""
    parts = stored.split("$")
    try:
        ok = len(parts) == 3 and parts[0] == "scrypt" and len(bytes.fromhex(parts[1])) == 16
        ok = ok and len(bytes.fromhex(parts[2])) == 32
    except ValueError:
        ok = False
    if not ok:
        raise PinError("is not a hash made by 'callcenter secretaries pin'")


def verify_pin(pin: str, stored: str) -> bool:
    """Constant-time check of a keyed PIN against its stored hash."""
    _, salt, digest = stored.split("$")
    if not _well_formed(pin):
        return False
    return hmac.compare_digest(_scrypt(pin, bytes.fromhex(salt)), bytes.fromhex(digest))


def _well_formed(pin: str) -> bool:
    return pin.isascii() and pin.isdigit() and len(pin) in PIN_DIGITS


def _scrypt(pin: str, salt: bytes) -> bytes:
    return hashlib.scrypt(pin.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
