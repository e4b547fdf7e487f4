"""SMS opt-outs: a number that replied STOP gets no SMS from that practice again.

One check, at the one place SMS leave the server
(:meth:`callcenter.notify.notices.SmsQueue.text`), so every sender honours it:
urgent notices, the data notice's link, appointment confirmations and
reminders, and whatever SMS a later feature adds to a queue.  START lifts it.

The number is stored encrypted with a blind index, per practice, like a
patient's.  The index is lossy on purpose (a bucket holds several numbers):
a lookup decrypts the bucket's opt-outs and compares the numbers, so a
neighbour's STOP never silences another number.  Functions take the
boundary's session and never commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from callcenter.core.phone_numbers import normalize
from callcenter.notify.models import SmsOptOut
from callcenter.security.crypto import FieldCipher


def _matching(
    session: Session, cipher: FieldCipher, practice_id: str, number: str, bits: int
) -> list[SmsOptOut]:
    """This practice's opt-outs of exactly ``number`` (the bucket's others dropped)."""
    e164 = normalize(number)
    if e164 is None:
        return []
    indexes = cipher.phone_index_all(e164, practice=practice_id, bits=bits)
    rows = session.scalars(
        select(SmsOptOut).where(
            SmsOptOut.practice_id == practice_id, SmsOptOut.phone_index.in_(indexes)
        )
    )
    return [row for row in rows if row.phone is not None and normalize(row.phone) == e164]


def is_opted_out(
    session: Session, cipher: FieldCipher, practice_id: str, number: str, bits: int
) -> bool:
    """Whether ``number`` replied STOP to this practice (and not START since)."""
    return bool(_matching(session, cipher, practice_id, number, bits))


def opt_out(
    session: Session, cipher: FieldCipher, practice_id: str, number: str, bits: int,
    now: datetime,
) -> bool:  # fmt: skip
    """Record a STOP; False when the number had opted out already (or is not a number)."""
    e164 = normalize(number)
    if e164 is None or _matching(session, cipher, practice_id, e164, bits):
        return False
    row = SmsOptOut(practice_id=practice_id, created_at=now)
    row.phone = e164
    row.phone_index = cipher.phone_index(e164, practice=practice_id, bits=bits)
    session.add(row)
    session.flush()
    return True


def opt_in(session: Session, cipher: FieldCipher, practice_id: str, number: str, bits: int) -> bool:
    """Lift a STOP (the patient replied START); False when there was none."""
    ids = [row.id for row in _matching(session, cipher, practice_id, number, bits)]
    if ids:
        session.execute(delete(SmsOptOut).where(SmsOptOut.id.in_(ids)))
    return bool(ids)
