"""Appointment SMS to patients: a confirmation after booking, a reminder the day before.

Both are optional (the practice file's ``sms_confirmation`` and
``sms_reminder``) and minimal: the practice's name, the date and the time,
nothing else (no doctor, no reason).  They follow the urgent notices'
pattern (:mod:`callcenter.notify.notices`): an outbox row per (appointment, kind),
queued in the booking's transaction so a retried webhook queues nothing
twice, claimed with a conditional update so two workers never send the same
one, retried with back-off.  The number is read (decrypted) from the patient
only when sending, and each sending batch is audited.  A cancelled or moved
appointment's pending SMS is skipped, never sent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

import phonenumbers
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from callcenter.appointments.booking import BOOKED
from callcenter.appointments.models import Appointment, AppointmentSms
from callcenter.audit import trail as audit
from callcenter.config.practice import PracticeDirectory
from callcenter.config.prompts import Catalogue
from callcenter.core.logs import get_logger
from callcenter.core.spoken import spoken_datetime
from callcenter.core.twilio_rest import close_client
from callcenter.notify.notices import LEASE, QUEUED, SendReport, send_sms
from callcenter.patients.models import Patient
from callcenter.storage.db import Database, new_id

log = get_logger("callcenter.appointment_sms")

CONFIRMATION = "confirmation"
REMINDER = "reminder"
TEMPLATES = {CONFIRMATION: "sms_appointment_confirmation", REMINDER: "sms_appointment_reminder"}


def queue(
    session: Session, practice_id: str, appointment_id: str, kind: str, now: datetime
) -> bool:
    """Queue one SMS per (appointment, kind); whether it is new.  Does not commit."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(AppointmentSms).values(
        id=new_id(), practice_id=practice_id, appointment_id=appointment_id, kind=kind,
        status="pending", attempts=0, due_at=now,
    ).on_conflict_do_nothing(index_elements=["appointment_id", "kind"])  # fmt: skip
    added = bool(session.execute(statement).rowcount)  # type: ignore[attr-defined]
    if added:
        session.info[QUEUED] = True  # the web layer sends right after answering
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
    """Send the due SMS; a failure is retried later with back-off, never dropped silently."""
    report = SendReport()
    with db.session() as session:
        due = session.scalars(
            select(AppointmentSms)
            .where(AppointmentSms.status == "pending", AppointmentSms.due_at <= now)
            .order_by(AppointmentSms.due_at)
            .limit(limit)
        ).all()
        if not due:
            return report
        client = client_factory()
        try:
            for row in due:
                if _claim(session, row, now):
                    _send_one(session, client, row, practices, catalogues, now, report)
                    session.commit()
        finally:
            close_client(client)
        if report.sent:
            # The patients' numbers were decrypted outside a call: traced, as counts only.
            audit.append(session, actor="system:sms", action="appointments.sms_sent",
                         details={"sent": report.sent}, now=now)  # fmt: skip
    return report


def _claim(session: Session, row: AppointmentSms, now: datetime) -> bool:
    claimed = session.execute(
        update(AppointmentSms)
        .where(AppointmentSms.id == row.id, AppointmentSms.status == "pending",
               AppointmentSms.due_at <= now)
        .values(due_at=now + LEASE, attempts=AppointmentSms.attempts + 1)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    session.commit()  # visible to other workers before Twilio is called
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


def _send_one(
    session: Session,
    client: Any,
    row: AppointmentSms,
    practices: PracticeDirectory,
    catalogues: dict[str, Catalogue],
    now: datetime,
    report: SendReport,
) -> None:
    session.refresh(row)
    appointment = session.get(Appointment, row.appointment_id)
    practice = practices.by_id(row.practice_id)
    if appointment is None or appointment.status != BOOKED or practice is None:
        row.status, row.last_error = "skipped", "not-booked"
        return
    if row.kind == REMINDER and appointment.starts_at <= now:
        row.status, row.last_error = "skipped", "past"
        return
    patient = session.get(Patient, appointment.patient_id) if appointment.patient_id else None
    number = patient.phone if patient is not None else None
    if not number or not _is_mobile(number):
        row.status, row.last_error = "skipped", "no-mobile"
        return
    body = catalogues[practice.id].text(
        TEMPLATES[row.kind],
        {"practice_name": practice.name,
         "when": spoken_datetime(appointment.starts_at.astimezone(practice.tz))},
    )  # fmt: skip
    if send_sms(client, row, to=number, from_=practice.number, body=body, now=now,
                report=report, event="appointment_sms"):  # fmt: skip
        log.info("appointment_sms_sent", sms=row.id, kind=row.kind, message_sid=row.message_sid)


def _is_mobile(e164: str) -> bool:
    """Only mobiles receive SMS; a landline is skipped rather than failed eight times."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return False
    kind = phonenumbers.number_type(number)
    return kind in (phonenumbers.PhoneNumberType.MOBILE,
                    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)  # fmt: skip
