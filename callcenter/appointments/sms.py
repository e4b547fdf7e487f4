"""Appointment SMS to patients: a confirmation after booking, a reminder the day before.

Both are optional (the practice file's ``sms_confirmation`` and
``sms_reminder``) and minimal: the practice's name, the date and the time,
nothing else (no doctor, no reason).  They follow the urgent notices'
pattern (:mod:`callcenter.notify.notices`): an outbox row per (appointment,
kind), queued in the booking's transaction so a retried webhook queues
nothing twice, then sent through the shared work queue
(:mod:`callcenter.notify.workqueue`), retried with back-off.  The number is
read (decrypted) from the patient only when sending, and each sending batch
is audited.  A cancelled or moved appointment's pending SMS is skipped,
never sent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.appointments.booking import BOOKED
from callcenter.appointments.models import Appointment, AppointmentSms
from callcenter.config.practice import PracticeDirectory
from callcenter.config.prompts import Catalogue
from callcenter.core.logs import get_logger
from callcenter.core.phone_numbers import is_mobile
from callcenter.core.spoken import spoken_datetime
from callcenter.notify.notices import SENT, SendReport, SmsQueue, send_audited
from callcenter.patients.models import Patient
from callcenter.storage.db import Database, new_id
from callcenter.storage.insert_once import insert_once
from callcenter.storage.unit_of_work import Task, after_commit

log = get_logger("callcenter.appointment_sms")

CONFIRMATION = "confirmation"
REMINDER = "reminder"
#: Status (and outcome, counted in no report) of an SMS that must not go: the
#: appointment was cancelled or moved, or is past, or the patient has no mobile.
TEMPLATES = {CONFIRMATION: "sms_appointment_confirmation", REMINDER: "sms_appointment_reminder"}


def queue(
    session: Session, practice_id: str, appointment_id: str, kind: str, now: datetime
) -> bool:
    """Queue one SMS per (appointment, kind); whether it is new.  Does not commit."""
    values = {
        "id": new_id(), "practice_id": practice_id, "appointment_id": appointment_id,
        "kind": kind, "status": "pending", "attempts": 0, "due_at": now,
    }  # fmt: skip
    added = insert_once(session, AppointmentSms, values, ("appointment_id", "kind"))
    if added:
        after_commit(session, Task.SEND_SMS)  # the boundary sends it after answering
    return added


def queue_reminders(session: Session, practices: PracticeDirectory, now: datetime) -> int:
    """Queue tomorrow's reminders once the practice's reminder time has come; how many."""
    queued = 0
    for practice in practices:
        rules = practice.appointments
        local = now.astimezone(practice.tz)
        if rules is None or not rules.sms_reminder or local.time() < rules.reminder_time:
            continue
        tomorrow = datetime.combine(local.date() + timedelta(days=1), time(0), practice.tz)
        due = session.scalars(
            select(Appointment.id).where(
                Appointment.practice_id == practice.id,
                Appointment.status == BOOKED,
                Appointment.starts_at >= tomorrow,
                Appointment.starts_at < tomorrow + timedelta(days=1),
            )
        ).all()
        queued += sum(queue(session, practice.id, a, REMINDER, now) for a in due)
    return queued


def send_due(
    db: Database,
    practices: PracticeDirectory,
    catalogues: dict[str, Catalogue],
    client_factory: Callable[[], Any],
    now: datetime,
    limit: int = 20,
) -> SendReport:
    """Send the due confirmations and reminders (see ``notices.send_audited``)."""
    queue = _Sms(practices, catalogues)
    return send_audited(db, queue, client_factory, now, limit, "appointments.sms_sent")


class _Sms(SmsQueue[AppointmentSms]):
    model, event = AppointmentSms, "appointment_sms"

    def send(self, session: Session, row: AppointmentSms, now: datetime) -> str:
        appointment = session.get(Appointment, row.appointment_id)
        practice = self.practices.by_id(row.practice_id)
        if appointment is None or appointment.status != BOOKED or practice is None:
            return self.skip(row, "not-booked")
        if row.kind == REMINDER and appointment.starts_at <= now:
            return self.skip(row, "past")
        patient = session.get(Patient, appointment.patient_id) if appointment.patient_id else None
        number = patient.phone if patient is not None else None
        if not number or not is_mobile(number):
            return self.skip(row, "no-mobile")
        body = self.catalogues[practice.id].text(
            TEMPLATES[row.kind],
            {"practice_name": practice.name,
             "when": spoken_datetime(appointment.starts_at.astimezone(practice.tz))},
        )  # fmt: skip
        self.text(row, to=number, from_=practice.number, body=body, now=now)
        log.info("appointment_sms_sent", sms=row.id, kind=row.kind, message_sid=row.message_sid)
        return SENT
