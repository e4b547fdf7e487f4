"""ANNULER: a patient cancels, by SMS, the appointment a reminder told them of.

The sender's number finds its patients through the blind index (the
bucket's other numbers dropped after decryption); among their upcoming
booked appointments, only those whose reminder was sent count, and of
those the one reminded most recently is cancelled (a reply answers the
last SMS received).  The cancellation takes the phone's own path
(:func:`callcenter.appointments.booking.release`): the cells are freed at
once, the doctor's calendar hears of it, and the appointment records that
it came by SMS, for the statistics and the digests.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.appointments import booking
from callcenter.appointments.models import Appointment, AppointmentSms
from callcenter.appointments.sms import REMINDER
from callcenter.config.practice import Practice
from callcenter.core.spoken import spoken_datetime
from callcenter.notify.notices import SENT
from callcenter.patients.identification import find_candidates
from callcenter.replies.dispatch import Prompt
from callcenter.security.crypto import FieldCipher


def cancel_reminded(
    session: Session, cipher: FieldCipher, practice: Practice, sender: str, now: datetime
) -> Prompt | None:
    """Cancel the sender's most recently reminded upcoming appointment; None when none."""
    patients = find_candidates(session, cipher, practice.id, sender, practice.blind_index_bits)
    if not patients:
        return None
    reminded = session.scalars(
        select(Appointment)
        .join(AppointmentSms, AppointmentSms.appointment_id == Appointment.id)
        .where(
            Appointment.practice_id == practice.id,
            Appointment.patient_id.in_([p.id for p in patients]),
            Appointment.status == booking.BOOKED,
            Appointment.starts_at > now,
            AppointmentSms.kind == REMINDER,
            AppointmentSms.status == SENT,
        )
        .order_by(AppointmentSms.sent_at.desc(), Appointment.starts_at)
        .limit(1)
    ).first()
    if reminded is None or not booking.release(
        session, reminded.id, reminded.patient_id, booking.CANCELLED, now, via=booking.VIA_SMS
    ):
        return None
    return "sms_reply_cancelled", {
        "when": spoken_datetime(reminded.starts_at.astimezone(practice.tz))
    }
