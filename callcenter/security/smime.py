"""S/MIME digests for doctors: signed by the practice, then encrypted to the doctor.

The layout (docs/configuration/digests.md)::

    application/pkcs7-mime; smime-type=enveloped-data      AES-256-CBC, RSA-OAEP recipient
      └ multipart/signed; micalg=sha-256                    detached, by the practice
          ├ text/plain; charset=utf-8 (quoted-printable)    the digest
          └ application/x-pkcs7-signature

Signing first, then encrypting, hides who signed and what from anyone on the
way, and lets the doctor's client check the digest came from the practice:
CBC has no integrity of its own (EFAIL), the signature inside provides it.
Only text/plain is ever sent: no HTML, no remote content.

cryptography signs; the envelope is :mod:`callcenter.security.cms`'s, because
cryptography's builder wraps the content key with PKCS #1 v1.5 only, and
RSA-OAEP is what RFC 8551 asks for.  cryptography cannot verify PKCS #7
signatures, which mail clients (and the tests, with ``openssl cms -verify``) do.

A doctor's certificate must name the doctor's address (a SAN rfc822Name or
the subject's emailAddress): a certificate swapped in the practice file for
someone else's would otherwise send that someone the digests, and the
doctor's client would flag the mail anyway.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import email.utils
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from callcenter.security import cms

#: Headers the S/MIME envelope sets itself; callers may not pass them.
ENVELOPE_HEADERS = frozenset(
    {"mime-version", "content-type", "content-transfer-encoding", "content-disposition"}
)

_SMTP = email.policy.SMTP  # CRLF, RFC 2047 for non-ASCII headers, ASCII output


class SmimeError(Exception):
    """A certificate, key or message cannot be used; the message names the file or problem."""


@dataclass(frozen=True)
class Signer:
    """The practice's signing certificate and its private key (checked to match)."""

    certificate: x509.Certificate
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


# -- loading -------------------------------------------------------------------


def _read(path: Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise SmimeError(f"{path}: {what} not found") from None
    except OSError as exc:
        raise SmimeError(f"{path}: cannot read {what} ({exc.strerror})") from None


def load_certificate(path: Path) -> x509.Certificate:
    """The X.509 certificate in ``path`` (PEM; DER is accepted too)."""
    data = _read(path, "certificate")
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError:
        raise SmimeError(f"{path}: not a PEM certificate") from None


def _public_der(key: object) -> bytes:
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        return b""
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _load_key(path: Path) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    """A private key file that only its owner can read, unencrypted PEM."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise SmimeError(f"{path}: signing key not found") from None
    except OSError as exc:
        raise SmimeError(f"{path}: cannot read signing key ({exc.strerror})") from None
    if os.name == "posix" and mode & 0o077:
        raise SmimeError(
            f"{path}: signing key is readable by group or others; run chmod 600 {path}"
        )
    data = _read(path, "signing key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise SmimeError(
            f"{path}: signing key is protected by a passphrase, which is not supported"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise SmimeError(f"{path}: not a PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise SmimeError(f"{path}: signing key must be RSA or EC, not {type(key).__name__}")
    return key


def load_signer(cert_path: Path, key_path: Path, *, now: datetime | None = None) -> Signer:
    """The practice's signer, refused unless a mail client would accept its signatures.

    The certificate needs the digitalSignature key usage and the
    emailProtection extended key usage (OpenSSL rejects others with
    "unsuitable certificate purpose"); the key must match it and be chmod 600.
    With ``now``, an expired or not yet valid certificate is refused too.
    """
    certificate = load_certificate(cert_path)
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is None or not usage.digital_signature:
        raise SmimeError(f"{cert_path}: certificate lacks the digitalSignature key usage")
    if not _has_email_protection(certificate, missing=False):
        raise SmimeError(f"{cert_path}: certificate lacks the emailProtection extended key usage")
    if now is not None:
        problem = _validity_problem(certificate, now)
        if problem:
            raise SmimeError(f"{cert_path}: signing certificate {problem}")
    key = _load_key(key_path)
    if _public_der(key.public_key()) != _public_der(certificate.public_key()):
        raise SmimeError(f"{key_path}: key does not match the certificate {cert_path}")
    return Signer(certificate=certificate, key=key)


# -- recipient checks ----------------------------------------------------------


def _utc(now: datetime) -> datetime:
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def _has_email_protection(cert: x509.Certificate, *, missing: bool) -> bool:
    """Whether the EKU allows e-mail; ``missing`` is the answer without an EKU extension."""
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return missing
    return (
        ExtendedKeyUsageOID.EMAIL_PROTECTION in eku
        or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in eku
    )


def _validity_problem(cert: x509.Certificate, now: datetime) -> str | None:
    now = _utc(now)
    if now > cert.not_valid_after_utc:
        return f"expired on {cert.not_valid_after_utc:%Y-%m-%d}"
    if now < cert.not_valid_before_utc:
        return f"not valid before {cert.not_valid_before_utc:%Y-%m-%d}"
    return None


def certificate_emails(cert: x509.Certificate) -> list[str]:
    """The e-mail addresses a certificate is for: SAN rfc822Names, then subject emailAddress."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        found = [str(a) for a in san.get_values_for_type(x509.RFC822Name)]
    except x509.ExtensionNotFound:
        found = []
    found += [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.EMAIL_ADDRESS)]
    return found


def address_problem(cert: x509.Certificate, address: str) -> str | None:
    """Why ``cert`` is not the certificate of ``address`` (None: it names it).

    Compared without regard to case: mail providers treat addresses so, and
    S/MIME clients match them so.
    """
    listed = certificate_emails(cert)
    if address.strip().lower() in {e.strip().lower() for e in listed}:
        return None
    named = ", ".join(listed) if listed else "no address"
    return f"certificate e-mail does not match the doctor's address {address} (it names {named})"


def certificate_problem(
    cert: x509.Certificate, now: datetime, address: str | None = None
) -> str | None:
    """Why digests cannot be encrypted to this doctor's certificate at ``now`` (None: they can).

    A naive ``now`` is taken as UTC.  A key usage extension without
    keyEncipherment is refused as well (RFC 8550 §4.4.2: clients reject it),
    and, given the doctor's ``address``, a certificate that does not name it.
    """
    problem = _validity_problem(cert, now)
    if problem:
        return problem
    if not isinstance(cert.public_key(), rsa.RSAPublicKey):
        return "not an RSA key (S/MIME encryption here needs RSA)"
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is not None and not usage.key_encipherment:
        return "key usage does not allow key encipherment"
    if not _has_email_protection(cert, missing=True):
        return "no emailProtection usage"
    if address is not None:
        return address_problem(cert, address)
    return None


def expires_within(cert: x509.Certificate, now: datetime, days: int) -> bool:
    """Whether ``cert`` expires in the next ``days`` days (or already has): time to renew."""
    return cert.not_valid_after_utc <= _utc(now) + timedelta(days=days)


# -- sealing -------------------------------------------------------------------


def _text_entity(text: str) -> bytes:
    """The inner MIME entity: text/plain UTF-8, quoted-printable so 8-bit text survives."""
    part = email.message.MIMEPart(policy=_SMTP)
    part.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    return part.as_bytes(policy=_SMTP)


def seal(
    text: str,
    *,
    signer: Signer,
    recipient: x509.Certificate,
    headers: Mapping[str, str],
) -> bytes:
    """A complete e-mail (CRLF, ASCII bytes) carrying ``text`` signed, then encrypted.

    ``headers`` (From, To, Subject, Date, Message-ID…) travel in clear: they
    must hold no personal data.  Non-ASCII values are RFC 2047 encoded.  The
    line ends of ``text`` come back as "\\n", and a final one is added.  A
    ``To`` address the recipient's certificate does not name is refused.
    """
    outer = email.message.EmailMessage(policy=_SMTP)
    seen: set[str] = set()
    for name, value in headers.items():
        lower = name.lower()
        if lower in ENVELOPE_HEADERS:
            raise SmimeError(f"header {name} is set by the S/MIME envelope, not by the caller")
        if lower in seen:
            raise SmimeError(f"header {name} given twice")
        seen.add(lower)
        try:
            outer[name] = value
        except (ValueError, TypeError) as exc:
            raise SmimeError(f"header {name}: {exc}") from None
    if not isinstance(recipient.public_key(), rsa.RSAPublicKey):
        raise SmimeError(
            "recipient certificate is not an RSA key (S/MIME encryption here needs RSA)"
        )
    to = email.utils.parseaddr(str(outer["To"]))[1] if outer["To"] is not None else None
    mismatch = address_problem(recipient, to) if to is not None else None
    if mismatch:
        raise SmimeError(mismatch)

    signed = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(_text_entity(text))
        .add_signer(signer.certificate, signer.key, hashes.SHA256())
        .sign(serialization.Encoding.SMIME, [pkcs7.PKCS7Options.DetachedSignature])
    )
    # Binary: the signed entity is already canonical (CRLF); translating it
    # again could only break the signature.
    enveloped = cms.smime(signed, recipient)
    envelope = email.message_from_bytes(enveloped, policy=_SMTP)
    for name, value in envelope.items():
        outer[name] = value
    body = envelope.get_payload()
    assert isinstance(body, str)
    outer.set_payload("\r\n".join(body.split()) + "\r\n")
    try:
        return outer.as_bytes(policy=_SMTP)
    except (ValueError, UnicodeError) as exc:
        raise SmimeError(f"headers cannot be encoded for SMTP: {exc}") from None


# -- unsealing -----------------------------------------------------------------


def unseal(message: bytes, *, certificate: x509.Certificate, key: rsa.RSAPrivateKey) -> str:
    """The text of a sealed digest, decrypted with the doctor's ``certificate`` and ``key``.

    For the administrator's checks and the tests.  It does not verify the
    signature: cryptography has no PKCS #7 verification, and that is the
    mail client's job (the tests run ``openssl cms -verify``).  Envelopes
    sealed before RSA-OAEP (PKCS #1 v1.5, cryptography's) still open.
    """
    try:
        entity = cms.decrypt(_envelope_der(message), key)
    except (cms.CmsError, ValueError):
        try:
            entity = pkcs7.pkcs7_decrypt_smime(message, certificate, key, [])
        except ValueError as exc:
            raise SmimeError(
                f"cannot decrypt the message with this certificate and key: {exc}"
            ) from None
    parsed = email.message_from_bytes(entity, policy=email.policy.default)
    # The signed text (checking the signature is the mail client's job).
    part = parsed.get_payload(0) if parsed.get_content_type() == "multipart/signed" else parsed
    if not isinstance(part, email.message.EmailMessage) or part.get_content_type() != "text/plain":
        raise SmimeError("the digest is not text/plain")
    text = part.get_content()
    assert isinstance(text, str)
    return text.replace("\r\n", "\n")


def _envelope_der(message: bytes) -> bytes:
    """The DER of an S/MIME message's base64 body; ValueError when it is none."""
    parsed = email.message_from_bytes(message, policy=email.policy.default)
    if parsed.get_content_type() not in ("application/pkcs7-mime", "application/x-pkcs7-mime"):
        raise ValueError("not an S/MIME envelope")
    body = parsed.get_payload(decode=True)
    if not isinstance(body, bytes) or not body:
        raise ValueError("empty S/MIME body")
    return body
