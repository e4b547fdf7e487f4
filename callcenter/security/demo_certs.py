"""Self-signed S/MIME certificates for the demo practice and its doctors.

Real doctors bring their own certificate (in France, from IGC-Santé) and keep
their private key to themselves: the server only ever needs their
certificate.  The doctors' keys written here exist only so that a demo
digest can be opened on this machine; never do this for a real practice.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = timedelta(days=730)
#: Backdated a little so a client whose clock is slightly behind still accepts them.
BACKDATE = timedelta(minutes=5)
SIGNING_CERTIFICATE = "practice-signing.pem"
SIGNING_KEY = "practice-signing.key"
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class DemoCertificates:
    """Where the demo files are: the practice's signer and each doctor's pair."""

    signing_certificate: Path
    signing_key: Path
    #: doctor id -> certificate (what the practice configuration points at)
    doctor_certificates: dict[str, Path] = field(default_factory=dict)
    #: doctor id -> private key (demo only: lets the admin open a digest)
    doctor_keys: dict[str, Path] = field(default_factory=dict)


def _usage(*, signature: bool, non_repudiation: bool, encipherment: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signature,
        content_commitment=non_repudiation,
        key_encipherment=encipherment,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` with ``mode`` from the start; never overwrite (O_EXCL)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _key(path: Path) -> rsa.RSAPrivateKey:
    """The RSA key in ``path``, created (mode 0600) when missing."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"{path}: not an RSA private key")
        return key
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_new(path, pem, 0o600)
    return key


def _pair(
    folder: Path,
    name: str,
    subject: x509.Name,
    address: str,
    usage: x509.KeyUsage,
    now: datetime,
) -> tuple[Path, Path]:
    """``name``.pem and ``name``.key in ``folder``; existing files are kept."""
    cert_path = folder / f"{name}.pem"
    key_path = folder / f"{name}.key"
    if cert_path.exists():
        if not key_path.exists():
            raise ValueError(f"{cert_path} exists without its key {key_path}; remove it")
        return cert_path, key_path
    # A key left without its certificate (interrupted run) gets one now.
    key = _key(key_path)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
        .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(address)]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_new(cert_path, certificate.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert_path, key_path


def write_demo_certificates(
    folder: Path,
    practice_name: str,
    practice_email: str,
    doctors: Sequence[tuple[str, str]],
    *,
    now: datetime | None = None,
) -> DemoCertificates:
    """Create the practice's signer and a certificate and key per (doctor id, e-mail).

    Self-signed, RSA 2048, valid two years, emailProtection and the e-mail
    address as subjectAltName: the practice's for signing (digitalSignature,
    nonRepudiation), the doctors' for encryption (keyEncipherment,
    digitalSignature).  Keys are created with mode 0600.  Files that already
    exist are kept, so running it again changes nothing.  ``now`` (default:
    the real time) starts the validity: pass the instance's clock when it is
    not the real one, or a clock set in the past finds them "not valid before".

    The doctors' private keys are written only because this is a demo: a
    real doctor's key never reaches the server.
    """
    for doctor_id, _ in doctors:
        if not _SAFE_ID.fullmatch(doctor_id):
            raise ValueError(f"doctor id {doctor_id!r} cannot be used as a file name")
    folder = Path(folder)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    now = datetime.now(UTC) if now is None else now
    organisation = x509.NameAttribute(NameOID.ORGANIZATION_NAME, practice_name[:64])
    signing_certificate, signing_key = _pair(
        folder,
        Path(SIGNING_CERTIFICATE).stem,
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, practice_name[:64]), organisation]),
        practice_email,
        _usage(signature=True, non_repudiation=True, encipherment=False),
        now,
    )
    result = DemoCertificates(signing_certificate, signing_key)
    for doctor_id, address in doctors:
        cert_path, key_path = _pair(
            folder,
            doctor_id,
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, address[:64]), organisation]),
            address,
            _usage(signature=True, non_repudiation=False, encipherment=True),
            now,
        )
        result.doctor_certificates[doctor_id] = cert_path
        result.doctor_keys[doctor_id] = key_path
    return result
