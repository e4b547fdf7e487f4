"""The part of the day a caller asks for, and the clock time when one is said.

« vers 10 h », « à 14 h 30 », « à 3 heures de l'après-midi » give a time and
its period; « après 17 h » or « avant 10 h » only a period (a bound is not an
appointment time); « le matin », « en fin d'après-midi » a period.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from callcenter.understanding.mentions import Mention, no_overlap
from callcenter.understanding.phrases import alternation, labelled

PERIODS = ("morning", "afternoon", "evening")


@dataclass(frozen=True)
class When:
    """A period, and the time when one was said."""

    period: str
    time: time | None = None


@dataclass(frozen=True)
class TimeWords:
    """The catalogue's period and clock words, compiled."""

    periods: re.Pattern[str] | None
    period_labels: dict[str, str]
    clock: re.Pattern[str]
    noon: re.Pattern[str]
    after_words: re.Pattern[str]
    before_words: re.Pattern[str]
    pm_below: int
    afternoon_from: time
    evening_from: time

    @classmethod
    def compile(
        cls, periods: dict[str, Any], raw: dict[str, Any], normalize: Callable[[str], str]
    ) -> TimeWords:
        unknown = set(periods) - set(PERIODS)
        if unknown:
            raise ValueError(f"periods: {sorted(unknown)[0]!r} is not one of {PERIODS}")
        period_re, labels = labelled(
            {p: [str(w) for w in periods.get(p) or []] for p in PERIODS}, normalize
        )

        def alt(key: str) -> str:
            return alternation([str(w) for w in raw.get(key) or []], normalize) or r"(?!x)x"

        prep = rf"(?:(?P<prep>{alt('at')}|{alt('after')}|{alt('before')}) )?"
        minutes = (
            rf"(?: (?P<min>\d{{1,2}})(?: (?:{alt('minute_words')}))?)?"
            rf"(?: (?P<half>{alt('half')})| (?P<quarter>{alt('quarter')})"
            rf"| (?P<toq>{alt('to_quarter')}))?"
        )
        ampm = rf"(?: (?P<pm>{alt('pm_words')})| (?P<am>{alt('am_words')}))?"
        clock = re.compile(
            rf"(?<![a-z0-9]){prep}(?P<hour>\d{{1,2}}) (?:{alt('hour_words')}){minutes}{ampm}"
            r"(?![a-z0-9])"
        )
        # « midi » alone is a time only after a preposition: « après-midi » is a period.
        at_or_before = rf"(?:{alt('at')}|{alt('before')})"
        noon = re.compile(
            rf"(?<![a-z0-9])(?P<prep>{at_or_before}) (?:{alt('noon')})"
            rf"(?: (?P<half>{alt('half')})| (?P<quarter>{alt('quarter')}))?(?![a-z0-9])"
        )
        return cls(
            periods=period_re,
            period_labels=labels,
            clock=clock,
            noon=noon,
            after_words=re.compile(rf"^(?:{alt('after')})$"),
            before_words=re.compile(rf"^(?:{alt('before')})$"),
            pm_below=int(raw.get("pm_below", 8)),
            afternoon_from=time.fromisoformat(str(raw.get("afternoon_from", "12:00"))),
            evening_from=time.fromisoformat(str(raw.get("evening_from", "17:00"))),
        )

    def period_of(self, clock: time) -> str:
        if clock >= self.evening_from:
            return "evening"
        return "afternoon" if clock >= self.afternoon_from else "morning"


def _clock(words: TimeWords, match: re.Match[str], hour: int) -> When | None:
    groups = match.groupdict()
    minute = int(groups.get("min") or 0)
    if groups.get("half"):
        minute = 30
    elif groups.get("quarter"):
        minute = 15
    if groups.get("pm") and hour < 12:
        hour += 12
    elif not groups.get("am") and 1 <= hour < words.pm_below:
        hour += 12  # « à 3 heures »: the practice sleeps at night
    if groups.get("toq"):
        hour, minute = hour - 1, 45
    if not (0 <= hour < 24 and 0 <= minute < 60):
        return None
    clock = time(hour, minute)
    prep = groups.get("prep") or ""
    if words.after_words.match(prep):
        return When(words.period_of(clock))
    if words.before_words.match(prep):
        just_before = (datetime.combine(datetime.min, clock) - timedelta(minutes=1)).time()
        return When(words.period_of(just_before))
    return When(words.period_of(clock), clock)


def when_mentions(text: str, words: TimeWords) -> list[Mention[When]]:
    """Every period or time said in ``text`` (digits form), longest wins on overlaps."""
    found: list[Mention[When | None]] = []
    if words.periods is not None:
        for m in words.periods.finditer(text):
            found.append(Mention(m.start(), m.end(), When(words.period_labels[m.lastgroup or ""])))
    for m in words.clock.finditer(text):
        found.append(Mention(m.start(), m.end(), _clock(words, m, int(m.group("hour")))))
    for m in words.noon.finditer(text):
        found.append(Mention(m.start(), m.end(), _clock(words, m, 12)))
    return [Mention(m.start, m.end, m.value) for m in no_overlap(found) if m.value is not None]
