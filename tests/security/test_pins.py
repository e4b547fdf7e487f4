"""Secretaries' PINs: peppered with the key ring, scrypt-hashed, checked in constant time."""

from __future__ import annotations

import hashlib
import secrets

import pytest

from callcenter.config.pin_hash import LEGACY_SCHEME
from callcenter.config.practice import Practice
from callcenter.config.staff import Secretary
from callcenter.security.crypto import FieldCipher
from callcenter.security.encrypted import using_cipher
from callcenter.security.keyring import KeyRing
from callcenter.security.pins import PinError, check_hash, hash_pin, pins_to_reset, verify_pin

RING = KeyRing.generate()


def legacy_hash(pin: str) -> str:
    """A hash as older versions made it: scrypt of the bare PIN."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"{LEGACY_SCHEME}${salt.hex()}${digest.hex()}"


def test_a_pin_verifies_against_its_own_hash_only():
    stored = hash_pin("246810", RING)
    assert verify_pin("246810", stored, RING)
    assert not verify_pin("246811", stored, RING) and not verify_pin("", stored, RING)
    assert not verify_pin("2468100000000", stored, RING)  # too long: never hashed
    assert hash_pin("246810", RING) != stored  # salted


def test_a_copied_practice_file_cannot_be_searched_without_the_key_ring():
    """The offline attack: every PIN tried against the stored hash, as scrypt alone allowed.

    Without the pepper (the ring is kept apart from practice files) the search
    finds nothing, even knowing the PIN is among the candidates.
    """
    stored = hash_pin("246810", RING)
    _, _, salt_hex, digest_hex = stored.split("$")
    salt, digest = bytes.fromhex(salt_hex), bytes.fromhex(digest_hex)
    candidates = ["000000", "123456", "246810", "999999"]
    found = [
        pin
        for pin in candidates
        if hashlib.scrypt(pin.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32) == digest
    ]
    assert found == []
    assert not verify_pin("246810", stored, KeyRing.generate())  # another ring: no match


def test_the_bound_cipher_gives_the_ring_to_the_phone_flow():
    stored = hash_pin("246810", RING)
    with using_cipher(FieldCipher(RING)):
        assert verify_pin("246810", stored) and not verify_pin("246811", stored)


def test_a_hash_survives_a_rotation_but_not_the_retirement_of_its_key():
    ring = KeyRing.from_json(RING.to_json())
    old = ring.active_id
    stored = hash_pin("246810", ring)
    ring.rotate()
    assert verify_pin("246810", stored, ring)
    ring.retire(old)
    assert not verify_pin("246810", stored, ring)


@pytest.mark.parametrize("pin", ["2468", "12345", "1234567890123", "12a456", "", "١٢٣٤٥٦"])
def test_a_new_pin_must_be_6_to_12_ascii_digits(pin):
    with pytest.raises(PinError, match="6 to 12 digits"):
        hash_pin(pin, RING)


def test_an_older_unpeppered_hash_still_verifies():
    stored = legacy_hash("2468")
    check_hash(stored)
    assert verify_pin("2468", stored, RING) and not verify_pin("2469", stored, RING)


def test_start_up_names_the_pins_to_reset():
    ring = KeyRing.from_json(RING.to_json())
    old = ring.active_id
    under_old = hash_pin("246810", ring)
    ring.rotate()
    ring.retire(old)
    secretaries = (
        Secretary(id="lea", name="Léa", phone="+33612000001", pin_hash=legacy_hash("2468")),
        Secretary(id="max", name="Max", phone="+33612000002", pin_hash=hash_pin("135790", ring)),
        Secretary(id="zoe", name="Zoé", phone="+33612000003", pin_hash=under_old),
        Secretary(id="ana", name="Ana", phone="+33612000004"),
    )
    practice = Practice(id="demo", name="Demo", number="+33184880000", secretaries=secretaries)
    found = pins_to_reset([practice], ring)
    assert [(p, s) for p, s, _ in found] == [("demo", "lea"), ("demo", "zoe")]
    assert "pepper" in found[0][2] and "key ring" in found[1][2]


@pytest.mark.parametrize(
    "stored",
    [
        "2468",
        "scrypt$zz$00",
        "bcrypt$" + "0" * 32 + "$" + "0" * 64,
        "scrypt$" + "0" * 32 + "$00",
        "scrypt-hmac$0$" + "0" * 32 + "$" + "0" * 64,
        "scrypt-hmac$x$" + "0" * 32 + "$" + "0" * 64,
        "scrypt-hmac$" + "0" * 32 + "$" + "0" * 64,
    ],
)
def test_a_malformed_hash_is_refused(stored):
    with pytest.raises(PinError):
        check_hash(stored)
