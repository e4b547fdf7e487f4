"""Writing bookings to the doctors' calendars: a work queue of events to put or delete.

Booking, moving or cancelling queues the appointment's latest state here
and asks for the queue to run once the transaction commits, so the event
is in the calendar within seconds.  The booking never waits on the
calendar: it is confirmed by the local tables (the only guard against
double booking), and a server that is down gets the write later, retried
with a growing delay.

The event says "Rendez-vous (téléphone)", the kind and a short reference;
the patient's name only when the practice turns it on
(``appointments.calendar_patient_names``), each such write audited.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from icalendar import Calendar, Event
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from callcenter.agenda.dav import Dav, DavError
from callcenter.agenda.models import CalendarWrite
from callcenter.agenda.sync import has_calendar
from callcenter.audit import trail as audit
from callcenter.config.calendar_link import CalendarLink
from callcenter.config.practice import PracticeDirectory
from callcenter.notify.workqueue import FAILED, Backoff, Failed, WorkQueue
from callcenter.patients.models import Patient
from callcenter.storage.db import Database
from callcenter.storage.unit_of_work import Task, after_commit

PUT, DELETE = "put", "delete"
SENT, DROPPED = "sent", "dropped"
SUMMARY = "Rendez-vous (téléphone)"


def queue(
    session: Session,
    *,
    practice_id: str,
    doctor_id: str,
    appointment_id: str,
    action: str,
    starts_at: datetime,
    ends_at: datetime,
    kind: str,
    patient_id: str | None,
    now: datetime,
) -> bool:
    """Queue the appointment's event (``put``) or its removal (``delete``); False when the
    doctor has no linked calendar.  A row already queued is rewritten: the latest wins."""
    if not has_calendar(session, practice_id, doctor_id):
        return False
    row = session.scalar(
        select(CalendarWrite).where(CalendarWrite.appointment_id == appointment_id)
    )
    if row is None:
        row = CalendarWrite(practice_id=practice_id, doctor_id=doctor_id,
                            appointment_id=appointment_id)  # fmt: skip
        session.add(row)
    row.action, row.starts_at, row.ends_at, row.kind = action, starts_at, ends_at, kind
    row.patient_id, row.status, row.attempts, row.due_at = patient_id, "pending", 0, now
    row.last_error = None
    after_commit(session, Task.WRITE_CALENDAR)
    return True


def unqueue(session: Session, appointment_id: str) -> None:
    """Drop the write queued for a booking undone in the same transaction: nothing to send."""
    session.execute(delete(CalendarWrite).where(CalendarWrite.appointment_id == appointment_id))


def event_name(appointment_id: str) -> str:
    """The event's resource name in the calendar collection (stable: a rewrite replaces it)."""
    return f"callcenter-{appointment_id}.ics"


def reference(appointment_id: str) -> str:
    """A short reference the practice can search for (the appointment id's start)."""
    return appointment_id[:8].upper()


def render(row: CalendarWrite, name: str | None, now: datetime) -> bytes:
    """The event's iCalendar text: its kind and reference, and the name only when given."""
    calendar = Calendar()
    calendar.add("prodid", "-//callcenter//agenda//FR")
    calendar.add("version", "2.0")
    event = Event()
    event.add("uid", f"{row.appointment_id}@callcenter")
    event.add("dtstamp", now)
    event.add("dtstart", row.starts_at)
    event.add("dtend", row.ends_at)
    event.add("summary", f"{SUMMARY} — {name}" if name else SUMMARY)
    event.add("description", f"{row.kind}\nRéférence : {reference(row.appointment_id)}")
    calendar.add_component(event)
    return bytes(calendar.to_ical())


class _Writes(WorkQueue[CalendarWrite]):
    """Each row: PUT the event, or DELETE it, at the doctor's calendar."""

    model = CalendarWrite
    event = "calendar_write"
    lease = timedelta(minutes=2)
    backoff = Backoff(first=timedelta(minutes=1), doublings=5, ceiling=timedelta(minutes=30))
    max_attempts = None  # a calendar down for a day still gets every booking

    def __init__(
        self, links: Callable[[str, str], CalendarLink | None], names: Callable[[str], bool]
    ) -> None:
        self.links = links
        self.names = names  # whether a practice puts patients' names in the events

    def send(self, session: Session, row: CalendarWrite, now: datetime) -> str:
        link = self.links(row.practice_id, row.doctor_id)
        if link is None:  # unlinked since: nothing to write to
            row.status = DROPPED
            return DROPPED
        name = None
        if row.action == PUT and row.patient_id and self.names(row.practice_id):
            patient = session.get(Patient, row.patient_id)
            name = patient.name if patient is not None else None
        try:
            with Dav(link) as dav:
                href = dav.href(event_name(row.appointment_id))
                if row.action == PUT:
                    dav.put(href, render(row, name, now))
                else:
                    dav.delete(href)
        except (DavError, LookupError) as exc:
            raise Failed(exc.code if isinstance(exc, DavError) else "password") from None
        if name:
            audit.append(session, actor="system:calendar", action="agenda.event_name",
                         practice_id=row.practice_id, object_ref=row.appointment_id,
                         now=now)  # fmt: skip
        row.status, row.sent_at = SENT, now
        return SENT


@dataclass
class WriteReport:
    sent: int = 0
    failed: int = 0


def send_due(db: Database, practices: PracticeDirectory, now: datetime, limit: int = 100,
             ) -> WriteReport:  # fmt: skip
    """Send the due calendar writes, one claimed row at a time."""

    def link(practice_id: str, doctor_id: str) -> CalendarLink | None:
        practice = practices.by_id(practice_id)
        rules = practice.appointments if practice else None
        doctor = rules.doctors.get(doctor_id) if rules else None
        return doctor.calendar if doctor else None

    def names(practice_id: str) -> bool:
        practice = practices.by_id(practice_id)
        return bool(practice and practice.appointments
                    and practice.appointments.calendar_patient_names)  # fmt: skip

    writes = _Writes(link, names)
    with db.session() as session:
        outcomes = writes.process(session, writes.due(session, now, limit), now)
    return WriteReport(sent=outcomes[SENT], failed=outcomes[FAILED])
