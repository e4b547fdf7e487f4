"""The day a caller asks for, from words relative to the call's moment.

Choices (what a caller means, documented in docs/configuration/understanding.md):
- a weekday name alone is the next such day, today excluded: on a Thursday,
  « jeudi » is next week's (today would be « aujourd'hui »);
- « jeudi prochain » is the Thursday of next week (Monday to Sunday), even when
  this week's is still to come: the word « prochain » marks the difference;
- « jeudi en huit » is a week after the coming Thursday; « jeudi dernier » the
  Thursday before today;
- « le 3 » is the next 3rd of a month, today included; « le 3 décembre » this
  year's, unless it is over a month past (next year's then: a caller speaks of
  a recent day, « ma prise de sang du 25 novembre », or of a coming one);
- « dans huit jours » / « dans quinze jours » are one and two weeks;
- « la semaine prochaine » is the first open day of next week.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from callcenter.understanding.mentions import Mention, no_overlap
from callcenter.understanding.phrases import alternation, labelled


@dataclass(frozen=True)
class DateWords:
    """The catalogue's date words, compiled."""

    fixed: re.Pattern[str] | None  # today, tomorrow, after tomorrow, next week
    fixed_labels: dict[str, str]
    weekday: re.Pattern[str]
    day_of_month: re.Pattern[str]
    within: re.Pattern[str]
    weekdays: tuple[str, ...]
    months: tuple[str, ...]
    idiom_days: dict[int, int]

    @classmethod
    def compile(cls, raw: dict[str, Any], normalize: Callable[[str], str]) -> DateWords:
        def words(key: str) -> list[str]:
            return [str(w) for w in raw.get(key) or []]

        def alt(key: str) -> str:
            return alternation(words(key), normalize) or r"(?!x)x"

        weekdays = tuple(normalize(w) for w in words("weekdays"))
        months = tuple(normalize(m) for m in words("months"))
        if len(weekdays) != 7 or len(months) != 12:
            raise ValueError("dates: 7 weekdays and 12 months are needed")
        fixed, fixed_labels = labelled(
            {
                "today": words("today"),
                "tomorrow": words("tomorrow"),
                "after_tomorrow": words("after_tomorrow"),
                "next_week": words("next_week"),
            },
            normalize,
        )
        day_names = "|".join(map(re.escape, weekdays))
        month_names = "|".join(map(re.escape, months))
        first = alt("first")
        ordinal = rf"(?: (?:{alt('ordinal_suffixes')}))?"
        # Atomic: « le 1er jour » must not fall back to « le 1 ».
        dom = rf"(?P<dom>(?>{first}|\d{{1,2}}{ordinal}))"
        month = rf"(?: (?:(?:{alt('month_articles')}) )?(?P<month>{month_names}))"
        # « le 3 heures », « le 2 enfants » are no days.
        not_a_day = rf"(?! (?:{alt('not_after_number')}))"
        weekday = re.compile(
            rf"(?<![a-z0-9])(?P<wd>{day_names})"
            rf"(?: {dom}{month}?{not_a_day})?"
            rf"(?: (?P<next>{alt('next')})| (?P<last>{alt('last')})| (?P<w8>{alt('week_after')})"
            rf"| (?P<w15>{alt('fortnight_after')}))?(?![a-z0-9])"
        )
        day_of_month = re.compile(
            # « le 3 », « le 3 décembre », or « 3 décembre » without its article.
            rf"(?<![a-z0-9])(?:(?:{alt('day_articles')}) "
            rf"|(?=(?:{first}|\d{{1,2}}){ordinal}"
            rf" (?:(?:{alt('month_articles')}) )?(?:{month_names})(?![a-z0-9])))"
            rf"{dom}{month}?{not_a_day}(?![a-z0-9])"
        )
        units = rf"(?:(?P<days>{alt('day_units')})|(?P<weeks>{alt('week_units')}))"
        within = re.compile(rf"(?<![a-z0-9])(?:{alt('in')}) (?P<n>\d{{1,3}}) {units}(?![a-z0-9])")
        idioms = {int(k): int(v) for k, v in (raw.get("idiom_days") or {}).items()}
        return cls(fixed, fixed_labels, weekday, day_of_month, within, weekdays, months, idioms)


@dataclass(frozen=True)
class Calendar:
    """What the dates are relative to: today, and which days the practice opens."""

    today: date
    open_days: frozenset[int] = frozenset(range(5))
    closed: Callable[[date], bool] | None = None

    def first_open_from(self, day: date) -> date:
        for k in range(7):
            candidate = day + timedelta(days=k)
            if candidate.weekday() in self.open_days and not (
                self.closed is not None and self.closed(candidate)
            ):
                return candidate
        return day

    def next_monday(self) -> date:
        return self.today + timedelta(days=7 - self.today.weekday())


def _day_of_month(calendar: Calendar, words: DateWords, match: re.Match[str]) -> date | None:
    raw = match.group("dom")
    digits = re.match(r"\d+", raw)
    day = int(digits.group(0)) if digits else 1  # « premier »
    month_name = match.group("month")
    today = calendar.today
    if month_name:
        month = words.months.index(month_name) + 1
        for year in (today.year, today.year + 1):
            try:
                candidate = date(year, month, day)
            except ValueError:
                return None
            if candidate >= today - timedelta(days=31):
                return candidate
        return None
    year, month = today.year, today.month
    if day < today.day:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    for _ in range(12):  # the 31st: the next month that has one
        try:
            return date(year, month, day)
        except ValueError:
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _weekday(calendar: Calendar, words: DateWords, match: re.Match[str]) -> date | None:
    if match.group("dom"):
        return _day_of_month(calendar, words, match)
    wanted = words.weekdays.index(match.group("wd"))
    today = calendar.today
    if match.group("next"):
        return calendar.next_monday() + timedelta(days=wanted)
    if match.group("last"):
        return today - timedelta(days=(today.weekday() - wanted) % 7 or 7)
    ahead = (wanted - today.weekday()) % 7 or 7
    coming = today + timedelta(days=ahead)
    if match.group("w8"):
        return coming + timedelta(days=7)
    if match.group("w15"):
        return coming + timedelta(days=14)
    return coming


def date_mentions(text: str, words: DateWords, calendar: Calendar) -> list[Mention[date]]:
    """Every day named in ``text`` (digits form), resolved, longest wins on overlaps."""
    found: list[Mention[date | None]] = []
    if words.fixed is not None:
        for m in words.fixed.finditer(text):
            label = words.fixed_labels[m.lastgroup or ""]
            day: date | None = {
                "today": calendar.today,
                "tomorrow": calendar.today + timedelta(days=1),
                "after_tomorrow": calendar.today + timedelta(days=2),
                "next_week": None,
            }[label]
            if label == "next_week":
                day = calendar.first_open_from(calendar.next_monday())
            found.append(Mention(m.start(), m.end(), day))
    for m in words.weekday.finditer(text):
        found.append(Mention(m.start(), m.end(), _weekday(calendar, words, m)))
    for m in words.day_of_month.finditer(text):
        found.append(Mention(m.start(), m.end(), _day_of_month(calendar, words, m)))
    for m in words.within.finditer(text):
        n = int(m.group("n"))
        days = words.idiom_days.get(n, n) if m.group("days") else 7 * n
        found.append(Mention(m.start(), m.end(), calendar.today + timedelta(days=days)))
    return [Mention(m.start, m.end, m.value) for m in no_overlap(found) if m.value is not None]
