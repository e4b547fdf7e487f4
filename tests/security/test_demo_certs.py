"""Demo S/MIME certificates: the right usages, private keys 0600, never overwritten."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from callcenter.security import smime
from callcenter.security.demo_certs import DemoCertificates, write_demo_certificates

DOCTORS = [("dr-martin", "dr.martin@example.test"), ("dr-bernard", "dr.bernard@example.test")]


def _write(folder: Path) -> DemoCertificates:
    return write_demo_certificates(folder, "Cabinet Médical des Lilas", "sec@example.test", DOCTORS)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_and_modes(tmp_path: Path) -> None:
    folder = tmp_path / "certs"
    demo = _write(folder)
    assert demo.signing_certificate == folder / "practice-signing.pem"
    assert demo.signing_key == folder / "practice-signing.key"
    assert demo.doctor_certificates == {d: folder / f"{d}.pem" for d, _ in DOCTORS}
    assert demo.doctor_keys == {d: folder / f"{d}.key" for d, _ in DOCTORS}
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["practice-signing.pem", "practice-signing.key"]
        + [f"{d}.{ext}" for d, _ in DOCTORS for ext in ("pem", "key")]
    )
    for key in [demo.signing_key, *demo.doctor_keys.values()]:
        assert _mode(key) == 0o600, key
    assert _mode(folder) & 0o077 == 0


def _check(path: Path, email: str, *, signing: bool) -> tuple[x509.Certificate, rsa.RSAPublicKey]:
    cert = smime.load_certificate(path)
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    assert key.key_size == 2048
    assert cert.issuer == cert.subject
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert usage.value.content_commitment is signing
    assert usage.value.key_encipherment is not signing
    assert not usage.value.key_cert_sign
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.EMAIL_PROTECTION]
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.RFC822Name) == [email]
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert timedelta(days=729) < lifetime < timedelta(days=731)
    now = datetime.now(UTC)
    assert cert.not_valid_before_utc <= now < cert.not_valid_after_utc
    return cert, key


def test_certificates_have_the_usages(tmp_path: Path) -> None:
    demo = _write(tmp_path)
    _check(demo.signing_certificate, "sec@example.test", signing=True)
    signer = smime.load_signer(demo.signing_certificate, demo.signing_key, now=datetime.now(UTC))
    assert "Cabinet Médical des Lilas" in signer.certificate.subject.rfc4514_string()
    for doctor, email in DOCTORS:
        cert, public = _check(demo.doctor_certificates[doctor], email, signing=False)
        assert smime.certificate_problem(cert, datetime.now(UTC)) is None
        private = serialization.load_pem_private_key(demo.doctor_keys[doctor].read_bytes(), None)
        assert isinstance(private, rsa.RSAPrivateKey)
        assert private.public_key().public_numbers() == public.public_numbers()


def test_idempotent(tmp_path: Path) -> None:
    first = _write(tmp_path)
    contents = {p: p.read_bytes() for p in tmp_path.iterdir()}
    second = _write(tmp_path)
    assert second == first
    assert {p: p.read_bytes() for p in tmp_path.iterdir()} == contents


def test_adds_only_new_doctors(tmp_path: Path) -> None:
    _write(tmp_path)
    before = {p: p.read_bytes() for p in tmp_path.iterdir()}
    demo = write_demo_certificates(
        tmp_path, "Cabinet", "sec@example.test", [*DOCTORS, ("dr-petit", "petit@example.test")]
    )
    assert set(demo.doctor_certificates) == {"dr-martin", "dr-bernard", "dr-petit"}
    assert all(p.read_bytes() == data for p, data in before.items())
    assert _mode(demo.doctor_keys["dr-petit"]) == 0o600


def test_a_key_without_its_certificate_gets_one(tmp_path: Path) -> None:
    demo = _write(tmp_path)
    key = demo.doctor_keys["dr-martin"].read_bytes()
    demo.doctor_certificates["dr-martin"].unlink()
    again = _write(tmp_path)
    assert demo.doctor_keys["dr-martin"].read_bytes() == key
    cert = smime.load_certificate(again.doctor_certificates["dr-martin"])
    private = serialization.load_pem_private_key(key, None)
    assert isinstance(private, rsa.RSAPrivateKey)
    public = cert.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.public_numbers() == private.public_key().public_numbers()


def test_a_certificate_without_its_key_is_refused(tmp_path: Path) -> None:
    demo = _write(tmp_path)
    demo.signing_key.unlink()
    with pytest.raises(ValueError, match=r"practice-signing\.pem exists without its key"):
        _write(tmp_path)


@pytest.mark.parametrize("doctor_id", ["../evil", "a/b", "", ".hidden"])
def test_unsafe_doctor_ids_are_refused(tmp_path: Path, doctor_id: str) -> None:
    with pytest.raises(ValueError, match="cannot be used as a file name"):
        write_demo_certificates(tmp_path, "Cabinet", "sec@example.test", [(doctor_id, "x@y.z")])
    assert not any(tmp_path.iterdir())


def test_validity_starts_at_the_given_clock(tmp_path: Path) -> None:
    """An instance on a clock set in the past (tests, emulator) still gets usable certificates."""
    then = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    demo = write_demo_certificates(tmp_path, "Cabinet", "sec@example.test", DOCTORS, now=then)
    cert = smime.load_certificate(demo.doctor_certificates["dr-martin"])
    assert cert.not_valid_before_utc <= then < cert.not_valid_before_utc + timedelta(minutes=10)
    assert smime.certificate_problem(cert, then) is None
    smime.load_signer(demo.signing_certificate, demo.signing_key, now=then)
