"""FHIR date search parameters: ``start=ge2026-12-01``, ``date=le2026-12-24T18:00:00+01:00``.

Each value is a prefix (``eq`` when absent, ``ge``, ``gt``, ``le``, ``lt``) and
a date or a date-time; a date stands for the whole day in the practice's
time zone (a software in France asks for "the 1st of December" meaning its
local day).  Several values intersect, as FHIR says for repeated parameters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

PREFIXES = ("eq", "ge", "gt", "le", "lt")
_VALUE = re.compile(r"(eq|ge|gt|le|lt)?(\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:\d{2}))?)")


class SearchError(ValueError):
    """A search parameter the door cannot read: a 400 with an OperationOutcome."""


@dataclass(frozen=True)
class Window:
    """Starts in ``[after, before)``; None leaves that side open."""

    after: datetime | None = None
    before: datetime | None = None

    def narrow(self, after: datetime | None, before: datetime | None) -> Window:
        lo = max((t for t in (self.after, after) if t is not None), default=None)
        hi = min((t for t in (self.before, before) if t is not None), default=None)
        return Window(lo, hi)

    def empty(self) -> bool:
        return self.after is not None and self.before is not None and self.after >= self.before


def _bounds(text: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The instant range a date or date-time value covers."""
    if "T" not in text:
        day = date.fromisoformat(text)
        start = datetime.combine(day, time(0), tz)
        return start, datetime.combine(day + timedelta(days=1), time(0), tz)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment, moment + timedelta(seconds=1)


def date_window(values: Iterable[str], tz: ZoneInfo, name: str) -> Window:
    """The window every value of the parameter ``name`` allows."""
    window = Window()
    for value in values:
        found = _VALUE.fullmatch(value.strip())
        if found is None:
            raise SearchError(
                f"{name}: {value[:40]!r} is not [ge|gt|le|lt|eq]YYYY-MM-DD[Thh:mm:ss+hh:mm]"
            )
        prefix = found.group(1) or "eq"
        try:
            lo, hi = _bounds(found.group(2), tz)
        except ValueError as exc:
            raise SearchError(f"{name}: {value[:40]!r} is not a valid date") from exc
        after = {"eq": lo, "ge": lo, "gt": hi}.get(prefix)
        before = {"eq": hi, "le": hi, "lt": lo}.get(prefix)
        window = window.narrow(after, before)
    return window
