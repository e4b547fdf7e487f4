"""The SMS that tells a patient their request was handled, and nothing more.

Its text (``sms_request_handled`` in the prompt catalogue) names the practice
only: never the kind of request, the medication, the results or the patient.
It follows the appointment SMS' pattern (:mod:`callcenter.appointments.sms`):
one row per request, queued in the console action's transaction (a second
click queues nothing), sent after the answer through the shared SMS queue,
retried with back-off.  It goes to the request's call-back number (the
number the caller called from, or the one a withheld caller keyed); a
landline or no number is skipped, not failed.  Each sending batch is audited.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from callcenter.config.practice import PracticeDirectory
from callcenter.config.prompts import Catalogue
from callcenter.core.logs import get_logger
from callcenter.core.phone_numbers import is_mobile
from callcenter.notify.notices import SENT, SendReport, SmsQueue, send_audited
from callcenter.patient_requests.models import PatientRequest, RequestSms
from callcenter.patients.models import Patient
from callcenter.storage.db import Database, new_id
from callcenter.storage.insert_once import insert_once
from callcenter.storage.unit_of_work import Task, after_commit

log = get_logger("callcenter.request_sms")

TEMPLATE = "sms_request_handled"


def queue_handled(session: Session, request: PatientRequest, now: datetime) -> bool:
    """Queue the request's one SMS; whether it is new.  Does not commit."""
    values = {
        "id": new_id(), "practice_id": request.practice_id, "request_id": request.id,
        "status": "pending", "attempts": 0, "due_at": now,
    }  # fmt: skip
    added = insert_once(session, RequestSms, values, ("request_id",))
    if added:
        after_commit(session, Task.SEND_SMS)  # the boundary sends it after answering
    return added


def send_due(
    db: Database,
    practices: PracticeDirectory,
    catalogues: dict[str, Catalogue],
    client_factory: Callable[[], Any],
    now: datetime,
    limit: int = 20,
) -> SendReport:
    """Send the due "request handled" SMS (see ``notices.send_audited``)."""
    queue = _Sms(practices, catalogues)
    return send_audited(db, queue, client_factory, now, limit, "requests.sms_sent")


class _Sms(SmsQueue[RequestSms]):
    model, event = RequestSms, "request_sms"

    def send(self, session: Session, row: RequestSms, now: datetime) -> str:
        request = session.get(PatientRequest, row.request_id)
        practice = self.practices.by_id(row.practice_id)
        if request is None or practice is None:
            return self.skip(row, "gone")
        number = request.callback_number
        if not number and request.patient_id:
            patient = session.get(Patient, request.patient_id)
            number = patient.phone if patient is not None else None
        if not number or not is_mobile(number):
            return self.skip(row, "no-mobile")
        body = self.catalogues[practice.id].text(TEMPLATE, {"practice_name": practice.name})
        self.text(row, to=number, from_=practice.number, body=body, now=now)
        log.info("request_sms_sent", sms=row.id, message_sid=row.message_sid)
        return SENT
