"""Secretaries' PINs for the secretaries' line: peppered, slow hashes, never in clear.

The practice file holds ``pin_hash: scrypt-hmac$<key id>$<salt>$<hash>``
(made by ``callcenter secretaries pin``).  A PIN is short, so a slow hash alone
only delays an offline search (a 4-digit PIN fell in minutes on one core):
the PIN is first keyed with HMAC-SHA256 under a *pepper* derived from a root
key of the key ring, which lives apart from the practice files and the
database, then hashed with scrypt (memory-hard, in the standard library).
Whoever copies a practice file without the ring has nothing to search.  The
hash names its root key so a rotation does not invalidate it; retiring that
key does (start-up warns; re-set the PIN first).

Older ``scrypt$…`` hashes (no pepper, 4 digits allowed) still verify, so an
upgrade locks nobody out, and start-up warns until each is re-set.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# The stored shape lives in config, which checks practice files without this module.
from callcenter.config.pin_hash import (
    HASH_BYTES,
    SALT_BYTES,
    PinError,
    check_hash,
    format_hash,
    parse_hash,
)
from callcenter.config.practice import Practice
from callcenter.security.encrypted import current_cipher
from callcenter.security.keyring import KeyRing

__all__ = [
    "PIN_DIGITS",
    "PinError",
    "check_hash",
    "hash_pin",
    "pins_peppered_with",
    "pins_to_reset",
    "verify_pin",
]

_N, _R, _P = 2**14, 8, 1
PIN_DIGITS = range(6, 13)
LEGACY_DIGITS = range(4, 9)  # what older hashes were made from
# Beside crypto's "enc|" and "bi|" labels: its own HKDF label, so the pepper is
# no field or index key.
PEPPER_INFO = b"pin|secretaries-line"


def hash_pin(pin: str, keyring: KeyRing) -> str:
    """A new hash of ``pin``, peppered with the ring's active key."""
    if not _well_formed(pin, PIN_DIGITS):
        raise PinError(f"a PIN is {PIN_DIGITS.start} to {PIN_DIGITS.stop - 1} digits")
    key_id = keyring.active_id
    salt = secrets.token_bytes(SALT_BYTES)
    return format_hash(key_id, salt, _scrypt(_peppered(pin, keyring, key_id), salt))


def verify_pin(pin: str, stored: str, keyring: KeyRing | None = None) -> bool:
    """Constant-time check of a keyed PIN against its stored hash.

    ``keyring`` defaults to the bound cipher's (the webhook's unit of work):
    the phone flow needs no key of its own.  A hash under a key no longer in
    the ring never verifies.
    """
    parsed = parse_hash(stored)
    if parsed.key_id is None:
        if not _well_formed(pin, LEGACY_DIGITS):
            return False
        return hmac.compare_digest(_scrypt(pin.encode(), parsed.salt), parsed.digest)
    ring = keyring if keyring is not None else current_cipher().keyring
    if not _well_formed(pin, PIN_DIGITS) or parsed.key_id not in ring:
        return False
    peppered = _peppered(pin, ring, parsed.key_id)
    return hmac.compare_digest(_scrypt(peppered, parsed.salt), parsed.digest)


def pins_to_reset(practices: Iterable[Practice], keyring: KeyRing) -> list[tuple[str, str, str]]:
    """(practice, secretary, reason) for every PIN hash to re-set: logged at start-up."""
    found = []
    for practice in practices:
        for secretary in practice.secretaries:
            if not secretary.pin_hash:
                continue
            parsed = parse_hash(secretary.pin_hash)
            if parsed.key_id is None:
                found.append((practice.id, secretary.id, "no pepper (older hash, maybe 4 digits)"))
            elif parsed.key_id not in keyring:
                found.append((practice.id, secretary.id, "its key left the key ring"))
    return found


def pins_peppered_with(practices: Iterable[Practice], key_id: int) -> list[tuple[str, str]]:
    """(practice, secretary) whose PIN hash needs root key ``key_id``: it must not be retired."""
    return [
        (practice.id, secretary.id)
        for practice in practices
        for secretary in practice.secretaries
        if secretary.pin_hash and parse_hash(secretary.pin_hash).key_id == key_id
    ]


def _well_formed(pin: str, digits: range) -> bool:
    return pin.isascii() and pin.isdigit() and len(pin) in digits


def _peppered(pin: str, keyring: KeyRing, key_id: int) -> bytes:
    pepper = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PEPPER_INFO).derive(
        keyring.secret(key_id)
    )
    return hmac.new(pepper, pin.encode(), hashlib.sha256).digest()


def _scrypt(secret: bytes, salt: bytes) -> bytes:
    return hashlib.scrypt(secret, salt=salt, n=_N, r=_R, p=_P, dklen=HASH_BYTES)
