"""Sending finished e-mails over SMTP: STARTTLS or implicit TLS, with authentication.

Only already-sealed messages (S/MIME, :mod:`callcenter.security.smime`) pass through
here; the server and its logs never see a digest in clear.  Settings live in
``settings.yaml`` under ``smtp:``; the password may come from
``SMTP_PASSWORD`` or a file named by ``SMTP_PASSWORD_FILE``.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from callcenter.core.yaml_fields import FieldError, Fields

SECURITY = ("starttls", "tls", "none")


class MailSettingsError(FieldError):
    """``smtp:`` is wrong; the message names the field."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str  # the From address of digests
    security: str = "starttls"
    username: str | None = None
    password: str | None = None
    ca_file: Path | None = None  # a private CA to trust (tests, internal relays)
    timeout: float = 20.0

    def context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context


def smtp_settings(raw: Any, env: Mapping[str, str], home: Path) -> SmtpSettings | None:
    """Read ``smtp:`` (None when absent: digests then wait in the outbox)."""
    if raw is None:
        return None
    smtp = Fields(
        raw, "smtp", shape="a mapping (host, port, security, ...)", error=MailSettingsError
    )
    smtp.refuse_unknown(
        {"host", "port", "security", "username", "password_file", "from", "ca_file", "timeout"},
        hint="put the password in SMTP_PASSWORD or smtp.password_file",
    )
    host = str(smtp.text("host"))
    security = smtp.one_of("security", SECURITY, default="starttls")
    port = smtp.whole("port", 1, 65535, default=465 if security == "tls" else 587)
    sender = raw.get("from")
    if not isinstance(sender, str) or "@" not in parseaddr(sender)[1]:
        smtp.fail("from", "required, an e-mail address")
    password = env.get("SMTP_PASSWORD") or None
    password_file = env.get("SMTP_PASSWORD_FILE") or raw.get("password_file")
    if password is None and password_file:
        path = Path(password_file) if Path(password_file).is_absolute() else home / password_file
        try:
            password = path.read_text(encoding="utf-8").strip()
        except OSError:
            smtp.fail("password_file", f"cannot read {path}")
    ca_file = raw.get("ca_file")
    username = raw.get("username")
    return SmtpSettings(
        host=host,
        port=port,
        sender=sender,
        security=security,
        username=str(username) if username else None,
        password=password,
        ca_file=(home / ca_file) if ca_file else None,
        timeout=float(raw.get("timeout", 20)),
    )


def send(settings: SmtpSettings, recipient: str, message: bytes) -> None:
    """Hand one sealed message to the SMTP server; raises on any failure (the outbox retries)."""
    sender = parseaddr(settings.sender)[1]
    smtp: smtplib.SMTP
    if settings.security == "tls":
        smtp = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                context=settings.context())  # fmt: skip
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    with smtp:
        smtp.ehlo()
        if settings.security == "starttls":
            smtp.starttls(context=settings.context())
            smtp.ehlo()
        if settings.username:
            smtp.login(settings.username, settings.password or "")
        smtp.sendmail(sender, [recipient], message)
