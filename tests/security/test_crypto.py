"""Field encryption and blind indexes (docs/security/stored-data.md and threat-model.md)."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from callcenter.security.crypto import (
    NONCE_LIMIT,
    DecryptionError,
    FieldCipher,
    RotationRequired,
    key_id_of,
)
from callcenter.security.keyring import KeyRing, KeyRingError

PLACE = {"practice": "cabinet-a", "table": "patients", "column": "name", "row": "r1"}
NUMBER_FORMATS = [
    "06 12 34 56 78",
    "+33612345678",
    "0033612345678",
    "+33 6 12 34 56 78",
    "06.12.34.56.78",
]

# Built once: Hypothesis refuses function-scoped fixtures in @given tests.
RING = KeyRing.generate()
CIPHER = FieldCipher(RING)


@pytest.fixture
def cipher() -> FieldCipher:
    return FieldCipher(KeyRing.generate())


def test_a_value_decrypts_to_itself(cipher: FieldCipher) -> None:
    """Round trip at one place."""
    blob = cipher.encrypt("Dupont", **PLACE)
    assert cipher.decrypt(blob, **PLACE) == "Dupont"


def test_the_stored_format_is_version_key_id_nonce_then_ciphertext_and_tag(
    cipher: FieldCipher,
) -> None:
    """0x01 | key id (4, big-endian) | nonce (12) | ciphertext + 16-byte tag."""
    blob = cipher.encrypt("Dupont", **PLACE)
    assert blob[0] == 1
    assert int.from_bytes(blob[1:5], "big") == cipher.keyring.active_id
    assert key_id_of(blob) == cipher.keyring.active_id == cipher.key_id_of(blob)
    assert len(blob) == 1 + 4 + 12 + len(b"Dupont") + 16


def test_changing_any_byte_of_a_ciphertext_makes_it_undecryptable(cipher: FieldCipher) -> None:
    """Every byte is covered: header via the associated data, the rest via the tag."""
    blob = cipher.encrypt("Dupont", **PLACE)
    for position in range(len(blob)):
        altered = bytearray(blob)
        altered[position] ^= 0x01
        with pytest.raises(DecryptionError):
            cipher.decrypt(bytes(altered), **PLACE)


def test_a_truncated_or_extended_ciphertext_is_undecryptable(cipher: FieldCipher) -> None:
    """Cutting or padding the tag is detected."""
    blob = cipher.encrypt("Dupont", **PLACE)
    for bad in (blob[:-1], blob + b"\x00", blob[:20], b""):
        with pytest.raises(DecryptionError):
            cipher.decrypt(bad, **PLACE)


@pytest.mark.parametrize(
    "moved",
    [
        {"row": "r2"},
        {"column": "phone"},
        {"table": "messages"},
        {"practice": "cabinet-b"},
        {"practice": "cabinet-a", "table": "patients|name"},
    ],
)
def test_a_ciphertext_moved_to_another_place_does_not_decrypt(
    cipher: FieldCipher, moved: dict[str, str]
) -> None:
    """Swapping values between rows, columns, tables or practices is an error."""
    blob = cipher.encrypt("Dupont", **PLACE)
    with pytest.raises(DecryptionError, match="does not authenticate"):
        cipher.decrypt(blob, **{**PLACE, **moved})


def test_places_that_would_concatenate_alike_are_kept_apart(cipher: FieldCipher) -> None:
    """The associated data is length-prefixed, so "a|b"+"c" differs from "a"+"b|c"."""
    first = {"practice": "p", "table": "a|b", "column": "c", "row": "r"}
    second = {"practice": "p", "table": "a", "column": "b|c", "row": "r"}
    blob = cipher.encrypt("x", **first)
    with pytest.raises(DecryptionError):
        cipher.decrypt(blob, **second)


def test_a_value_from_another_key_ring_does_not_decrypt(cipher: FieldCipher) -> None:
    """An unknown key id is an error, not an empty value."""
    foreign = FieldCipher(KeyRing.generate()).encrypt("Dupont", **PLACE)
    with pytest.raises(DecryptionError, match="not in the key ring"):
        cipher.decrypt(foreign, **PLACE)


def test_a_value_under_a_retired_key_no_longer_decrypts(cipher: FieldCipher) -> None:
    """Retiring a key takes effect at once, even though its derived key was cached."""
    blob = cipher.encrypt("Dupont", **PLACE)
    old = cipher.keyring.active_id
    cipher.keyring.rotate()
    assert cipher.decrypt(blob, **PLACE) == "Dupont"
    cipher.keyring.retire(old)
    with pytest.raises(DecryptionError, match=str(old)):
        cipher.decrypt(blob, **PLACE)


def test_ten_thousand_encryptions_of_one_value_are_all_different(cipher: FieldCipher) -> None:
    """Fresh random nonces: no two nonces and no two ciphertexts repeat."""
    blobs = [cipher.encrypt("Dupont", **PLACE) for _ in range(10_000)]
    assert len({blob[5:17] for blob in blobs}) == 10_000
    assert len(set(blobs)) == 10_000
    assert cipher.encryptions(cipher.keyring.active_id) == 10_000


def test_after_rotation_old_values_still_decrypt_and_new_ones_use_the_new_key(
    cipher: FieldCipher,
) -> None:
    """Readers pick the key by the id in the value."""
    old_id = cipher.keyring.active_id
    old_blob = cipher.encrypt("Dupont", **PLACE)
    new_id = cipher.keyring.rotate()
    new_blob = cipher.encrypt("Durand", **PLACE)
    assert key_id_of(old_blob) == old_id
    assert key_id_of(new_blob) == new_id
    assert cipher.decrypt(old_blob, **PLACE) == "Dupont"
    assert cipher.decrypt(new_blob, **PLACE) == "Durand"


def test_the_nonce_limit_forces_a_rotation() -> None:
    """Past the limit encrypt() refuses and tells the operator what to run."""
    cipher = FieldCipher(KeyRing.generate(), nonce_limit=3)
    first = cipher.keyring.active_id
    for _ in range(3):
        cipher.encrypt("x", **PLACE)
    with pytest.raises(RotationRequired, match="callcenter keys rotate"):
        cipher.encrypt("x", **PLACE)
    assert cipher.encryptions(first) == 3
    second = cipher.keyring.rotate()
    cipher.encrypt("x", **PLACE)
    assert cipher.encryptions(second) == 1


def test_rotation_required_is_a_key_ring_error() -> None:
    """Callers that handle KeyRingError handle it too; the default limit is 2^30."""
    assert issubclass(RotationRequired, KeyRingError)
    assert NONCE_LIMIT == 2**30


def test_counters_can_be_seeded_from_persisted_values() -> None:
    """A restart does not reset the count when the caller passes the saved counts."""
    ring = KeyRing.generate()
    cipher = FieldCipher(ring, nonce_limit=5, counts={ring.active_id: 5})
    with pytest.raises(RotationRequired):
        cipher.encrypt("x", **PLACE)
    assert cipher.counts() == {ring.active_id: 5}


def test_missing_place_parts_are_a_programming_error(cipher: FieldCipher) -> None:
    """An empty row id would bind nothing, so it is refused up front."""
    with pytest.raises(ValueError, match="row"):
        cipher.encrypt("x", **{**PLACE, "row": ""})
    with pytest.raises(TypeError):
        cipher.encrypt(b"bytes", **PLACE)  # type: ignore[arg-type]


def test_non_bytes_given_to_decrypt_are_a_decryption_error(cipher: FieldCipher) -> None:
    """A stray str or None from a bad row surfaces as DecryptionError."""
    for bad in ("text", None, 12):
        with pytest.raises(DecryptionError):
            cipher.decrypt(bad, **PLACE)  # type: ignore[arg-type]


@pytest.mark.parametrize("number", NUMBER_FORMATS)
def test_one_number_written_five_ways_has_one_blind_index(cipher: FieldCipher, number: str) -> None:
    """Normalisation to E.164 comes before the HMAC."""
    expected = cipher.blind_index("+33612345678", practice="p", purpose="phone", bits=16)
    assert cipher.phone_index(number, practice="p", bits=16) == expected


def test_the_blind_index_finds_the_number_among_others(cipher: FieldCipher) -> None:
    """A lookup by index returns the stored row for each written form."""
    stored = {
        cipher.phone_index(n, practice="p", bits=32): n
        for n in ("+33612345678", "+33698765432", "+33145678901")
    }
    for number in NUMBER_FORMATS:
        assert stored[cipher.phone_index(number, practice="p", bits=32)] == "+33612345678"


@pytest.mark.parametrize("number", ["", "12", "anonymous", "+266696687", "not a number"])
def test_an_invalid_or_withheld_number_gets_no_index(cipher: FieldCipher, number: str) -> None:
    """No lookup for numbers that do not validate."""
    assert cipher.phone_index(number, practice="p", bits=12) is None
    assert cipher.phone_index_all(number, practice="p", bits=12) == []


def test_a_small_index_has_false_positives_to_filter(cipher: FieldCipher) -> None:
    """At 8 bits, 300 numbers must share buckets: a match is a candidate, not an answer."""
    indexes = [cipher.phone_index(f"+336{n:08d}", practice="p", bits=8) for n in range(300)]
    assert all(i is not None and 0 <= i < 256 for i in indexes)
    assert len(set(indexes)) < 300


def test_the_blind_index_has_exactly_the_requested_bits(cipher: FieldCipher) -> None:
    """The index is the top bits of the HMAC, as an int below 2**bits."""
    for bits in (8, 12, 20, 32):
        values = [
            cipher.blind_index(str(n), practice="p", purpose="x", bits=bits) for n in range(200)
        ]
        assert all(0 <= v < 2**bits for v in values)
    wide = cipher.blind_index("v", practice="p", purpose="x", bits=32)
    assert cipher.blind_index("v", practice="p", purpose="x", bits=8) == wide >> 24


def test_the_blind_index_is_the_truncated_hmac_under_its_own_key(cipher: FieldCipher) -> None:
    """trunc_b(HMAC-SHA256(k_bi, value)), with k_bi distinct from k_enc."""
    key_id = cipher.keyring.active_id
    k_bi = cipher._index_key(key_id, "p", "phone")
    k_enc = cipher._encryption_key(key_id, "p", "patients", "phone")
    assert k_bi != k_enc
    assert k_bi != cipher.keyring.secret(key_id)
    mac = hmac.new(k_bi, b"+33612345678", hashlib.sha256).digest()
    index = cipher.blind_index("+33612345678", practice="p", purpose="phone", bits=16)
    assert index == int.from_bytes(mac[:2], "big")


def test_index_and_encryption_keys_differ_even_for_lookalike_labels(cipher: FieldCipher) -> None:
    """The "enc|" and "bi|" labels separate the two families whatever the names."""
    key_id = cipher.keyring.active_id
    enc = {cipher._encryption_key(key_id, "p", t, c) for t in ("phone", "a") for c in ("b", "")}
    bi = {cipher._index_key(key_id, "p", purpose) for purpose in ("phone", "a", "b", "enc")}
    assert not enc & bi


def test_the_same_number_has_unrelated_indexes_in_two_practices(cipher: FieldCipher) -> None:
    """Per-practice keys keep one patient unlinkable across practices."""
    a = cipher.phone_index("+33612345678", practice="cabinet-a", bits=32)
    b = cipher.phone_index("+33612345678", practice="cabinet-b", bits=32)
    assert a != b


def test_the_blind_index_is_stable_across_processes() -> None:
    """Two ciphers over one ring (two workers) compute the same index."""
    ring = KeyRing.generate()
    first = FieldCipher(ring).phone_index("0612345678", practice="p", bits=16)
    second = FieldCipher(KeyRing.from_json(ring.to_json()))
    assert second.phone_index("0612345678", practice="p", bits=16) == first


@pytest.mark.parametrize("bits", [0, 7, 33, 64, -1, True, 12.0])
def test_a_blind_index_size_outside_8_to_32_bits_is_refused(
    cipher: FieldCipher, bits: object
) -> None:
    """Fewer bits is useless, more leaks equality (docs/security/stored-data.md)."""
    with pytest.raises(ValueError, match="8 to 32 bits"):
        cipher.blind_index("v", practice="p", purpose="x", bits=bits)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="8 to 32 bits"):
        cipher.phone_index("+33612345678", practice="p", bits=bits)  # type: ignore[arg-type]


def test_during_a_rotation_the_index_is_given_under_every_key(cipher: FieldCipher) -> None:
    """blind_index_all lists the active key's index first, then the older keys'."""
    old = cipher.phone_index("+33612345678", practice="p", bits=32)
    cipher.keyring.rotate()
    new = cipher.phone_index("+33612345678", practice="p", bits=32)
    assert cipher.phone_index_all("0612345678", practice="p", bits=32) == [new, old]
    assert new != old


@settings(max_examples=300, deadline=None)
@given(value=st.text())
def test_any_text_survives_encryption(value: str) -> None:
    """Odd Unicode, NUL and emoji included, decrypt(encrypt(v)) == v."""
    blob = CIPHER.encrypt(value, **PLACE)
    assert CIPHER.decrypt(blob, **PLACE) == value


@settings(max_examples=300, deadline=None)
@given(
    value=st.text(min_size=8)
    | st.text(alphabet=st.sampled_from("\x00é😀a 0"), min_size=8)
    | st.just("\x00" * 8)
)
def test_a_ciphertext_never_contains_its_plaintext(value: str) -> None:
    """For 8 characters or more, the plaintext's UTF-8 bytes never appear in the blob."""
    blob = CIPHER.encrypt(value, **PLACE)
    assert value.encode("utf-8") not in blob


_HEADER = bytes([1]) + RING.active_id.to_bytes(4, "big")


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blob=st.binary(max_size=200) | st.binary(max_size=200).map(lambda b: _HEADER + b))
def test_random_bytes_given_to_decrypt_only_raise_decryption_error(blob: bytes) -> None:
    """The decoder never fails with anything but the documented error."""
    with pytest.raises(DecryptionError):
        CIPHER.decrypt(blob, **PLACE)


class RotationMachine(RuleBasedStateMachine):
    """Online rotation: add, promote, write, re-encrypt, read and retire in any order."""

    rows = Bundle("rows")

    def __init__(self) -> None:
        super().__init__()
        self.cipher = FieldCipher(KeyRing.generate())
        self.stored: dict[str, tuple[bytes, str]] = {}

    def _place(self, row: str) -> dict[str, str]:
        return {**PLACE, "row": row}

    @rule(target=rows, value=st.text(max_size=20))
    def write(self, value: str) -> str:
        row = f"r{len(self.stored)}"
        self.stored[row] = (self.cipher.encrypt(value, **self._place(row)), value)
        return row

    @rule()
    def add_then_promote(self) -> None:
        self.cipher.keyring.promote(self.cipher.keyring.add())

    @rule()
    def rotate(self) -> None:
        self.cipher.keyring.rotate()

    @rule(row=rows)
    def reencrypt(self, row: str) -> None:
        blob, value = self.stored[row]
        assert self.cipher.decrypt(blob, **self._place(row)) == value
        self.stored[row] = (self.cipher.encrypt(value, **self._place(row)), value)
        assert key_id_of(self.stored[row][0]) == self.cipher.keyring.active_id

    @rule(data=st.data())
    def retire(self, data: st.DataObject) -> None:
        ring = self.cipher.keyring
        key_id = data.draw(st.sampled_from(ring.key_ids()))
        in_use = {key_id_of(blob) for blob, _ in self.stored.values()}
        if key_id == ring.active_id:
            with pytest.raises(KeyRingError):
                ring.retire(key_id)
        elif key_id not in in_use:  # the CLI's rule: only keys no row references
            ring.retire(key_id)
            assert key_id not in ring

    @invariant()
    def every_row_reads_back(self) -> None:
        for row, (blob, value) in self.stored.items():
            assert self.cipher.decrypt(blob, **self._place(row)) == value


RotationMachine.TestCase.settings = settings(max_examples=50, deadline=None)
test_online_rotation_keeps_every_row_readable = RotationMachine.TestCase
