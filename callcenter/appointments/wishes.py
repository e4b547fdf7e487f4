"""What day a caller asks for: keyed (JJMM) or spoken ("jeudi matin", "le 3 décembre").

Words come from the prompt catalogue's intents (weekday_monday…, month_1…,
tomorrow, morning, afternoon), never from code, so a practice or another
language changes them without touching this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from callcenter.config.prompts import Catalogue, fold

WEEKDAY_INTENTS = tuple(f"weekday_{d}" for d in (
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))  # fmt: skip
MONTH_INTENTS = tuple(f"month_{m}" for m in range(1, 13))
HALF_INTENTS = ("afternoon", "morning")  # "après-midi" is checked before "matin"
DAY_INTENTS = ("tomorrow", *WEEKDAY_INTENTS, *MONTH_INTENTS, *HALF_INTENTS)
_FIRST = {"1er", "premier", "1"}


@dataclass(frozen=True)
class Wish:
    day: date | None = None
    half: str | None = None  # "morning" | "afternoon"


def keyed_day(keys: str, today: date) -> date | None:
    """``JJMM`` → the next such date (this year, or next year once it has passed)."""
    keys = keys.replace("#", "").strip()
    if len(keys) != 4 or not keys.isdigit():
        return None
    for year in (today.year, today.year + 1):
        try:
            day = date(year, int(keys[2:]), int(keys[:2]))
        except ValueError:
            return None
        if day >= today:
            return day
    return None


def spoken_wish(speech: str, catalogue: Catalogue, today: date) -> Wish | None:
    """The day and half-day named in ``speech``, or None when it names neither."""
    half_intent = catalogue.match_intent(speech, list(HALF_INTENTS))
    half = half_intent if half_intent in HALF_INTENTS else None
    day = _dated(speech, catalogue, today)
    if day is None and catalogue.match_intent(speech, ["tomorrow"]):
        day = today + timedelta(days=1)
    if day is None:
        weekday = catalogue.match_intent(speech, list(WEEKDAY_INTENTS))
        if weekday is not None:
            ahead = (WEEKDAY_INTENTS.index(weekday) - today.weekday()) % 7
            day = today + timedelta(days=ahead)
    if day is None and half is None:
        return None
    return Wish(day, half)


def _dated(speech: str, catalogue: Catalogue, today: date) -> date | None:
    """ "le 3 décembre", "le premier décembre": a day number right before a month's name."""
    heard = fold(speech)
    for month, intent in enumerate(MONTH_INTENTS, start=1):
        for phrase in catalogue.intents.get(intent, ()):
            match = re.search(rf"(\S+) {re.escape(phrase)}\b", heard)
            if match is None:
                continue
            number = match.group(1)
            if number in _FIRST:
                number = "1"
            if not number.isdigit():
                continue
            return keyed_day(f"{int(number):02d}{month:02d}", today)
    return None
