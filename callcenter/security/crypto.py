"""Field encryption (AES-256-GCM) and blind indexes (truncated HMAC-SHA256).

Format of an encrypted field (docs/security/stored-data.md), version 1::

    0x01 | key_id (4, big-endian) | nonce (12) | ciphertext + tag (16)

The associated data binds the ciphertext to its place: format version, key id,
practice, table, column and row id, each length-prefixed so no two places
share an encoding.  A value copied to another row, column or practice
therefore fails to authenticate, and a failure is always a
:class:`DecryptionError`, never an empty value.

Keys: each root key of the ring is split with HKDF-SHA256 into one AES key per
(practice, table, column) and one HMAC key per (practice, purpose).  The
"enc|" and "bi|" labels keep encryption and index keys apart; the per-practice
keys keep one patient unlinkable across practices.  Version 1 fixes these KDF
parameters (SHA-256, no salt, the info encoding below): changing any of them
means a new format byte.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from callcenter.core.phone_numbers import normalize
from callcenter.security.keyring import KeyRing, KeyRingError

VERSION = 1
#: Random 96-bit nonces allow at most 2^32 messages per key (SP 800-38D §8.3);
#: we force a rotation well before that.
NONCE_LIMIT = 2**30
NONCE_BYTES = 12
TAG_BYTES = 16
HEADER_BYTES = 1 + 4
MIN_BLOB_BYTES = HEADER_BYTES + NONCE_BYTES + TAG_BYTES


class DecryptionError(Exception):
    """A stored value could not be decrypted: altered, moved, or its key is gone.

    Shown as an error, never as data (HIPAA 164.312(c)).  Messages carry no
    plaintext and no key material.
    """


class RotationRequired(KeyRingError):
    """The active key has used up its safe number of random nonces."""


def _encode(*parts: str) -> bytes:
    """Length-prefixed UTF-8: ("a|b", "c") and ("a", "b|c") encode differently."""
    out = bytearray()
    for part in parts:
        data = part.encode("utf-8")
        out += len(data).to_bytes(4, "big") + data
    return bytes(out)


def _label(name: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, got {type(value).__name__}")
    return value


def _check_bits(bits: object) -> int:
    if isinstance(bits, bool) or not isinstance(bits, int) or not 8 <= bits <= 32:
        raise ValueError(f"blind index size must be 8 to 32 bits, got {bits!r}")
    return bits


def key_id_of(blob: bytes) -> int:
    """The key id an encrypted value was made with (to count or re-encrypt rows per key)."""
    if not isinstance(blob, bytes | bytearray | memoryview):
        raise DecryptionError(f"encrypted value must be bytes, got {type(blob).__name__}")
    if len(blob) < MIN_BLOB_BYTES:
        raise DecryptionError("encrypted value is too short")
    if blob[0] != VERSION:
        raise DecryptionError(f"unknown encrypted value format {blob[0]}")
    return int.from_bytes(blob[1:HEADER_BYTES], "big")


class FieldCipher:
    """Encrypts fields and computes blind indexes with the keys of one ring.

    The ring may change under it (rotate, retire): every call looks the key
    up again, so a retired key stops decrypting at once.
    """

    key_id_of = staticmethod(key_id_of)

    def __init__(
        self,
        keyring: KeyRing,
        *,
        nonce_limit: int = NONCE_LIMIT,
        counts: Mapping[int, int] | None = None,
    ) -> None:
        """``counts`` seeds the per-key encryption counters (for when they are persisted)."""
        if nonce_limit < 1:
            raise ValueError("nonce_limit must be positive")
        self.keyring = keyring
        self.nonce_limit = nonce_limit
        self._counts: dict[int, int] = dict(counts or {})
        self._lock = threading.Lock()
        # Keyed by the root secret itself, not its id: should a retired id
        # ever be reused, a stale derived key can never be picked up.
        self._aeads: dict[tuple[bytes, bytes], AESGCM] = {}
        self._hmac_keys: dict[tuple[bytes, bytes], bytes] = {}

    # -- encryption ----------------------------------------------------------

    def encrypt(self, value: str, *, practice: str, table: str, column: str, row: str) -> bytes:
        """Encrypt ``value`` under the active key for exactly this place."""
        if not isinstance(value, str):
            raise TypeError(f"only text is encrypted, got {type(value).__name__}")
        place = _place(practice, table, column, row)
        key_id = self.keyring.active_id
        self._count(key_id)
        header = bytes([VERSION]) + key_id.to_bytes(4, "big")
        nonce = os.urandom(NONCE_BYTES)
        aead = self._aead(key_id, *place[:3])
        return header + nonce + aead.encrypt(nonce, value.encode("utf-8"), header + _encode(*place))

    def decrypt(self, blob: bytes, *, practice: str, table: str, column: str, row: str) -> str:
        """The plaintext of ``blob`` if it was made for exactly this place, else an error."""
        place = _place(practice, table, column, row)
        key_id = key_id_of(blob)
        data = bytes(blob)
        try:
            aead = self._aead(key_id, *place[:3])
        except KeyRingError:
            raise DecryptionError(
                f"encrypted with key {key_id}, which is not in the key ring"
            ) from None
        header = data[:HEADER_BYTES]
        nonce = data[HEADER_BYTES : HEADER_BYTES + NONCE_BYTES]
        try:
            plain = aead.decrypt(
                nonce, data[HEADER_BYTES + NONCE_BYTES :], header + _encode(*place)
            )
        except InvalidTag:
            raise DecryptionError(
                f"{table}.{column} of row {row} does not authenticate (altered or moved)"
            ) from None
        try:
            return plain.decode("utf-8")
        except UnicodeDecodeError:
            raise DecryptionError(f"{table}.{column} of row {row} is not UTF-8 text") from None

    def encryptions(self, key_id: int) -> int:
        """How many values this process encrypted under ``key_id``."""
        with self._lock:
            return self._counts.get(key_id, 0)

    def observe(self, key_id: int, total: int) -> None:
        """Raise the counter to ``total`` (what every process has encrypted so far)."""
        with self._lock:
            self._counts[key_id] = max(self._counts.get(key_id, 0), total)

    def counts(self) -> dict[int, int]:
        """A snapshot of every counter (to persist them)."""
        with self._lock:
            return dict(self._counts)

    # -- blind indexes -------------------------------------------------------

    def blind_index(self, value: str, *, practice: str, purpose: str, bits: int) -> int:
        """Top ``bits`` bits of HMAC-SHA256 of ``value`` under the active index key.

        Deliberately lossy: a lookup returns a few candidates that the caller
        confirms by decrypting.  Size it as ⌊log2 N⌋−1 (docs/security/stored-data.md).
        """
        return self._index(self.keyring.active_id, value, practice, purpose, bits)

    def blind_index_all(self, value: str, *, practice: str, purpose: str, bits: int) -> list[int]:
        """The index under every key of the ring, active first: lookups during a rotation."""
        return [self._index(k, value, practice, purpose, bits) for k in self.keyring.key_ids()]

    def phone_index(self, number: str, *, practice: str, bits: int) -> int | None:
        """Blind index of a phone number in E.164 form; None when it is not a valid number."""
        _check_bits(bits)
        e164 = normalize(number, "FR")
        if e164 is None:
            return None
        return self.blind_index(e164, practice=practice, purpose="phone", bits=bits)

    def phone_index_all(self, number: str, *, practice: str, bits: int) -> list[int]:
        """:meth:`phone_index` under every key, active first; empty for an invalid number."""
        _check_bits(bits)
        e164 = normalize(number, "FR")
        if e164 is None:
            return []
        return self.blind_index_all(e164, practice=practice, purpose="phone", bits=bits)

    # -- keys ----------------------------------------------------------------

    def _count(self, key_id: int) -> None:
        with self._lock:
            used = self._counts.get(key_id, 0)
            if used >= self.nonce_limit:
                raise RotationRequired(
                    f"key {key_id} has encrypted {used} values, its safe limit; "
                    "run 'callcenter keys rotate'"
                )
            self._counts[key_id] = used + 1

    def _derive(self, key_id: int, info: bytes) -> bytes:
        secret = self.keyring.secret(key_id)
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)

    def _encryption_key(self, key_id: int, practice: str, table: str, column: str) -> bytes:
        return self._derive(key_id, b"enc|" + _encode(practice, table, column))

    def _index_key(self, key_id: int, practice: str, purpose: str) -> bytes:
        cache_key = (self.keyring.secret(key_id), b"bi|" + _encode(practice, purpose))
        key = self._hmac_keys.get(cache_key)
        if key is None:
            key = self._hmac_keys[cache_key] = self._derive(key_id, cache_key[1])
        return key

    def _aead(self, key_id: int, practice: str, table: str, column: str) -> AESGCM:
        cache_key = (self.keyring.secret(key_id), _encode(practice, table, column))
        aead = self._aeads.get(cache_key)
        if aead is None:
            key = self._encryption_key(key_id, practice, table, column)
            aead = self._aeads[cache_key] = AESGCM(key)
        return aead

    def _index(self, key_id: int, value: str, practice: str, purpose: str, bits: int) -> int:
        _check_bits(bits)
        if not isinstance(value, str):
            raise TypeError(f"only text is indexed, got {type(value).__name__}")
        key = self._index_key(key_id, _label("practice", practice), _label("purpose", purpose))
        digest = hmac.new(key, value.encode("utf-8"), hashlib.sha256).digest()
        return int.from_bytes(digest[:4], "big") >> (32 - bits)


def _place(practice: str, table: str, column: str, row: str) -> tuple[str, str, str, str]:
    return (
        _label("practice", practice),
        _label("table", table),
        _label("column", column),
        _label("row", row),
    )
