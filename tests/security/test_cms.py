"""The OAEP envelope framed by hand: it round-trips, and damaged input fails one way only."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from callcenter.security import cms

NOW = datetime(2026, 11, 24, tzinfo=UTC)
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
NAME = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "doc@example.test")])
CERT = (
    x509.CertificateBuilder().subject_name(NAME).issuer_name(NAME)
    .public_key(KEY.public_key()).serial_number(x509.random_serial_number())
    .not_valid_before(NOW - timedelta(days=1)).not_valid_after(NOW + timedelta(days=1))
    .sign(KEY, hashes.SHA256())
)  # fmt: skip


@pytest.mark.parametrize("size", [0, 1, 15, 16, 200, 70_000])
def test_an_envelope_opens_with_the_recipients_key(size: int):
    content = random.Random(size).randbytes(size)
    assert cms.decrypt(cms.envelope(content, CERT), KEY) == content


def test_another_key_does_not_open_it():
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(cms.CmsError, match="no RSA-OAEP recipient"):
        cms.decrypt(cms.envelope(b"hello", CERT), other)


def test_damaged_envelopes_fail_with_cms_error_only():
    der = cms.envelope(b"hello world", CERT)
    rng = random.Random(7)
    damaged = [der[:n] for n in range(0, len(der), 7)]
    for _ in range(300):
        flipped = bytearray(der)
        flipped[rng.randrange(len(der))] ^= 1 << rng.randrange(8)
        damaged.append(bytes(flipped))
    for data in damaged:
        try:
            opened = cms.decrypt(data, KEY)
        except cms.CmsError:
            continue
        # A flip in the CBC ciphertext or IV may still unpad: CBC has no integrity
        # (the signature inside the envelope is what detects it).
        assert len(opened) <= 16 + len(b"hello world")


def test_only_an_rsa_recipient_is_taken():
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder().subject_name(NAME).issuer_name(NAME)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(NOW - timedelta(days=1)).not_valid_after(NOW + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    with pytest.raises(TypeError):
        cms.envelope(b"x", cert)
