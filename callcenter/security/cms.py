"""CMS EnvelopedData with RSA-OAEP key transport: what cryptography's builder cannot make.

cryptography's ``PKCS7EnvelopeBuilder`` (the installed version included)
only wraps the content key with RSA PKCS #1 v1.5, the padding of
Bleichenbacher's oracle attacks, and only for AES-CBC content; it makes no
AuthEnvelopedData (AES-GCM) at all.  RFC 8551 asks S/MIME senders to prefer
RSAES-OAEP, so this module writes the envelope itself (RFC 5652 §6, RFC 8017
and RFC 4055 parameters): the key wrapped with RSAES-OAEP (SHA-256,
MGF1-SHA-256), the content with AES-256-CBC.  All the cryptography is
cryptography's; only the DER framing is here, and the tests check it with
``openssl cms -decrypt``.  :func:`decrypt` reads such envelopes back, for
:func:`callcenter.security.smime.unseal`.

Content stays AES-CBC (no AuthEnvelopedData) because cryptography offers
neither the structure nor a reader for it, and mail clients' support for
AES-GCM in S/MIME is still uneven; the practice's signature inside the
envelope gives the integrity CBC lacks (EFAIL).
"""

from __future__ import annotations

import base64
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

ID_DATA = "1.2.840.113549.1.7.1"
ID_ENVELOPED_DATA = "1.2.840.113549.1.7.3"
ID_RSAES_OAEP = "1.2.840.113549.1.1.7"
ID_MGF1 = "1.2.840.113549.1.1.8"
ID_SHA256 = "2.16.840.1.101.3.4.2.1"
ID_AES256_CBC = "2.16.840.1.101.3.4.1.42"

_SEQUENCE, _SET, _INTEGER, _OCTETS, _OID, _NULL = 0x30, 0x31, 0x02, 0x04, 0x06, 0x05
_OAEP = asym_padding.OAEP(
    mgf=asym_padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None
)

SMIME_HEADERS = (
    "MIME-Version: 1.0\r\n"
    'Content-Disposition: attachment; filename="smime.p7m"\r\n'
    'Content-Type: application/pkcs7-mime; smime-type="enveloped-data"; name="smime.p7m"\r\n'
    "Content-Transfer-Encoding: base64\r\n"
)


class CmsError(ValueError):
    """An envelope that cannot be read or opened with the given key."""


# -- writing ---------------------------------------------------------------------


def envelope(content: bytes, recipient: x509.Certificate) -> bytes:
    """DER ContentInfo: ``content`` under a fresh AES-256 key, wrapped (OAEP) for ``recipient``."""
    public = recipient.public_key()
    if not isinstance(public, rsa.RSAPublicKey):
        raise TypeError("the recipient's certificate must hold an RSA key")
    key, iv = os.urandom(32), os.urandom(16)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(content) + padder.finalize()
    encryptor = Cipher(algorithms.AES256(key), modes.CBC(iv)).encryptor()
    encrypted = encryptor.update(padded) + encryptor.finalize()

    sha256 = _seq(_oid(ID_SHA256), _tlv(_NULL, b""))
    oaep = _seq(
        _oid(ID_RSAES_OAEP), _seq(_tlv(0xA0, sha256), _tlv(0xA1, _seq(_oid(ID_MGF1), sha256)))
    )
    issuer_and_serial = _seq(recipient.issuer.public_bytes(), _int(recipient.serial_number))
    recipient_info = _seq(_int(0), issuer_and_serial, oaep, _octets(public.encrypt(key, _OAEP)))
    content_info = _seq(
        _oid(ID_DATA),
        _seq(_oid(ID_AES256_CBC), _octets(iv)),
        _tlv(0x80, encrypted),  # [0] IMPLICIT encryptedContent
    )
    enveloped = _seq(_int(0), _tlv(_SET, recipient_info), content_info)
    return _seq(_oid(ID_ENVELOPED_DATA), _tlv(0xA0, enveloped))


def smime(content: bytes, recipient: x509.Certificate) -> bytes:
    """The envelope as an S/MIME entity (headers, base64 body), like cryptography's output."""
    body = base64.encodebytes(envelope(content, recipient)).replace(b"\n", b"\r\n")
    return SMIME_HEADERS.encode("ascii") + b"\r\n" + body


# -- reading ---------------------------------------------------------------------


def decrypt(der: bytes, key: rsa.RSAPrivateKey) -> bytes:
    """The content of an OAEP EnvelopedData this module wrote; :class:`CmsError` otherwise."""
    try:
        content_type, wrapped = _items(_expect(der, _SEQUENCE))
        if _decode_oid(_expect(content_type, _OID)) != ID_ENVELOPED_DATA:
            raise CmsError("not enveloped data")
        version, infos, encrypted_info, *_ = _items(_expect(_expect(wrapped, 0xA0), _SEQUENCE))
        del version
        content_key = _content_key(_items(_expect(infos, _SET)), key)
        _, algorithm, encrypted = _items(_expect(encrypted_info, _SEQUENCE))
        algorithm_id, iv = _items(_expect(algorithm, _SEQUENCE))
        if _decode_oid(_expect(algorithm_id, _OID)) != ID_AES256_CBC:
            raise CmsError("content is not AES-256-CBC")
        decryptor = Cipher(algorithms.AES256(content_key), modes.CBC(_expect(iv, _OCTETS)))
        opened = decryptor.decryptor()
        padded = opened.update(_expect(encrypted, 0x80)) + opened.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return unpadder.update(padded) + unpadder.finalize()
    except CmsError:
        raise
    except (ValueError, IndexError) as exc:  # DER, padding or key problems: one kind of failure
        raise CmsError(f"cannot decrypt: {exc}") from None


def _content_key(recipient_infos: list[bytes], key: rsa.RSAPrivateKey) -> bytes:
    for info in recipient_infos:
        _, _, algorithm, wrapped = _items(_expect(info, _SEQUENCE))
        algorithm_id = _items(_expect(algorithm, _SEQUENCE))[0]
        if _decode_oid(_expect(algorithm_id, _OID)) != ID_RSAES_OAEP:
            continue
        try:
            return key.decrypt(_expect(wrapped, _OCTETS), _OAEP)
        except ValueError:
            continue  # another recipient's key
    raise CmsError("no RSA-OAEP recipient this key opens")


# -- DER -------------------------------------------------------------------------


def _tlv(tag: int, body: bytes) -> bytes:
    size = len(body)
    if size < 0x80:
        return bytes([tag, size]) + body
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + body


def _seq(*parts: bytes) -> bytes:
    return _tlv(_SEQUENCE, b"".join(parts))


def _octets(data: bytes) -> bytes:
    return _tlv(_OCTETS, data)


def _int(value: int) -> bytes:
    return _tlv(_INTEGER, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


def _oid(dotted: str) -> bytes:
    first, second, *rest = (int(arc) for arc in dotted.split("."))
    body = bytearray()
    for arc in (40 * first + second, *rest):
        chunk = [arc & 0x7F]
        while arc > 0x7F:
            arc >>= 7
            chunk.append(0x80 | (arc & 0x7F))
        body += bytes(reversed(chunk))
    return _tlv(_OID, bytes(body))


def _decode_oid(body: bytes) -> str:
    arcs, value = [], 0
    for byte in body:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    if not arcs:
        raise CmsError("empty object identifier")
    first = min(arcs[0] // 40, 2)
    return ".".join(map(str, [first, arcs[0] - 40 * first, *arcs[1:]]))


def _read(data: bytes, at: int) -> tuple[int, bytes, int]:
    """(tag, body, next offset) of the definite-length element at ``at``."""
    if at + 2 > len(data):
        raise CmsError("truncated")
    tag, size, at = data[at], data[at + 1], at + 2
    if size & 0x80:
        count = size & 0x7F
        if not 0 < count <= 4 or at + count > len(data):
            raise CmsError("unsupported length")
        size, at = int.from_bytes(data[at : at + count], "big"), at + count
    if at + size > len(data):
        raise CmsError("truncated")
    return tag, data[at : at + size], at + size


def _expect(element: bytes, tag: int) -> bytes:
    """The body of ``element`` (one whole element) if its tag is ``tag``."""
    found, body, end = _read(element, 0)
    if found != tag or end != len(element):
        raise CmsError(f"unexpected element {found:#x}")
    return body


def _items(body: bytes) -> list[bytes]:
    """The whole elements (tag and length included) inside a constructed body."""
    items, at = [], 0
    while at < len(body):
        _, _, end = _read(body, at)
        items.append(body[at:end])
        at = end
    return items
