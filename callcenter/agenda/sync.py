"""Reading the doctors' calendars into busy time, and noticing changes to our own events.

Each run asks the server only what changed since the last one: a sync
token when the server keeps them, else the events' ETags compared with
those stored.  A changed event is fetched and its occurrences (recurring
ones expanded with ``recurring-ical-events``, all-day ones as whole days in
the practice's time zone) replace its busy rows.  Events this server wrote
(their UID is ``<appointment id>@callcenter``, as in the ICS feed) are not
busy time, they are the appointments themselves: one deleted or moved in
the calendar is handed back as a :class:`Change` for the booking code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import recurring_ical_events
from icalendar import Calendar
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from callcenter.agenda.dav import Dav, TokenRefused
from callcenter.agenda.models import BusyTime, CalendarEvent, LinkedCalendar
from callcenter.config.calendar_link import CalendarLink
from callcenter.config.practice import Practice

#: Recurring events are expanded this far ahead (the longest horizon is a year)...
EXPAND_AHEAD = timedelta(days=400)
#: ... and everything is read again once less than this is left.
EXPAND_MARGIN = timedelta(days=370)
OURS = re.compile(r"^([0-9a-f]{32})@callcenter$")


@dataclass(frozen=True)
class Change:
    """An event of ours changed in the calendar: moved (new times) or deleted (None)."""

    appointment_id: str
    starts_at: datetime | None
    ends_at: datetime | None


def linked(practices: Iterable[Practice]) -> list[tuple[Practice, str, CalendarLink]]:
    """Every doctor whose practice file names a calendar."""
    found = []
    for practice in practices:
        rules = practice.appointments
        for doctor in rules.doctors.values() if rules else ():
            if doctor.calendar is not None:
                found.append((practice, doctor.doctor_id, doctor.calendar))
    return found


def link_calendars(session: Session, practices: Iterable[Practice]) -> None:
    """Make the linked-calendar rows match the practice files.

    A calendar whose URL changed starts again from nothing; one no longer
    named loses its rows (its busy time is not ours to keep).
    """
    wanted = {(p.id, d): link for p, d, link in linked(practices)}
    for row in session.scalars(select(LinkedCalendar)).all():
        link = wanted.get((row.practice_id, row.doctor_id))
        if link is None or link.url != row.url:
            _forget(session, row.practice_id, row.doctor_id)
            session.delete(row)
    session.flush()
    for (practice_id, doctor_id), link in wanted.items():
        if session.get(LinkedCalendar, (practice_id, doctor_id)) is None:
            session.add(LinkedCalendar(practice_id=practice_id, doctor_id=doctor_id, url=link.url))
    session.flush()


def _forget(session: Session, practice_id: str, doctor_id: str, href: str | None = None) -> None:
    for model in (BusyTime, CalendarEvent):
        table: Any = model
        conditions = [table.practice_id == practice_id, table.doctor_id == doctor_id]
        if href is not None:
            conditions.append(table.href == href)
        session.execute(delete(model).where(*conditions))


def _forget_busy(session: Session, practice_id: str, doctor_id: str, href: str) -> None:
    session.execute(
        delete(BusyTime).where(
            BusyTime.practice_id == practice_id,
            BusyTime.doctor_id == doctor_id,
            BusyTime.href == href,
        )
    )


def busy_between(
    session: Session, practice_id: str, doctor_id: str, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The doctor's busy intervals that overlap ``start`` – ``end``."""
    rows = session.execute(
        select(BusyTime.starts_at, BusyTime.ends_at).where(
            BusyTime.practice_id == practice_id,
            BusyTime.doctor_id == doctor_id,
            BusyTime.starts_at < end,
            BusyTime.ends_at > start,
        )
    )
    return [(first, last) for first, last in rows]


def has_calendar(session: Session, practice_id: str, doctor_id: str) -> bool:
    return session.get(LinkedCalendar, (practice_id, doctor_id)) is not None


def sync_calendar(
    session: Session, practice: Practice, doctor_id: str, link: CalendarLink, dav: Dav,
    now: datetime,
) -> list[Change]:  # fmt: skip
    """Bring one doctor's busy time up to date; the changes made to our own events."""
    calendar = session.get_one(LinkedCalendar, (practice.id, doctor_id))
    if link.busy == "freebusy":  # no events to follow: the server's answer replaces ours
        periods = dav.freebusy(now - timedelta(days=1), now + EXPAND_AHEAD)
        _forget(session, practice.id, doctor_id)
        session.add_all(
            BusyTime(practice_id=practice.id, doctor_id=doctor_id, href="", starts_at=first,
                     ends_at=last)
            for first, last in periods
        )  # fmt: skip
        calendar.synced_at = now
        return []
    known = {
        e.href: e
        for e in session.scalars(
            select(CalendarEvent).where(
                CalendarEvent.practice_id == practice.id, CalendarEvent.doctor_id == doctor_id
            )
        )
    }
    reload = calendar.expanded_until is None or calendar.expanded_until < now + EXPAND_MARGIN
    delta = None
    if calendar.sync_token and not reload:
        try:
            delta = dav.changes(calendar.sync_token)
        except TokenRefused:
            delta = None
    if delta is None:  # first run, forgotten token or a window to extend: compare ETags
        delta = dav.listing()
        delta.deleted = set(known) - set(delta.changed)
        if not reload:
            delta.changed = {h: tag for h, tag in delta.changed.items()
                             if h not in known or tag is None or known[h].etag != tag}  # fmt: skip
    changes: list[Change] = []
    window = (now - timedelta(days=1), now + EXPAND_AHEAD)
    for href in sorted(delta.deleted):
        changes.extend(_gone(session, known.get(href)))
        _forget(session, practice.id, doctor_id, href)
    for href in sorted(delta.changed):
        resource, etag = dav.fetch(href)
        if resource is None:
            changes.extend(_gone(session, known.get(href)))
            _forget(session, practice.id, doctor_id, href)
            continue
        changes.extend(_store(session, practice, doctor_id, href, etag, resource, known.get(href),
                              window))  # fmt: skip
    calendar.sync_token = delta.token
    calendar.synced_at = now
    if reload:
        calendar.expanded_until = window[1]
    session.flush()
    return changes


def _gone(session: Session, event: CalendarEvent | None) -> list[Change]:
    if event is not None and event.appointment_id:
        return [Change(event.appointment_id, None, None)]
    return []


def _store(
    session: Session,
    practice: Practice,
    doctor_id: str,
    href: str,
    etag: str | None,
    resource: Calendar,
    event: CalendarEvent | None,
    window: tuple[datetime, datetime],
) -> list[Change]:
    """Record one fetched event resource: its busy time, or the move of one of ours."""
    _forget_busy(session, practice.id, doctor_id, href)
    if event is None:
        event = CalendarEvent(practice_id=practice.id, doctor_id=doctor_id, href=href)
        session.add(event)
    event.etag = etag
    first = next(iter(resource.walk("VEVENT")), None)
    ours = OURS.match(str(first.get("UID", ""))) if first is not None else None
    if ours is not None and first is not None:
        start = _instant(first.decoded("DTSTART"), practice.tz)
        end = _instant(first.decoded("DTEND"), practice.tz) if "DTEND" in first else None
        moved = event.starts_at is not None and (event.starts_at, event.ends_at) != (start, end)
        event.appointment_id, event.starts_at, event.ends_at = ours.group(1), start, end
        return [Change(ours.group(1), start, end)] if moved else []
    event.appointment_id = None
    for occurrence in recurring_ical_events.of(resource).between(*window):
        if str(occurrence.get("TRANSP", "")).upper() == "TRANSPARENT":
            continue  # shown as free by its owner
        if str(occurrence.get("STATUS", "")).upper() == "CANCELLED":
            continue
        start = _instant(occurrence.decoded("DTSTART"), practice.tz)
        end = _end(occurrence, start, practice.tz)
        if end > start:
            session.add(BusyTime(practice_id=practice.id, doctor_id=doctor_id, href=href,
                                 starts_at=start, ends_at=end))  # fmt: skip
    return []


def _instant(value: date | datetime, tz: ZoneInfo) -> datetime:
    """A UTC instant: a floating time or a whole day is read in the practice's time zone."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0))
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def _end(occurrence: Any, start: datetime, tz: ZoneInfo) -> datetime:
    if "DTEND" in occurrence:
        return _instant(occurrence.decoded("DTEND"), tz)
    begins = occurrence.decoded("DTSTART")
    if "DURATION" in occurrence:
        return start + occurrence.decoded("DURATION")
    # RFC 5545: no end and no duration lasts a day for a date, an instant for a time.
    return _instant(begins + timedelta(days=1), tz) if not isinstance(begins, datetime) else start
