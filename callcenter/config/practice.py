"""Practices: one YAML file each in ``$CALLCENTER_HOME/practices/``.

The called number (``To``) selects the practice.  Files are read and validated
once at start-up and held in memory, so the fallback answer and the error path
can still name the practice and ring its secretaries with the database down.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_lib

from callcenter.config.schedules import BookingRules, parse_rules
from callcenter.config.staff import (
    Doctor,
    OnCallShift,
    Secretary,
    StaffError,
    on_call_doctor,
    on_duty,
    parse_doctors,
    parse_hours,
    parse_rota,
    parse_secretaries,
)
from callcenter.core.french import humanised
from callcenter.core.phone_numbers import normalize
from callcenter.core.yaml_fields import FieldError, Fields, NotYaml, in_file, load_yaml


class PracticeError(Exception):
    """A practice file is invalid; the message names the file and the field."""


#: ``prompt_budgets``: seconds of speech before ``flows check`` warns; the opening
#: is what a caller hears before the first choice (the start node's prompts);
#: the notice is the full data notice, heard on key 8 only.
PROMPT_BUDGETS = {"opening": 12.0, "notice": 60.0, "other": 20.0}


@dataclass(frozen=True)
class Practice:
    id: str
    name: str
    number: str
    language: str = "fr-FR"
    voice: str = "Polly.Lea-Neural"
    timezone: str = "Europe/Paris"
    hours: dict[int, tuple[tuple[time, time], ...]] = field(default_factory=dict)
    holiday_country: str | None = "FR"
    closures: frozenset[date] = frozenset()
    secretaries: tuple[Secretary, ...] = ()
    doctors: tuple[Doctor, ...] = ()
    on_call: tuple[OnCallShift, ...] = ()
    instructions: str = ""  # for the secretaries: a short text per practice
    # Where the practice is, as the practice writes it: read to callers who ask (open question).
    address: str = ""
    transfer_mode: str = "simultaneous"
    ring_seconds: int = 20
    present_caller: bool = False  # secretaries see the caller's number, else the practice's
    queue_size: int = 10  # callers who may wait for a busy secretariat (0: no queue)
    minutes_per_caller: int = 3  # for the expected wait announced in the queue
    hold_music: str | None = None  # an https URL played while waiting; silence otherwise
    calls_per_minute: int = 10  # from one number; more are turned away politely (0: no limit)
    # Withheld numbers share one count per practice (no number to count by):
    # past it, a withheld caller hears the emergency advice and leaves a message.
    withheld_calls_per_hour: int = 30  # 0: no limit
    # The identification guard: this many wrong dates of birth for one number
    # within an hour lock identification for that number this long (a person
    # still answers).  The defaults are callcenter.patients.identification's.
    identification_failures: int = 5
    identification_lock_minutes: int = 60
    # The practice's S/MIME signing certificate and key: doctors tell real digests from forged.
    signing_certificate: Path | None = None
    signing_key: Path | None = None
    flows_dir: Path | None = None
    start_flow: str = "main"
    prompts: dict[str, str] = field(default_factory=dict)
    # Bits of the phone blind index: about log2(patients) - 1, so that a lookup
    # returns a few candidates and the index never tells which rows share a
    # number (docs/security/stored-data.md, Blind index).
    blind_index_bits: int = 12
    # -- appointments: schedules, kinds, horizon; None: no booking by phone
    appointments: BookingRules | None = None
    # The full data-protection notice online: offered by SMS after key 8 (None: not offered).
    privacy_notice_url: str | None = None
    # Words that reach the urgent route, beside the catalogue's ``intents.urgent``.
    urgent_words: tuple[str, ...] = ()
    # Who marks requests (prescriptions, results, certificates) done in the console:
    # "doctors" only, or "secretaries" too (``requests.handled_by``).
    requests_handled_by: str = "doctors"
    # Seconds of speech ``flows check`` lets a prompt last before warning.
    prompt_budgets: dict[str, float] = field(default_factory=lambda: dict(PROMPT_BUDGETS))

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def kind_label(self, kind_id: str) -> str:
        """An appointment kind as screens and digests name it (its label in the file)."""
        if self.appointments is not None:
            return self.appointments.kind_label(kind_id)
        return humanised(kind_id)

    def opening_status(self, now: datetime) -> str:
        """``open``, ``lunch`` (between two sessions of the day), ``closed`` or ``holiday``."""
        local = now.astimezone(self.tz)
        if local.date() in self.closures or self._is_holiday(local.date()):
            return "holiday"
        sessions = self.hours.get(local.weekday(), ())
        clock = local.time()
        for start, end in sessions:
            if start <= clock < end:
                return "open"
        if sessions and sessions[0][0] <= clock < sessions[-1][1]:
            return "lunch"
        return "closed"

    def on_call_doctor(self, now: datetime) -> Doctor | None:
        """The doctor on call at this moment, per the rota."""
        return on_call_doctor(self.on_call, self.doctors, now.astimezone(self.tz))

    def secretaries_on_duty(self, now: datetime) -> list[Secretary]:
        """Secretaries working now: their own hours, or the practice's opening hours."""
        is_open = self.opening_status(now) == "open"
        return on_duty(self.secretaries, is_open, now.astimezone(self.tz))

    def next_opening(self, now: datetime) -> datetime | None:
        """The next moment the practice opens, within two weeks, or ``None``."""
        local = now.astimezone(self.tz)
        return next((moment for moment in self._openings(local.date()) if moment > local), None)

    def _openings(self, day: date) -> tuple[datetime, ...]:
        """The opening moments of ``day`` and the 14 days after it, in order.

        They depend on the practice and the day only, and every prompt that may
        say when the practice opens asks: computed once a day per process.
        """
        known = self._openings_by_day
        moments = known.get(day)
        if moments is None:
            if len(known) > 8:  # yesterday's (or a frozen clock's) days are not asked again
                known.clear()
            tz = self.tz
            days = (day + timedelta(days=offset) for offset in range(15))
            moments = known[day] = tuple(
                datetime.combine(d, start, tzinfo=tz)
                for d in days
                if not (d in self.closures or self._is_holiday(d))
                for start, _end in self.hours.get(d.weekday(), ())
            )
        return moments

    @functools.cached_property
    def _openings_by_day(self) -> dict[date, tuple[datetime, ...]]:
        return {}

    def closed_on(self, day: date) -> bool:
        """A closure or a public holiday: no appointment that day."""
        return day in self.closures or self._is_holiday(day)

    def _is_holiday(self, day: date) -> bool:
        if not self.holiday_country:
            return False
        return day in _holidays(self.holiday_country, day.year)


@functools.cache
def _holidays(country: str, year: int) -> frozenset[date]:
    """A country's public holidays for a year: built once (it costs ~1 ms), asked every call."""
    return frozenset(holidays_lib.country_holidays(country, years=year))


def _fail(path: Path, where: str, message: str) -> PracticeError:
    return PracticeError(f"{path.name}: {where}: {message}")


def _phone(path: Path, where: str, value: Any) -> str:
    number = normalize(str(value)) if value is not None else None
    if number is None:
        raise _fail(path, where, f"{value!r} is not a valid phone number")
    return number


def _staff_phone(where: str, value: Any) -> str:
    number = normalize(str(value)) if value is not None else None
    if number is None:
        raise StaffError(where, f"{value!r} is not a valid phone number")
    return number


def load_practice(path: Path) -> Practice:
    """Read and validate one practice file."""
    try:
        raw = load_yaml(path)
    except NotYaml as exc:
        raise PracticeError(f"{path.name}: {exc}") from None
    top = Fields(raw, error=in_file(PracticeError, path.name))
    for key in ("id", "name", "number"):
        if not top.get(key):
            top.fail(key, "is required")
    timezone = str(raw.get("timezone", "Europe/Paris"))
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise _fail(path, "timezone", f"{timezone!r} is not a time zone") from None
    country = raw.get("holidays", "FR")
    if country:
        try:
            holidays_lib.country_holidays(str(country))
        except NotImplementedError:
            raise _fail(path, "holidays", f"{country!r} is not a supported country") from None
    closures = set()
    for i, value in enumerate(raw.get("closures") or []):
        if not isinstance(value, date):
            raise _fail(path, f"closures[{i}]", f"{value!r} is not a date (YYYY-MM-DD)")
        closures.add(value)
    transfer = top.section("transfer", "a mapping (mode, ring_seconds)")
    mode = transfer.one_of("mode", ("simultaneous", "sequential"), default="simultaneous")
    ring = transfer.whole("ring_seconds", 5, 120, default=20)
    present = transfer.one_of("caller_id", ("practice", "caller"), default="practice")
    transfer.refuse_unknown({"mode", "ring_seconds", "caller_id", "queue"})
    queue = _queue_settings(transfer)
    prompts = raw.get("prompts") or {}
    if not isinstance(prompts, dict) or not all(isinstance(v, str) for v in prompts.values()):
        raise _fail(path, "prompts", "must map prompt keys to texts")
    bits = top.whole("blind_index_bits", 8, 20, default=12)
    flows_dir = raw.get("flows_dir")
    if flows_dir is not None:
        flows_dir = (path.parent / str(flows_dir)).resolve()
        if not flows_dir.is_dir():
            raise _fail(path, "flows_dir", f"{flows_dir} is not a folder")
    try:
        hours = parse_hours("hours", raw["hours"]) if raw.get("hours") is not None else {}
        doctors = parse_doctors(raw.get("doctors"), _staff_phone, path.parent)
        secretaries = parse_secretaries(raw.get("secretaries"), _staff_phone)
        rota = parse_rota(raw.get("on_call"), doctors)
        appointments = parse_rules(raw.get("appointments"), [d.id for d in doctors], path.parent)
    except FieldError as exc:  # StaffError: the staff and schedules readers name the field
        raise PracticeError(f"{path.name}: {exc}") from None
    limits = _limits(top)
    signing = raw.get("signing") or {}
    if not isinstance(signing, dict) or set(signing) - {"certificate", "key"}:
        raise _fail(path, "signing", "must be a mapping with 'certificate' and 'key' (file paths)")
    if bool(signing.get("certificate")) != bool(signing.get("key")):
        raise _fail(path, "signing", "needs both 'certificate' and 'key'")
    notice_url = raw.get("privacy_notice_url")
    if notice_url is not None and not (
        isinstance(notice_url, str) and notice_url.startswith("https://") and " " not in notice_url
    ):
        raise _fail(path, "privacy_notice_url", "must be an https:// URL")
    urgent_words = raw.get("urgent_words") or []
    if not isinstance(urgent_words, list) or not all(
        isinstance(w, str) and w.strip() for w in urgent_words
    ):
        raise _fail(path, "urgent_words", "must be a list of words or phrases")
    budgets = top.section("prompt_budgets", "a mapping (opening, notice, other: seconds)")
    budgets.refuse_unknown(PROMPT_BUDGETS)
    prompt_budgets = {
        key: float(budgets.whole(key, 3, 300, default=int(default)))
        for key, default in PROMPT_BUDGETS.items()
    }
    requests = top.section("requests", "a mapping (handled_by)")
    requests.refuse_unknown({"handled_by"})
    handled_by = requests.one_of("handled_by", ("doctors", "secretaries"), default="doctors")
    address = raw.get("address") or ""
    if not isinstance(address, str) or len(address) > 300:
        raise _fail(path, "address", "must be a short text (300 characters at most)")
    instructions = raw.get("instructions") or ""
    if not isinstance(instructions, str) or len(instructions) > 500:
        raise _fail(path, "instructions", "must be a short text (500 characters at most)")
    return Practice(
        id=str(raw["id"]),
        name=str(raw["name"]),
        number=_phone(path, "number", raw["number"]),
        language=str(raw.get("language", "fr-FR")),
        voice=str(raw.get("voice", "Polly.Lea-Neural")),
        timezone=timezone,
        hours=hours,
        holiday_country=str(country) if country else None,
        closures=frozenset(closures),
        secretaries=secretaries,
        doctors=doctors,
        on_call=rota,
        instructions=instructions,
        address=address.strip(),
        transfer_mode=mode,
        ring_seconds=ring,
        present_caller=present == "caller",
        calls_per_minute=limits["calls_per_minute"],
        withheld_calls_per_hour=limits["withheld_calls_per_hour"],
        identification_failures=limits["identification_failures"],
        identification_lock_minutes=limits["identification_lock_minutes"],
        signing_certificate=(path.parent / str(signing["certificate"])).resolve()
        if signing.get("certificate")
        else None,
        signing_key=(path.parent / str(signing["key"])).resolve() if signing.get("key") else None,
        **queue,
        flows_dir=flows_dir,
        start_flow=str(raw.get("start_flow", "main")),
        prompts={str(k): v for k, v in prompts.items()},
        blind_index_bits=bits,
        appointments=appointments,
        privacy_notice_url=notice_url,
        urgent_words=tuple(urgent_words),
        prompt_budgets=prompt_budgets,
        requests_handled_by=handled_by,
    )


#: ``limits`` fields: (default, lowest, highest, what the error says besides the range).
LIMITS = {
    "calls_per_minute": (10, 0, 600, " (0: no limit)"),
    "withheld_calls_per_hour": (30, 0, 10000, " (0: no limit)"),
    "identification_failures": (5, 1, 20, ""),
    "identification_lock_minutes": (60, 1, 1440, ""),
}


def _limits(top: Fields) -> dict[str, int]:
    """``limits``: calls per number, withheld calls per practice, the identification guard."""
    limits = top.section("limits", f"a mapping ({', '.join(LIMITS)})")
    limits.refuse_unknown(LIMITS)
    return {
        key: limits.whole(key, lowest, highest, default=default, note=note)
        for key, (default, lowest, highest, note) in LIMITS.items()
    }


def _queue_settings(transfer: Fields) -> dict[str, Any]:
    """``transfer.queue``: size, minutes_per_caller, hold_music."""
    queue = transfer.section("queue", "a mapping (size, minutes_per_caller, ...)")
    queue.refuse_unknown({"size", "minutes_per_caller", "hold_music"})
    size = queue.whole("size", 0, 100, default=10)
    minutes = queue.whole("minutes_per_caller", 1, 60, default=3)
    music = queue.get("hold_music")
    if music is not None and (not isinstance(music, str) or not music.startswith("https://")):
        queue.fail("hold_music", "must be an https:// URL")
    return {"queue_size": size, "minutes_per_caller": minutes, "hold_music": music}


class PracticeDirectory:
    """Every practice of the instance, found by id or by its called number."""

    def __init__(self, practices: list[Practice]) -> None:
        self._by_id: dict[str, Practice] = {}
        self._by_number: dict[str, Practice] = {}
        for practice in practices:
            if practice.id in self._by_id:
                raise PracticeError(f"practice id {practice.id!r} is used twice")
            if practice.number in self._by_number:
                raise PracticeError(f"practice number of {practice.id!r} is used twice")
            self._by_id[practice.id] = practice
            self._by_number[practice.number] = practice

    @classmethod
    def load(cls, folder: Path) -> PracticeDirectory:
        files = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
        return cls([load_practice(path) for path in files])

    def __iter__(self) -> Iterator[Practice]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def by_id(self, practice_id: str) -> Practice | None:
        return self._by_id.get(practice_id)

    def by_number(self, called: str | None) -> Practice | None:
        number = normalize(called) if called else None
        return self._by_number.get(number) if number else None

    def desks_of(self, phone: str | None) -> list[tuple[Practice, Secretary]]:
        """The practices a secretary calling from ``phone`` answers for (one entry each)."""
        number = normalize(phone) if phone else None
        if number is None:
            return []
        return [(p, s) for p in self for s in p.secretaries if s.phone == number]
