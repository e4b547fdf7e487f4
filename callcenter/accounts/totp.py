"""The second factor: TOTP (RFC 6238) enrolled with a QR code, each code used once.

A code is accepted for its 30-second step and one step either side (clock
drift); the step accepted is stored, so the same code, or an earlier one, is
refused afterwards.  The secret is stored encrypted.
"""

from __future__ import annotations

import io
from datetime import datetime

import pyotp
import qrcode
import qrcode.image.svg

from callcenter.accounts.models import ConsoleUser

ISSUER = "callcenter"
DRIFT_STEPS = 1


def start_enrolment(user: ConsoleUser) -> str:
    """Give the account a fresh secret to enrol (replacing an unconfirmed one)."""
    secret = pyotp.random_base32()
    user.totp_secret = secret
    user.totp_enrolled = False
    user.totp_last_step = None
    return secret


def provisioning_uri(user: ConsoleUser, secret: str, issuer: str = ISSUER) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The provisioning URI as an inline SVG QR code (no image request, no JavaScript)."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    out = io.BytesIO()
    image.save(out)
    svg = out.getvalue().decode()
    return svg[svg.index("<svg") :]


def accept(user: ConsoleUser, code: str, now: datetime) -> str:
    """Check a code; returns "ok", "wrong" or "reused" and records the step when ok."""
    secret = user.totp_secret
    code = code.strip().replace(" ", "")
    if not secret or not (code.isdigit() and len(code) == 6):
        return "wrong"
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if pyotp.utils.strings_equal(totp.generate_otp(step), code):
            if user.totp_last_step is not None and step <= user.totp_last_step:
                return "reused"
            user.totp_last_step = step
            return "ok"
    return "wrong"
