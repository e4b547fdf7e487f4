"""Booking and cancelling from a practice software, through the phone's conditional writes.

A create is refused unless its start is one the phone would offer for that
doctor and kind at that moment (hours, closures, notice, horizon), then
taken by :func:`callcenter.appointments.booking.book`: the same single
conditional insert as the phone, so a FHIR client and a caller can never get
the same slot.  A cancel is :func:`~callcenter.appointments.booking.release`,
which changes nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from callcenter.agenda import sync as agenda
from callcenter.appointments import booking, sms
from callcenter.appointments.models import Appointment
from callcenter.config.practice import Practice
from callcenter.config.schedules import SlotQuery, booking_window, free_slots
from callcenter.fhir.reads import doctor
from callcenter.patients.models import Patient


class Refused(Exception):
    """A refused write: ``code`` is the OperationOutcome's issue code, ``status`` HTTP's."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


@dataclass(frozen=True)
class Request:
    """What a create asks for, read from the Appointment resource."""

    doctor_id: str
    patient_id: str
    start: datetime
    kind: str | None
    minutes: int | None


def _reference(participants: list[Any], kind: str) -> str | None:
    for participant in participants:
        actor = participant.get("actor") if isinstance(participant, dict) else None
        ref = actor.get("reference") if isinstance(actor, dict) else None
        if isinstance(ref, str) and ref.startswith(kind + "/"):
            return ref.removeprefix(kind + "/")
    return None


def read_request(resource: Any) -> Request:
    """The doctor, patient, start and kind of an Appointment to create; 400/422 otherwise."""
    if not isinstance(resource, dict) or resource.get("resourceType") != "Appointment":
        raise Refused(400, "invalid", "the body must be an Appointment resource (JSON)")
    if resource.get("status", "booked") != "booked":
        raise Refused(422, "business-rule", "a new appointment has status 'booked'")
    participants = resource.get("participant")
    if not isinstance(participants, list):
        raise Refused(422, "required", "participant: a Practitioner and a Patient are required")
    doctor_id, patient_id = (
        _reference(participants, "Practitioner"),
        _reference(participants, "Patient"),
    )
    if doctor_id is None or patient_id is None:
        raise Refused(422, "required", "participant: a Practitioner and a Patient are required")
    try:
        start = datetime.fromisoformat(str(resource.get("start", "")).replace("Z", "+00:00"))
    except ValueError:
        raise Refused(422, "required", "start: an instant is required") from None
    if start.tzinfo is None:
        raise Refused(422, "invalid", "start: the instant needs its offset")
    kind = None
    services = resource.get("serviceType")
    if isinstance(services, list) and services and isinstance(services[0], dict):
        codings = [c for c in services[0].get("coding") or [] if isinstance(c, dict)]
        kind = services[0].get("text") or next((c.get("code") for c in codings), None)
    minutes = resource.get("minutesDuration")
    return Request(
        doctor_id, patient_id, start, kind, minutes if isinstance(minutes, int) else None
    )


def create(session: Session, practice: Practice, resource: Any, now: datetime) -> Appointment:
    """Book the appointment the resource describes; :class:`Refused` says why not."""
    wanted = read_request(resource)
    rules = practice.appointments
    schedule = doctor(practice, wanted.doctor_id)
    if rules is None or schedule is None:
        raise Refused(422, "not-found", "Practitioner: not a doctor who takes appointments here")
    patient = session.get(Patient, wanted.patient_id)
    if patient is None or patient.practice_id != practice.id:
        raise Refused(422, "not-found", "Patient: no such patient at this practice")
    kind = rules.kinds.get(wanted.kind) if wanted.kind else rules.kind_for(schedule, False)
    if kind is None or kind.id not in schedule.kinds:
        raise Refused(422, "code-invalid", "serviceType: not a kind this doctor books")
    if wanted.minutes is not None and wanted.minutes != kind.minutes:
        raise Refused(422, "business-rule", f"minutesDuration: {kind.id} lasts {kind.minutes}")
    _, horizon = booking_window(rules, now, practice.tz)
    taken = booking.taken_cells(session, practice.id, schedule.doctor_id, now, horizon)
    busy = agenda.busy_between(session, practice.id, schedule.doctor_id, now, horizon)
    day = wanted.start.astimezone(practice.tz).date()
    offered = free_slots(
        rules, schedule, kind, now=now, tz=practice.tz, closed=practice.closed_on,
        taken=taken, query=SlotQuery(day=day), limit=500, busy=busy,
    )  # fmt: skip
    if wanted.start not in offered:
        raise Refused(409, "conflict", "start: not a free start for this doctor and kind")
    new_id = booking.book(
        session, practice_id=practice.id, doctor_id=schedule.doctor_id, patient_id=patient.id,
        starts_at=wanted.start, minutes=kind.minutes, slot_minutes=schedule.slot_minutes,
        kind=kind.id, now=now,
    )  # fmt: skip
    if new_id is None:  # taken between the check and the insert
        raise Refused(409, "conflict", "start: this slot was just taken")
    if rules.sms_confirmation:  # the patient hears of it as when booking by phone
        sms.queue(session, practice.id, new_id, sms.CONFIRMATION, now)
    row = session.get(Appointment, new_id)
    assert row is not None
    return row


def cancel(session: Session, row: Appointment, now: datetime) -> bool:
    """Cancel and free the slot; False when it was not booked any more (nothing changed)."""
    changed = booking.release(session, row.id, None, booking.CANCELLED, now)
    session.refresh(row)
    return changed


def wanted_status(body: Any, row: Appointment) -> str:
    """The status a PUT (an Appointment) or a JSON Patch asks for; only that may change."""
    if isinstance(body, list):  # JSON Patch: [{"op": "replace", "path": "/status", "value": ...}]
        if len(body) != 1 or not isinstance(body[0], dict) or body[0].get("path") != "/status" \
                or body[0].get("op") not in ("replace", "add"):  # fmt: skip
            raise Refused(422, "not-supported", "only a replace of /status can be patched")
        return str(body[0].get("value"))
    if not isinstance(body, dict) or body.get("resourceType") != "Appointment":
        raise Refused(400, "invalid", "the body must be an Appointment resource (JSON)")
    if body.get("id") not in (None, row.id):
        raise Refused(400, "invalid", "id: does not match the URL")
    return str(body.get("status"))
