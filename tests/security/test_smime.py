"""S/MIME digests: sealed with cryptography, opened and verified by OpenSSL and by unseal."""

from __future__ import annotations

import email
import email.message
import email.policy
import os
import quopri
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from callcenter.security import smime
from callcenter.security.demo_certs import DemoCertificates, write_demo_certificates

TEXT = (
    "Synthèse des appels — lundi 24/11\n"
    "\n"
    "1. Mme Éloïse Dupont-Lefèvre a appelé à 09:12 ; rappeler avant midi.\n"
    "2. Résultats d'analyses reçus : tout va bien 👍\n"
    "From the waiting room: « ça ne presse pas ».\n"
    "   indented line with trailing spaces   \n"
    "." + "x" * 120 + "\n"
)
SUBJECT = "Synthèse des appels — 24/11 12:30"
HEADERS = {
    "From": "Cabinet des Lilas <secretariat@example.test>",
    "To": "dr.martin@example.test",
    "Subject": SUBJECT,
    "Date": "Mon, 24 Nov 2025 12:30:00 +0100",
    "Message-ID": "<digest-1@example.test>",
}
NOW = datetime(2025, 11, 24, 11, 30, tzinfo=UTC)

needs_openssl = pytest.mark.skipif(
    shutil.which("openssl") is None, reason="the openssl command is not installed"
)


# -- helpers -------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoCertificates:
    return write_demo_certificates(
        tmp_path_factory.mktemp("certs"),
        "Cabinet des Lilas",
        "secretariat@example.test",
        [("dr-martin", "dr.martin@example.test"), ("dr-bernard", "dr.bernard@example.test")],
    )


@pytest.fixture(scope="module")
def signer(demo: DemoCertificates) -> smime.Signer:
    return smime.load_signer(demo.signing_certificate, demo.signing_key)


@pytest.fixture(scope="module")
def sealed(demo: DemoCertificates, signer: smime.Signer) -> bytes:
    recipient = smime.load_certificate(demo.doctor_certificates["dr-martin"])
    return smime.seal(TEXT, signer=signer, recipient=recipient, headers=HEADERS)


def _doctor(demo: DemoCertificates, doctor: str) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    cert = smime.load_certificate(demo.doctor_certificates[doctor])
    key = serialization.load_pem_private_key(demo.doctor_keys[doctor].read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return cert, key


def _usage(**flags: bool) -> x509.KeyUsage:
    names = [
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
    ]
    return x509.KeyUsage(
        **{name: flags.get(name, False) for name in names},
        encipher_only=False,
        decipher_only=False,
    )


def _certificate(
    *,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | None = None,
    not_before: datetime = NOW - timedelta(days=1),
    not_after: datetime = NOW + timedelta(days=365),
    usage: x509.KeyUsage | None = None,
    eku: list[x509.ObjectIdentifier] | None = None,
) -> tuple[x509.Certificate, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey]:
    """A self-signed certificate with exactly the given extensions (None: absent)."""
    if key is None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test@example.test")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    if usage is not None:
        builder = builder.add_extension(usage, critical=True)
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    return builder.sign(key, hashes.SHA256()), key


def _write(folder: Path, name: str, cert: x509.Certificate, key: object) -> tuple[Path, Path]:
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return cert_path, key_path


def _openssl(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["openssl", *map(str, args)], capture_output=True, text=True, check=False, timeout=60
    )
    if check and result.returncode != 0:
        raise AssertionError(f"openssl {' '.join(map(str, args))} failed: {result.stderr}")
    return result


def _decrypt_openssl(tmp_path: Path, message: bytes, demo: DemoCertificates) -> Path:
    (tmp_path / "msg.eml").write_bytes(message)
    out = tmp_path / "signed.eml"
    _openssl(
        "cms", "-decrypt", "-in", tmp_path / "msg.eml",
        "-recip", demo.doctor_certificates["dr-martin"],
        "-inkey", demo.doctor_keys["dr-martin"], "-out", out,
    )  # fmt: skip
    return out


def _envelope(entity: bytes, recipient: x509.Certificate) -> bytes:
    """What anyone can do: encrypt arbitrary content to a doctor's public certificate."""
    return (
        pkcs7.PKCS7EnvelopeBuilder()
        .set_data(entity)
        .add_recipient(recipient)
        .set_content_encryption_algorithm(algorithms.AES256)
        .encrypt(serialization.Encoding.SMIME, [pkcs7.PKCS7Options.Binary])
    )


# -- OpenSSL reads what we write -----------------------------------------------


@needs_openssl
@pytest.mark.parametrize("purpose", ["any", "smimesign"])
def test_openssl_decrypts_and_verifies(
    tmp_path: Path, demo: DemoCertificates, sealed: bytes, purpose: str
) -> None:
    signed = _decrypt_openssl(tmp_path, sealed, demo)
    verified = tmp_path / "verified.eml"
    result = _openssl(
        "cms", "-verify", "-in", signed, "-CAfile", demo.signing_certificate,
        "-purpose", purpose, "-out", verified,
    )  # fmt: skip
    assert "Verification successful" in result.stderr
    part = email.message_from_bytes(verified.read_bytes(), policy=email.policy.default)
    assert part.get_content_type() == "text/plain"
    assert part.get_content_charset() == "utf-8"
    assert part["Content-Transfer-Encoding"] == "quoted-printable"
    assert isinstance(part, email.message.EmailMessage)
    assert part.get_content().replace("\r\n", "\n") == TEXT


@needs_openssl
def test_openssl_cms_finds_the_signed_entity_inside(
    tmp_path: Path, demo: DemoCertificates, sealed: bytes
) -> None:
    """`openssl smime` (PKCS #7 code, v1.5 key transport only) cannot read RSA-OAEP: CMS can."""
    signed = _decrypt_openssl(tmp_path, sealed, demo)
    outer = email.message_from_bytes(signed.read_bytes())
    assert outer.get_content_type() == "multipart/signed"
    assert outer.get_param("micalg") == "sha-256"


@needs_openssl
def test_openssl_sees_aes_256_cbc_to_rsa_oaep(tmp_path: Path, sealed: bytes) -> None:
    """The content key is wrapped with RSAES-OAEP (SHA-256, MGF1-SHA-256), not PKCS #1 v1.5."""
    (tmp_path / "msg.eml").write_bytes(sealed)
    printed = _openssl("cms", "-cmsout", "-print", "-in", tmp_path / "msg.eml").stdout
    assert "aes-256-cbc" in printed
    key_transport = printed.split("keyEncryptionAlgorithm:")[1].split("encryptedKey:")[0]
    assert "rsaesOaep" in key_transport and "rsaEncryption" not in key_transport
    assert "mgf1" in key_transport and key_transport.count("sha256") == 2


@needs_openssl
def test_openssl_decrypts_a_seal_to_a_recipient_with_a_long_serial_and_name(
    tmp_path: Path, signer: smime.Signer
) -> None:
    """The envelope is framed here (DER lengths over 127 and 255 bytes): OpenSSL must agree."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=4096)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x" * 60),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "é" * 60)])  # fmt: skip
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(2**159 - 1)
        .not_valid_before(NOW - timedelta(days=1)).not_valid_after(NOW + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.RFC822Name("a@example.test")]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = _write(tmp_path, "long", cert, key)
    (tmp_path / "msg.eml").write_bytes(
        smime.seal(TEXT * 40, signer=signer, recipient=cert, headers={"To": "a@example.test"})
    )
    _openssl("cms", "-decrypt", "-in", tmp_path / "msg.eml", "-recip", cert_path,
             "-inkey", key_path, "-out", tmp_path / "signed.eml")  # fmt: skip
    assert b"Content-Type: multipart/signed" in (tmp_path / "signed.eml").read_bytes()
    assert smime.unseal((tmp_path / "msg.eml").read_bytes(), certificate=cert, key=key) == TEXT * 40


@needs_openssl
def test_openssl_rejects_another_trust_anchor(
    tmp_path: Path, demo: DemoCertificates, sealed: bytes
) -> None:
    signed = _decrypt_openssl(tmp_path, sealed, demo)
    result = _openssl(
        "cms", "-verify", "-in", signed, "-CAfile", demo.doctor_certificates["dr-bernard"],
        "-purpose", "any", "-out", tmp_path / "v.txt", check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "Verification successful" not in result.stderr


@needs_openssl
def test_openssl_rejects_altered_text(
    tmp_path: Path, demo: DemoCertificates, sealed: bytes
) -> None:
    signed = _decrypt_openssl(tmp_path, sealed, demo)
    signed.write_bytes(signed.read_bytes().replace(b"Dupont", b"Durand"))
    result = _openssl(
        "cms", "-verify", "-in", signed, "-CAfile", demo.signing_certificate,
        "-purpose", "any", "-out", tmp_path / "v.txt", check=False,
    )  # fmt: skip
    assert result.returncode != 0


@needs_openssl
def test_an_ec_signer_is_verified_by_openssl(tmp_path: Path, demo: DemoCertificates) -> None:
    usage = _usage(digital_signature=True)
    cert, key = _certificate(
        key=ec.generate_private_key(ec.SECP256R1()),
        not_before=datetime.now(UTC) - timedelta(days=1),
        not_after=datetime.now(UTC) + timedelta(days=30),
        usage=usage,
        eku=[ExtendedKeyUsageOID.EMAIL_PROTECTION],
    )
    ec_signer = smime.load_signer(*_write(tmp_path, "ec", cert, key))
    recipient, doctor_key = _doctor(demo, "dr-martin")
    message = smime.seal(TEXT, signer=ec_signer, recipient=recipient, headers=HEADERS)
    signed = _decrypt_openssl(tmp_path, message, demo)
    result = _openssl(
        "cms", "-verify", "-in", signed, "-CAfile", tmp_path / "ec.pem", "-purpose", "any",
        "-out", tmp_path / "v.txt",
    )  # fmt: skip
    assert "Verification successful" in result.stderr
    assert smime.unseal(message, certificate=recipient, key=doctor_key) == TEXT


# -- the message itself --------------------------------------------------------


def test_no_word_of_the_text_in_clear(sealed: bytes) -> None:
    raw = sealed.lower()
    body = raw.partition(b"\r\n\r\n")[2]
    for word in ["synthèse", "dupont", "lefèvre", "éloïse", "rappeler", "analyses", "midi",
                 "waiting", "presse", "indented", "👍", "xxxxxxxxxx", "09:12"]:  # fmt: skip
        assert word.encode("utf-8") not in raw, word
    for word in ["dupont", "rappeler", "eloïse", "lundi", "éloïse"]:  # nor quoted-printable
        encoded = quopri.encodestring(word.encode("utf-8")).lower()
        assert encoded not in raw, encoded
    for encoded in [b"synth=c3=a8se", b"=e2=80=94", b"=f0=9f=91=8d"]:  # the subject has them
        assert encoded not in body, encoded


def test_message_is_ascii_crlf_with_the_given_headers(sealed: bytes) -> None:
    sealed.decode("ascii")
    assert b"\n" not in sealed.replace(b"\r\n", b"")
    assert all(len(line) <= 998 for line in sealed.split(b"\r\n"))
    message = email.message_from_bytes(sealed, policy=email.policy.default)
    assert str(message["Subject"]) == SUBJECT
    assert b"\r\nSubject: =?utf-8?q?Synth=C3=A8se_des_appels_=E2=80=94?= 24/11 12:30\r\n" in sealed
    for name in ["From", "To", "Date", "Message-ID"]:
        assert str(message[name]) == HEADERS[name]
    assert message["MIME-Version"] == "1.0"
    assert message.get_content_type() == "application/pkcs7-mime"
    assert message.get_param("smime-type") == "enveloped-data"
    assert message["Content-Transfer-Encoding"] == "base64"
    assert len(message.keys()) == len({k.lower() for k in message})


def test_each_seal_is_fresh(demo: DemoCertificates, signer: smime.Signer, sealed: bytes) -> None:
    recipient, _ = _doctor(demo, "dr-martin")
    again = smime.seal(TEXT, signer=signer, recipient=recipient, headers=HEADERS)
    assert again.split(b"\r\n\r\n")[1] != sealed.split(b"\r\n\r\n")[1]


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ({"Content-Type": "text/html"}, "set by the S/MIME envelope"),
        ({"mime-version": "1.0"}, "set by the S/MIME envelope"),
        ({"Subject": "a\r\nBcc: everyone@example.test"}, "Subject"),
        ({"Subject": "a", "subject": "b"}, "given twice"),
    ],
)
def test_seal_refuses_bad_headers(
    demo: DemoCertificates, signer: smime.Signer, headers: dict[str, str], problem: str
) -> None:
    recipient, _ = _doctor(demo, "dr-martin")
    with pytest.raises(smime.SmimeError, match=problem):
        smime.seal(TEXT, signer=signer, recipient=recipient, headers=headers)


def test_seal_refuses_an_ec_recipient(signer: smime.Signer) -> None:
    cert, _ = _certificate(key=ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(smime.SmimeError, match="not an RSA key"):
        smime.seal(TEXT, signer=signer, recipient=cert, headers=HEADERS)


# -- unseal --------------------------------------------------------------------


def test_unseal_gives_back_the_text(
    demo: DemoCertificates, signer: smime.Signer, sealed: bytes
) -> None:
    cert, key = _doctor(demo, "dr-martin")
    assert smime.unseal(sealed, certificate=cert, key=key) == TEXT


def test_unseal_adds_a_final_line_end(demo: DemoCertificates, signer: smime.Signer) -> None:
    cert, key = _doctor(demo, "dr-martin")
    message = smime.seal("one\r\ntwo", signer=signer, recipient=cert, headers={})
    assert smime.unseal(message, certificate=cert, key=key) == "one\ntwo\n"


def test_unseal_with_the_wrong_doctor_fails(demo: DemoCertificates, sealed: bytes) -> None:
    cert, key = _doctor(demo, "dr-bernard")
    with pytest.raises(smime.SmimeError, match="cannot decrypt"):
        smime.unseal(sealed, certificate=cert, key=key)


def test_unseal_still_opens_an_envelope_sealed_before_oaep(demo: DemoCertificates) -> None:
    """Mails queued by an older version (PKCS #1 v1.5) stay readable."""
    cert, key = _doctor(demo, "dr-martin")
    old = _envelope(b"Content-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n", cert)
    assert smime.unseal(old, certificate=cert, key=key) == "hello\n"


def test_unseal_refuses_html(demo: DemoCertificates) -> None:
    cert, key = _doctor(demo, "dr-martin")
    html = _envelope(b"Content-Type: text/html\r\n\r\n<p>hi</p>\r\n", cert)
    with pytest.raises(smime.SmimeError, match="not text/plain"):
        smime.unseal(html, certificate=cert, key=key)


def test_unseal_refuses_garbage(demo: DemoCertificates) -> None:
    cert, key = _doctor(demo, "dr-martin")
    with pytest.raises(smime.SmimeError, match="cannot decrypt"):
        smime.unseal(b"Subject: hi\r\n\r\nhello\r\n", certificate=cert, key=key)


# -- recipient certificates ----------------------------------------------------


def test_seal_refuses_a_certificate_that_is_not_the_addressees(
    demo: DemoCertificates, signer: smime.Signer
) -> None:
    """Someone else's certificate in the practice file must not get the doctor's digests."""
    bernard, _ = _doctor(demo, "dr-bernard")
    with pytest.raises(smime.SmimeError, match="does not match the doctor's address"):
        smime.seal(TEXT, signer=signer, recipient=bernard, headers={"To": "dr.martin@example.test"})
    martin, _ = _doctor(demo, "dr-martin")
    smime.seal(TEXT, signer=signer, recipient=martin, headers={"To": "Dr.Martin@Example.test"})


def test_the_address_is_read_from_the_san_or_the_subject() -> None:
    cert, _ = _certificate()  # CN only: names no address
    assert smime.certificate_emails(cert) == []
    problem = smime.certificate_problem(cert, NOW, address="test@example.test")
    assert problem is not None and "it names no address" in problem
    assert smime.certificate_problem(cert, NOW) is None  # no address given: not checked
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.EMAIL_ADDRESS, "doc@example.test")])
    by_subject = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(NOW - timedelta(days=1)).not_valid_after(NOW + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    assert smime.certificate_emails(by_subject) == ["doc@example.test"]
    assert smime.certificate_problem(by_subject, NOW, address="doc@example.test") is None
    assert smime.certificate_problem(by_subject, NOW, address="other@example.test")


def test_a_good_recipient_has_no_problem() -> None:
    usage = _usage(digital_signature=True, key_encipherment=True)
    cert, _ = _certificate(usage=usage, eku=[ExtendedKeyUsageOID.EMAIL_PROTECTION])
    assert smime.certificate_problem(cert, NOW) is None
    bare, _ = _certificate()  # no key usage nor EKU: nothing restricts it
    assert smime.certificate_problem(bare, NOW) is None
    assert smime.certificate_problem(cert, NOW.replace(tzinfo=None)) is None


def test_certificate_problems() -> None:
    expired, _ = _certificate(
        not_before=datetime(2024, 11, 1, tzinfo=UTC), not_after=datetime(2025, 11, 1, tzinfo=UTC)
    )
    assert smime.certificate_problem(expired, NOW) == "expired on 2025-11-01"
    early, _ = _certificate(
        not_before=datetime(2025, 12, 3, tzinfo=UTC), not_after=datetime(2026, 12, 3, tzinfo=UTC)
    )
    assert smime.certificate_problem(early, NOW) == "not valid before 2025-12-03"
    ec_cert, _ = _certificate(key=ec.generate_private_key(ec.SECP256R1()))
    assert (
        smime.certificate_problem(ec_cert, NOW)
        == "not an RSA key (S/MIME encryption here needs RSA)"
    )
    server, _ = _certificate(eku=[ExtendedKeyUsageOID.SERVER_AUTH])
    assert smime.certificate_problem(server, NOW) == "no emailProtection usage"
    sign_only, _ = _certificate(usage=_usage(digital_signature=True))
    assert smime.certificate_problem(sign_only, NOW) == "key usage does not allow key encipherment"


def test_expires_within() -> None:
    cert, _ = _certificate(not_after=NOW + timedelta(days=20))
    assert smime.expires_within(cert, NOW, 30)
    assert not smime.expires_within(cert, NOW, 10)
    assert smime.expires_within(cert, NOW + timedelta(days=40), 0)


# -- loading -------------------------------------------------------------------


def test_load_certificate_errors(tmp_path: Path) -> None:
    with pytest.raises(smime.SmimeError, match=r"missing\.pem: certificate not found"):
        smime.load_certificate(tmp_path / "missing.pem")
    junk = tmp_path / "junk.pem"
    junk.write_text("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")
    with pytest.raises(smime.SmimeError, match=r"junk\.pem: not a PEM certificate"):
        smime.load_certificate(junk)
    key = tmp_path / "key.pem"
    key.write_bytes(
        rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(smime.SmimeError, match="not a PEM certificate"):
        smime.load_certificate(key)


def test_load_signer_accepts_the_demo_signer(demo: DemoCertificates) -> None:
    signer = smime.load_signer(demo.signing_certificate, demo.signing_key, now=datetime.now(UTC))
    assert signer.certificate == smime.load_certificate(demo.signing_certificate)


@pytest.mark.parametrize(
    ("usage", "eku", "problem"),
    [
        (None, [ExtendedKeyUsageOID.EMAIL_PROTECTION], "digitalSignature"),
        (
            _usage(key_encipherment=True, content_commitment=True),
            [ExtendedKeyUsageOID.EMAIL_PROTECTION],
            "digitalSignature",
        ),
        (_usage(digital_signature=True), None, "emailProtection"),
        (_usage(digital_signature=True), [ExtendedKeyUsageOID.CLIENT_AUTH], "emailProtection"),
    ],
)
def test_load_signer_refuses_unsuitable_certificates(
    tmp_path: Path,
    usage: x509.KeyUsage | None,
    eku: list[x509.ObjectIdentifier] | None,
    problem: str,
) -> None:
    cert, key = _certificate(usage=usage, eku=eku)
    cert_path, key_path = _write(tmp_path, "signer", cert, key)
    with pytest.raises(smime.SmimeError, match=f"signer.pem: certificate lacks the {problem}"):
        smime.load_signer(cert_path, key_path)


def test_load_signer_refuses_a_mismatched_key(tmp_path: Path, demo: DemoCertificates) -> None:
    with pytest.raises(smime.SmimeError, match="key does not match the certificate"):
        smime.load_signer(demo.signing_certificate, demo.doctor_keys["dr-martin"])


def test_load_signer_refuses_a_readable_key(tmp_path: Path, demo: DemoCertificates) -> None:
    key_path = tmp_path / "signing.key"
    shutil.copyfile(demo.signing_key, key_path)
    for mode in (0o644, 0o640, 0o604):
        key_path.chmod(mode)
        with pytest.raises(smime.SmimeError, match=f"chmod 600 {key_path}"):
            smime.load_signer(demo.signing_certificate, key_path)
    key_path.chmod(0o600)
    smime.load_signer(demo.signing_certificate, key_path)


def test_load_signer_refuses_missing_and_encrypted_keys(
    tmp_path: Path, demo: DemoCertificates
) -> None:
    with pytest.raises(smime.SmimeError, match="signing key not found"):
        smime.load_signer(demo.signing_certificate, tmp_path / "none.key")
    key = serialization.load_pem_private_key(demo.signing_key.read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    encrypted = tmp_path / "encrypted.key"
    fd = os.open(encrypted, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(b"secret"),
            )
        )
    with pytest.raises(smime.SmimeError, match="passphrase"):
        smime.load_signer(demo.signing_certificate, encrypted)


def test_load_signer_checks_validity_when_given_now(tmp_path: Path) -> None:
    cert, key = _certificate(
        not_after=NOW - timedelta(days=1),
        not_before=NOW - timedelta(days=30),
        usage=_usage(digital_signature=True),
        eku=[ExtendedKeyUsageOID.EMAIL_PROTECTION],
    )
    paths = _write(tmp_path, "old", cert, key)
    smime.load_signer(*paths)
    with pytest.raises(smime.SmimeError, match="signing certificate expired on"):
        smime.load_signer(*paths, now=NOW)
