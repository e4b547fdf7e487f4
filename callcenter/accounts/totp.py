"""The second factor: TOTP (RFC 6238) enrolled with a QR code, each code used once.

A code is accepted for its 30-second step and one step either side (clock
drift); the step accepted is stored, so the same code, or an earlier one, is
refused afterwards.  Storing it is one conditional UPDATE (only if the step is
later than the last one used) whose row count decides: two requests with the
same code at the same moment cannot both succeed.  The secret is stored encrypted.
"""

from __future__ import annotations

import io
from datetime import datetime

import pyotp
import qrcode
import qrcode.image.svg
from sqlalchemy import or_, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

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


def accept(session: Session, user: ConsoleUser, code: str, now: datetime) -> str:
    """Check a code; returns "ok", "wrong" or "reused" and records the step when ok."""
    secret = user.totp_secret
    code = code.strip().replace(" ", "")
    if not secret or not (code.isdigit() and len(code) == 6):
        return "wrong"
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if pyotp.utils.strings_equal(totp.generate_otp(step), code):
            return "ok" if _use_step(session, user, step) else "reused"
    return "wrong"


def _use_step(session: Session, user: ConsoleUser, step: int) -> bool:
    """Record ``step`` as used unless it (or a later one) already is: True when recorded."""
    last = ConsoleUser.totp_last_step
    done = session.execute(
        update(ConsoleUser)
        .where(ConsoleUser.id == user.id, or_(last.is_(None), last < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        return False
    set_committed_value(user, "totp_last_step", step)  # the loaded row says what the table says
    return True
