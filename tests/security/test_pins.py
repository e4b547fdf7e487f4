"""Secretaries' PINs: hashed with scrypt, checked in constant time, malformed hashes refused."""

from __future__ import annotations

import pytest

from callcenter.security.pins import PinError, check_hash, hash_pin, verify_pin


def test_a_pin_verifies_against_its_own_hash_only():
    stored = hash_pin("2468")
    assert verify_pin("2468", stored)
    assert not verify_pin("2469", stored) and not verify_pin("", stored)
    assert not verify_pin("24680000000", stored)  # too long: never hashed
    assert hash_pin("2468") != stored  # salted


@pytest.mark.parametrize("pin", ["123", "123456789", "12a4", "", "١٢٣٤"])
def test_a_pin_must_be_4_to_8_ascii_digits(pin):
    with pytest.raises(PinError):
        hash_pin(pin)


@pytest.mark.parametrize(
    "stored",
    ["2468", "scrypt$zz$00", "bcrypt$" + "0" * 32 + "$" + "0" * 64, "scrypt$" + "0" * 32 + "$00"],
)
def test_a_malformed_hash_is_refused(stored):
    with pytest.raises(PinError):
        check_hash(stored)
