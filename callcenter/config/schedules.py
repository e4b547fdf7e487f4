"""Doctors' consultation schedules and the free slots they leave.

Read from the practice file's ``appointments:`` section with precise errors
(each names its field), then used by pure functions: :func:`free_slots` is a
function of the schedule, the cells already taken and ``now``, so it is
tested without a database or a clock.

A doctor's week is cut into cells of ``slot_minutes`` from the start of each
session; an appointment of a kind lasting ``minutes`` (a multiple of the
cell) holds that many consecutive cells inside one session.  Holding cells,
not start times, is what makes a 40-minute first consultation and a
20-minute one unable to overlap (see :mod:`callcenter.appointments.booking`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from callcenter.config.calendar_link import CalendarLink, parse_calendar
from callcenter.config.staff import Sessions, StaffError, parse_clock, parse_hours
from callcenter.core.french import humanised
from callcenter.core.yaml_fields import Fields

MORNING_ENDS = time(12, 0)  # "matin" is before noon, "après-midi" from noon
HALVES = ("morning", "afternoon")


@dataclass(frozen=True)
class Kind:
    """A kind of appointment ("consultation", "premiere-consultation") and its length."""

    id: str
    minutes: int
    new_patients: bool = False  # the kind booked for a patient registered during the call
    label: str = ""  # how screens and digests name it ("Première consultation")

    @property
    def title(self) -> str:
        """The label, or the id made readable when the practice file gives none."""
        return self.label or humanised(self.id)


@dataclass(frozen=True)
class DoctorSchedule:
    doctor_id: str
    slot_minutes: int
    week: dict[int, Sessions]
    kinds: tuple[str, ...]
    absences: tuple[tuple[date, date], ...] = ()  # inclusive ranges
    calendar: CalendarLink | None = None  # the doctor's own CalDAV calendar, synced both ways

    def absent(self, day: date) -> bool:
        return any(first <= day <= last for first, last in self.absences)


@dataclass(frozen=True)
class WaitingListRules:
    """The waiting list (``appointments.waiting_list``): how a freed slot is offered by SMS."""

    offer_minutes: int = 30  # how long an offer waits for OUI
    offer_to: int = 3  # how many entries one freed slot is offered to at once (first OUI wins)


@dataclass(frozen=True)
class BookingRules:
    """The practice's ``appointments:`` section, validated."""

    doctors: dict[str, DoctorSchedule]  # in the order of the practice's doctors: key 1 first
    kinds: dict[str, Kind]
    horizon_days: int = 30
    min_notice: timedelta = timedelta(hours=2)
    offer_count: int = 3
    sms_confirmation: bool = False
    sms_reminder: bool = False
    reminder_time: time = time(18, 0)  # the day before, practice time
    ics_patient_names: bool = False
    # The patient's name in the events written to the doctors' own calendars (off: the kind
    # and a reference only).
    calendar_patient_names: bool = False
    default_kind: str = "consultation"
    # Booking, cancelling and moving by phone while the practice is closed (nights,
    # week-ends, public holidays): automatic, and what night callers most often want.
    outside_hours: bool = True
    waiting_list: WaitingListRules = WaitingListRules()

    def kind_for(self, doctor: DoctorSchedule, new_patient: bool) -> Kind:
        """The kind booked by phone: the new-patient kind for someone just registered."""
        if new_patient:
            for kind_id in doctor.kinds:
                if self.kinds[kind_id].new_patients:
                    return self.kinds[kind_id]
        if self.default_kind in doctor.kinds:
            return self.kinds[self.default_kind]
        return self.kinds[doctor.kinds[0]]

    def kind_label(self, kind_id: str) -> str:
        """What screens call a kind; one no longer in the file is made readable."""
        found = self.kinds.get(kind_id)
        return found.title if found else humanised(kind_id)


@dataclass(frozen=True)
class SlotQuery:
    """What the caller asked for: later slots, a given day, a half-day."""

    after: datetime | None = None  # only slots starting strictly after this
    day: date | None = None
    half: str | None = None  # "morning" | "afternoon"
    since: date | None = None  # only slots on this day or later (a day asked had none)


# -- reading the practice file ----------------------------------------------------
SECTION = "appointments"
_FIELDS = {"horizon_days", "min_notice_minutes", "offer", "kinds", "doctors", "sms_confirmation",
           "sms_reminder", "reminder_time", "ics_patient_names", "default_kind",
           "outside_hours", "calendar_patient_names", "waiting_list"}  # fmt: skip
_DOCTOR_FIELDS = {"slot_minutes", "kinds", "week", "absences", "calendar"}


def _mapping(where: str, raw: Any, shape: str, known: Collection[str]) -> Fields:
    """A mapping of the section holding only ``known`` fields, its errors naming each."""
    fields = Fields(raw, where, shape=shape, error=StaffError)
    fields.refuse_unknown(known)
    return fields


def _kinds(where: str, raw: Any) -> dict[str, Kind]:
    if raw is None:
        return {"consultation": Kind("consultation", 20)}
    if not isinstance(raw, dict) or not raw:
        raise StaffError(where, "must map kind names to {minutes: N}")
    kinds: dict[str, Kind] = {}
    for name, spec in raw.items():
        at = f"{where}.{name}"
        kind = _mapping(at, spec, "a mapping (minutes, new_patients, label)",
                        {"minutes", "new_patients", "label"})  # fmt: skip
        minutes = kind.whole("minutes", 5, 240)
        label = spec.get("label")
        if label is not None and (not isinstance(label, str) or not label.strip()):
            raise StaffError(f"{at}.label", f"{label!r} is not a label (text)")
        kinds[str(name)] = Kind(str(name), minutes, kind.flag("new_patients", default=False),
                                (label or "").strip())  # fmt: skip
    return kinds


def _absences(where: str, raw: Any) -> tuple[tuple[date, date], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise StaffError(where, "must be a list of dates or {from: DATE, to: DATE}")
    ranges = []
    for i, item in enumerate(raw):
        at = f"{where}[{i}]"
        if isinstance(item, date) and not isinstance(item, datetime):
            ranges.append((item, item))
            continue
        if not isinstance(item, dict):
            raise StaffError(at, f"{item!r} is not a date (YYYY-MM-DD) or {{from, to}}")
        _mapping(at, item, "a mapping (from, to)", {"from", "to"})
        first, last = item.get("from"), item.get("to")
        for key, value in (("from", first), ("to", last)):
            if not isinstance(value, date) or isinstance(value, datetime):
                raise StaffError(f"{at}.{key}", f"{value!r} is not a date (YYYY-MM-DD)")
        assert isinstance(first, date) and isinstance(last, date)
        if last < first:
            raise StaffError(f"{at}.to", "is before 'from'")
        ranges.append((first, last))
    return tuple(ranges)


def _doctor(
    where: str, doctor_id: str, raw: Any, kinds: dict[str, Kind], base: Path | None
) -> DoctorSchedule:
    doctor = _mapping(where, raw, "a mapping (slot_minutes, kinds, week, absences)", _DOCTOR_FIELDS)
    slot = doctor.whole("slot_minutes", 5, 120, default=20)
    if raw.get("week") is None:
        raise StaffError(f"{where}.week", "is required (weekday: ['HH:MM-HH:MM', ...])")
    week = parse_hours(f"{where}.week", raw["week"])
    names = raw.get("kinds", list(kinds))
    if not isinstance(names, list) or not names:
        raise StaffError(f"{where}.kinds", "must be a non-empty list of kind names")
    for i, name in enumerate(names):
        if name not in kinds:
            raise StaffError(f"{where}.kinds[{i}]", f"{name!r} is not a kind of appointments.kinds")
        if kinds[name].minutes % slot:
            raise StaffError(
                f"{where}.kinds[{i}]",
                f"{name} lasts {kinds[name].minutes} min, not a multiple of slot_minutes ({slot})",
            )
    return DoctorSchedule(
        doctor_id, slot, week, tuple(str(n) for n in names),
        _absences(f"{where}.absences", raw.get("absences")),
        parse_calendar(f"{where}.calendar", raw.get("calendar"), base),
    )  # fmt: skip


def _waiting_list(where: str, raw: Any) -> WaitingListRules:
    if raw is None:
        return WaitingListRules()
    fields = _mapping(where, raw, "a mapping (offer_minutes, offer_to)",
                      {"offer_minutes", "offer_to"})  # fmt: skip
    return WaitingListRules(
        offer_minutes=fields.whole("offer_minutes", 5, 24 * 60, default=30),
        offer_to=fields.whole("offer_to", 1, 10, default=3),
    )


def parse_rules(
    raw: Any, doctor_ids: Collection[str], base: Path | None = None
) -> BookingRules | None:
    """The ``appointments:`` section, or None when the practice books no appointment by phone.

    Raises :class:`StaffError` naming the field (``appointments.doctors.dr-x.week.monday[0]``).
    ``base`` is the practice file's folder: a calendar's relative ``password_file`` is there.
    """
    if raw is None:
        return None
    where = SECTION
    rules = _mapping(where, raw, "a mapping (doctors, kinds, horizon_days, ...)", _FIELDS)
    kinds = _kinds(f"{where}.kinds", raw.get("kinds"))
    doctors_raw = raw.get("doctors")
    if not isinstance(doctors_raw, dict) or not doctors_raw:
        raise StaffError(f"{where}.doctors", "must map doctors' ids to their weekly schedule")
    doctors = {}
    for doctor_id, spec in doctors_raw.items():
        if str(doctor_id) not in doctor_ids:
            raise StaffError(f"{where}.doctors.{doctor_id}", "is not the id of a doctor (doctors:)")
        doctors[str(doctor_id)] = _doctor(
            f"{where}.doctors.{doctor_id}", str(doctor_id), spec, kinds, base
        )
    # Keys follow the practice's list of doctors, whatever order the mapping has.
    doctors = {d: doctors[d] for d in doctor_ids if d in doctors}
    default = str(
        raw.get("default_kind", "consultation" if "consultation" in kinds else next(iter(kinds)))
    )
    if default not in kinds:
        raise StaffError(
            f"{where}.default_kind", f"{default!r} is not a kind of appointments.kinds"
        )
    reminder = parse_clock(f"{where}.reminder_time", raw.get("reminder_time", "18:00"))
    assert reminder is not None
    return BookingRules(
        doctors=doctors,
        kinds=kinds,
        horizon_days=rules.whole("horizon_days", 1, 365, default=30),
        min_notice=timedelta(minutes=rules.whole("min_notice_minutes", 0, 20160, default=120)),
        offer_count=rules.whole("offer", 1, 3, default=3),
        sms_confirmation=rules.flag("sms_confirmation", default=False),
        sms_reminder=rules.flag("sms_reminder", default=False),
        reminder_time=reminder,
        ics_patient_names=rules.flag("ics_patient_names", default=False),
        calendar_patient_names=rules.flag("calendar_patient_names", default=False),
        default_kind=default,
        outside_hours=rules.flag("outside_hours", default=True),
        waiting_list=_waiting_list(f"{where}.waiting_list", raw.get("waiting_list")),
    )


# -- free slots -------------------------------------------------------------------------
def cells(start: datetime, minutes: int, slot_minutes: int) -> list[datetime]:
    """The grid cells (UTC starts) an appointment of ``minutes`` starting at ``start`` holds."""
    first = start.astimezone(UTC)
    return [first + timedelta(minutes=m) for m in range(0, minutes, slot_minutes)]


def booking_window(rules: BookingRules, now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The earliest start a caller may book (minimum notice) and the end of the horizon."""
    last_day = now.astimezone(tz).date() + timedelta(days=rules.horizon_days)
    return now + rules.min_notice, datetime.combine(last_day + timedelta(days=1), time(0), tz)


def free_slots(
    rules: BookingRules,
    doctor: DoctorSchedule,
    kind: Kind,
    *,
    now: datetime,
    tz: ZoneInfo,
    closed: Callable[[date], bool],
    taken: Collection[datetime],
    query: SlotQuery = SlotQuery(),  # frozen: never mutated
    limit: int = 3,
    busy: Collection[tuple[datetime, datetime]] = (),
) -> list[datetime]:
    """The first ``limit`` free starts (practice time) for ``kind`` that match ``query``.

    A start is free when it lies within the booking window, on a day the
    practice is open (``closed`` says which are not: closures, public holidays)
    and the doctor present, and every cell the appointment would hold lies in
    the same session and is not in ``taken`` (UTC cell starts).
    """
    earliest, end = booking_window(rules, now, tz)
    taken_set = {t.astimezone(UTC) for t in taken}
    day = max(earliest.astimezone(tz).date(), query.day or date.min, query.since or date.min)
    last_day = (end - timedelta(days=1)).date()
    if query.day is not None:
        last_day = min(last_day, query.day)
    found: list[datetime] = []
    step = timedelta(minutes=doctor.slot_minutes)
    length = timedelta(minutes=kind.minutes)
    while day <= last_day and len(found) < limit:
        if not closed(day) and not doctor.absent(day):
            for session_start, session_end in doctor.week.get(day.weekday(), ()):
                start = datetime.combine(day, session_start, tz)
                stop = datetime.combine(day, session_end, tz)
                while start + length <= stop and len(found) < limit:
                    if (
                        _wanted(start, earliest, query)
                        and not any(
                            c in taken_set for c in cells(start, kind.minutes, doctor.slot_minutes)
                        )
                        and not any(b < start + length and start < e for b, e in busy)
                    ):
                        found.append(start)
                    start += step
        day += timedelta(days=1)
    return found


def _wanted(start: datetime, earliest: datetime, query: SlotQuery) -> bool:
    if start < earliest or (query.after is not None and start <= query.after):
        return False
    if query.half == "morning":
        return start.time() < MORNING_ENDS
    if query.half == "afternoon":
        return start.time() >= MORNING_ENDS
    return True
