"""The people behind a practice's phone: doctors, their on-call rota, secretaries.

Read from the practice file with precise errors; answers "who is on call now"
and "which secretaries are on duty now" for the transfer and urgent flows.
A remote tele-secretariat is just more secretaries, listed in the file of
each practice they answer for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from callcenter.security.pins import PinError, check_hash

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
Sessions = tuple[tuple[time, time], ...]


class StaffError(ValueError):
    """A field is wrong: ``where`` names it, the message says why."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class DigestSchedule:
    """When a doctor's digest is sent, in the practice's time zone."""

    times: tuple[time, ...] = (time(12, 30), time(18, 30))
    days: frozenset[int] = frozenset(range(5))  # Monday to Friday
    hourly: bool = False  # every hour on the hour, on ``days``
    when_empty: str = "send"  # "send" an "aucun appel" digest, or "skip" it

    def slots_on(self, day: date, tz: tzinfo) -> list[datetime]:
        if day.weekday() not in self.days:
            return []
        clocks = [time(h) for h in range(24)] if self.hourly else list(self.times)
        return [datetime.combine(day, c, tzinfo=tz) for c in clocks]

    def latest(self, now: datetime, tz: tzinfo) -> datetime | None:
        """The last scheduled moment at or before ``now`` (within a week)."""
        local = now.astimezone(tz)
        for back in range(8):
            day = local.date() - timedelta(days=back)
            past = [slot for slot in self.slots_on(day, tz) if slot <= local]
            if past:
                return past[-1]
        return None

    def before(self, slot: datetime, tz: tzinfo) -> datetime:
        """The scheduled moment before ``slot``: the start of its period (a day at most)."""
        earlier = self.latest(slot - timedelta(seconds=1), tz)
        return (
            earlier if earlier and slot - earlier <= timedelta(days=7) else slot - timedelta(days=1)
        )


@dataclass(frozen=True)
class Doctor:
    id: str
    name: str  # as written in the practice's records
    called: str  # how they want to be called ("docteure Martin")
    email: str | None = None
    certificate: Path | None = None
    on_call_phone: str | None = None
    digest: DigestSchedule = DigestSchedule()


@dataclass(frozen=True)
class Secretary:
    id: str
    name: str
    phone: str
    hours: dict[int, Sessions] | None = None  # None: the practice's opening hours
    pin_hash: str | None = None  # for the secretaries' line (callcenter.security.pins)


@dataclass(frozen=True)
class OnCallShift:
    """``doctor`` is on call on ``days`` from ``start`` to ``end``.

    An ``end`` at or before ``start`` runs past midnight into the next day.
    """

    doctor: str
    days: frozenset[int]
    start: time
    end: time | None  # None: until midnight ("24:00")

    def covers(self, moment: datetime) -> bool:
        clock, day = moment.time(), moment.weekday()
        if self.end is None or self.end > self.start:
            return (
                day in self.days and self.start <= clock and (self.end is None or clock < self.end)
            )
        # Overnight: the evening of a listed day, or the morning after it.
        return (day in self.days and clock >= self.start) or (
            (day - 1) % 7 in self.days and clock < self.end
        )


def in_sessions(hours: dict[int, Sessions], moment: datetime) -> bool:
    clock = moment.time()
    return any(start <= clock < end for start, end in hours.get(moment.weekday(), ()))


def parse_clock(where: str, value: Any, allow_24: bool = False) -> time | None:
    if allow_24 and value == "24:00":
        return None
    try:
        clock = time.fromisoformat(str(value))
    except ValueError:
        raise StaffError(where, f"{value!r} is not a time (HH:MM)") from None
    if clock.tzinfo is not None:
        raise StaffError(where, f"{value!r}: give local times; the time zone is set once")
    return clock


def parse_hours(where: str, raw: Any) -> dict[int, Sessions]:
    """``{weekday: ["08:30-12:30", …]}`` → sessions per weekday number."""
    if not isinstance(raw, dict):
        raise StaffError(where, "must map weekdays to lists of 'HH:MM-HH:MM'")
    result: dict[int, Sessions] = {}
    for day, sessions in raw.items():
        if day not in WEEKDAYS:
            raise StaffError(f"{where}.{day}", f"unknown weekday (use {', '.join(WEEKDAYS)})")
        parsed: list[tuple[time, time]] = []
        for i, session in enumerate(sessions or []):
            at = f"{where}.{day}[{i}]"
            if not isinstance(session, str) or session.count("-") != 1:
                raise StaffError(at, f"{session!r} is not 'HH:MM-HH:MM'")
            start, end = (parse_clock(at, part.strip()) for part in session.split("-"))
            assert start is not None and end is not None
            if end <= start or (parsed and start < parsed[-1][1]):
                raise StaffError(at, f"{session!r} is empty or overlaps the previous one")
            parsed.append((start, end))
        result[WEEKDAYS.index(day)] = tuple(parsed)
    return result


def _text(where: str, item: dict[str, Any], key: str, required: bool = True) -> str | None:
    value = item.get(key)
    if value is None or value == "":
        if required:
            raise StaffError(f"{where}.{key}", "is required")
        return None
    if not isinstance(value, str):
        raise StaffError(f"{where}.{key}", "must be a text")
    return value


def _unique(key: str, people: Iterable[Any]) -> None:
    ids = [p.id for p in people]
    if len(set(ids)) != len(ids):
        raise StaffError(key, "ids must be unique")


def parse_doctors(raw: Any, phone: Callable[[str, Any], str], folder: Path) -> tuple[Doctor, ...]:
    doctors = []
    for i, item in enumerate(raw or []):
        where = f"doctors[{i}]"
        if not isinstance(item, dict):
            raise StaffError(where, "must be a mapping (id, name, ...)")
        unknown = set(item) - {"id", "name", "called", "email", "certificate", "on_call_phone",
                               "digest"}  # fmt: skip
        if unknown:
            raise StaffError(f"{where}.{sorted(unknown)[0]}", "unknown field")
        name = _text(where, item, "name") or ""
        email = _text(where, item, "email", required=False)
        if email is not None and ("@" not in email or " " in email):
            raise StaffError(f"{where}.email", f"{email!r} is not an e-mail address")
        certificate = _text(where, item, "certificate", required=False)
        on_call = item.get("on_call_phone")
        doctors.append(Doctor(
            id=str(_text(where, item, "id")),
            name=name,
            called=_text(where, item, "called", required=False) or name,
            email=email,
            certificate=(folder / certificate).resolve() if certificate else None,
            on_call_phone=phone(f"{where}.on_call_phone", on_call) if on_call else None,
            digest=parse_digest(f"{where}.digest", item.get("digest")),
        ))  # fmt: skip
    _unique("doctors", doctors)
    return tuple(doctors)


def parse_digest(where: str, raw: Any) -> DigestSchedule:
    """``digest: {at: ["12:30", "18:30"] | hourly, days: [...], when_empty: send|skip}``."""
    if raw is None:
        return DigestSchedule()
    if not isinstance(raw, dict):
        raise StaffError(where, "must be a mapping (at, days, when_empty)")
    unknown = set(raw) - {"at", "days", "when_empty"}
    if unknown:
        raise StaffError(f"{where}.{sorted(unknown)[0]}", "unknown field")
    at = raw.get("at", ["12:30", "18:30"])
    hourly = at == "hourly"
    times: list[time] = []
    if not hourly:
        if not isinstance(at, list) or not at:
            raise StaffError(f"{where}.at", "must be a list of HH:MM or 'hourly'")
        for i, value in enumerate(at):
            clock = parse_clock(f"{where}.at[{i}]", value)
            assert clock is not None
            times.append(clock)
    days = raw.get("days", list(WEEKDAYS[:5]))
    if not isinstance(days, list) or not days or any(d not in WEEKDAYS for d in days):
        raise StaffError(f"{where}.days", f"must be a list of {', '.join(WEEKDAYS)}")
    empty = raw.get("when_empty", "send")
    if empty not in ("send", "skip"):
        raise StaffError(f"{where}.when_empty", "must be 'send' or 'skip'")
    return DigestSchedule(
        times=tuple(sorted(set(times))),
        days=frozenset(WEEKDAYS.index(d) for d in days),
        hourly=hourly,
        when_empty=empty,
    )


def parse_secretaries(raw: Any, phone: Callable[[str, Any], str]) -> tuple[Secretary, ...]:
    secretaries = []
    for i, item in enumerate(raw or []):
        where = f"secretaries[{i}]"
        if not isinstance(item, dict):
            raise StaffError(where, "must be a mapping (id, name, phone, hours)")
        unknown = set(item) - {"id", "name", "phone", "hours", "pin_hash"}
        if unknown:
            raise StaffError(f"{where}.{sorted(unknown)[0]}", "unknown field")
        hours = item.get("hours")
        pin_hash = _text(where, item, "pin_hash", required=False)
        if pin_hash is not None:
            try:
                check_hash(pin_hash)
            except PinError as exc:
                raise StaffError(f"{where}.pin_hash", str(exc)) from None
        secretaries.append(Secretary(
            id=str(_text(where, item, "id")),
            name=str(_text(where, item, "name")),
            phone=phone(f"{where}.phone", item.get("phone")),
            hours=parse_hours(f"{where}.hours", hours) if hours is not None else None,
            pin_hash=pin_hash,
        ))  # fmt: skip
    _unique("secretaries", secretaries)
    return tuple(secretaries)


def parse_rota(raw: Any, doctors: tuple[Doctor, ...]) -> tuple[OnCallShift, ...]:
    """``on_call: [{doctor, days, from, to}]``: the first shift covering a moment wins."""
    known = {d.id: d for d in doctors}
    shifts = []
    for i, item in enumerate(raw or []):
        where = f"on_call[{i}]"
        if not isinstance(item, dict):
            raise StaffError(where, "must be a mapping (doctor, days, from, to)")
        unknown = set(item) - {"doctor", "days", "from", "to"}
        if unknown:
            raise StaffError(f"{where}.{sorted(unknown)[0]}", "unknown field")
        doctor = known.get(str(item.get("doctor")))
        if doctor is None:
            raise StaffError(f"{where}.doctor", f"{item.get('doctor')!r} is not a doctor's id")
        if not doctor.on_call_phone:
            raise StaffError(f"{where}.doctor", f"{doctor.id} has no on_call_phone")
        days = item.get("days") or list(WEEKDAYS)
        if not isinstance(days, list) or any(d not in WEEKDAYS for d in days):
            raise StaffError(f"{where}.days", f"must be a list of {', '.join(WEEKDAYS)}")
        start = parse_clock(f"{where}.from", item.get("from", "00:00"))
        assert start is not None
        end = parse_clock(f"{where}.to", item.get("to", "24:00"), allow_24=True)
        shifts.append(OnCallShift(doctor.id, frozenset(WEEKDAYS.index(d) for d in days),
                                  start, end))  # fmt: skip
    return tuple(shifts)


def on_call_doctor(
    shifts: Iterable[OnCallShift], doctors: Iterable[Doctor], local: datetime
) -> Doctor | None:
    """Who is on call at this local moment, or None."""
    by_id = {d.id: d for d in doctors}
    for shift in shifts:
        if shift.covers(local):
            return by_id[shift.doctor]
    return None


def on_duty(
    secretaries: Iterable[Secretary], practice_open: bool, local: datetime
) -> list[Secretary]:
    """Secretaries working now: their own hours, or the practice's when they have none."""
    return [
        s for s in secretaries
        if (in_sessions(s.hours, local) if s.hours is not None else practice_open)
    ]  # fmt: skip
