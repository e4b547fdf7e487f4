"""Doctors' calendars: each doctor's appointments as an iCalendar feed at a secret URL.

The URL carries a random token; only its SHA-256 is stored, so a database
dump does not reveal working URLs, and revoking deletes nothing but the
feed's validity.  Events say the kind of appointment and never the patient's
name, unless the practice opts in (``appointments.ics_patient_names``): then
names are decrypted for the feed and each such read is audited.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from icalendar import Calendar, Event
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from callcenter.appointments.booking import BOOKED
from callcenter.appointments.models import Appointment, CalendarFeed
from callcenter.audit import trail as audit
from callcenter.config.practice import Practice
from callcenter.patients.models import Patient

PAST_DAYS = 30  # a feed shows the last month too, so a calendar keeps recent history
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_feed(session: Session, practice_id: str, doctor_id: str, now: datetime) -> str:
    """A new secret token for the doctor's feed (shown once; only its hash is kept)."""
    token = secrets.token_urlsafe(24)
    session.add(CalendarFeed(practice_id=practice_id, doctor_id=doctor_id,
                             token_hash=_hash(token), created_at=now))  # fmt: skip
    return token


def revoke_feeds(session: Session, practice_id: str, doctor_id: str, now: datetime) -> int:
    """Revoke every live feed of the doctor; how many."""
    result = session.execute(
        update(CalendarFeed)
        .where(CalendarFeed.practice_id == practice_id, CalendarFeed.doctor_id == doctor_id,
               CalendarFeed.revoked_at.is_(None))
        .values(revoked_at=now)
    )  # fmt: skip
    return int(result.rowcount)  # type: ignore[attr-defined]


def find_feed(session: Session, token: str) -> CalendarFeed | None:
    """The live feed a token opens, or None (malformed, unknown or revoked)."""
    if not _TOKEN.fullmatch(token):
        return None
    return session.scalars(
        select(CalendarFeed).where(
            CalendarFeed.token_hash == _hash(token), CalendarFeed.revoked_at.is_(None)
        )
    ).first()


def feed_calendar(session: Session, practice: Practice, feed: CalendarFeed, now: datetime) -> bytes:
    """The doctor's booked appointments from a month ago to the end of the horizon."""
    horizon = practice.appointments.horizon_days if practice.appointments else 30
    rows = session.scalars(
        select(Appointment)
        .where(
            Appointment.practice_id == practice.id,
            Appointment.doctor_id == feed.doctor_id,
            Appointment.status == BOOKED,
            Appointment.starts_at >= now - timedelta(days=PAST_DAYS),
            Appointment.starts_at < now + timedelta(days=horizon + 1),
        )
        .order_by(Appointment.starts_at)
    ).all()
    names: dict[str, str] = {}
    if practice.appointments is not None and practice.appointments.ics_patient_names and rows:
        ids = {r.patient_id for r in rows if r.patient_id}
        for patient in session.scalars(select(Patient).where(Patient.id.in_(ids))):
            names[patient.id] = patient.name or ""
        audit.append(session, actor="system:calendar", action="appointments.feed_names",
                     practice_id=practice.id, object_ref=feed.id,
                     details={"patients": len(names)}, now=now)  # fmt: skip
    return render(practice, feed.doctor_id, rows, names, now)


def render(
    practice: Practice,
    doctor_id: str,
    rows: Sequence[Appointment],
    names: dict[str, str],
    now: datetime,
) -> bytes:
    """An RFC 5545 calendar: one event per appointment, the kind as its summary."""
    doctor = next((d for d in practice.doctors if d.id == doctor_id), None)
    calendar = Calendar()
    calendar.add("prodid", "-//callcenter//appointments//FR")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"{practice.name} — {doctor.called if doctor else doctor_id}")
    calendar.add("x-wr-timezone", practice.timezone)
    for row in rows:
        event = Event()
        event.add("uid", f"{row.id}@callcenter")
        event.add("dtstamp", now)
        event.add("dtstart", row.starts_at)
        event.add("dtend", row.ends_at)
        summary = f"Rendez-vous ({row.kind})"
        name = names.get(row.patient_id or "")
        event.add("summary", f"{summary} — {name}" if name else summary)
        calendar.add_component(event)
    return bytes(calendar.to_ical())
