"""Dates and times as a French caller hears them ("mardi 24 novembre à 9 h 30")."""

from __future__ import annotations

from datetime import datetime

DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def spoken_time(moment: datetime) -> str:
    if moment.minute == 0:
        return f"{moment.hour} h"
    return f"{moment.hour} h {moment.minute:02d}"


def spoken_datetime(moment: datetime) -> str:
    day = "1er" if moment.day == 1 else str(moment.day)
    weekday = DAYS[moment.weekday()]
    return f"{weekday} {day} {MONTHS[moment.month - 1]} à {spoken_time(moment)}"


def spoken_relative(moment: datetime, now: datetime) -> str:
    """``moment`` as heard from ``now`` (same time zone): "cet après-midi à 14 h",
    "demain à 8 h 30", or the full date further off.

    A caller at the lunch break on Monday must not hear "lundi 7 décembre"
    for the same afternoon.
    """
    days = (moment.date() - now.date()).days
    if days == 0:
        part = "ce soir" if moment.hour >= 18 else "cet après-midi"
        return f"{'ce matin' if moment.hour < 12 else part} à {spoken_time(moment)}"
    if days == 1:
        return f"demain à {spoken_time(moment)}"
    return spoken_datetime(moment)


def spoken_phone(e164: str) -> str:
    """A phone number read back in pairs, as French callers say it: "06 12 34 56 78"."""
    digits = "0" + e164[3:] if e164.startswith("+33") and len(e164) == 12 else e164.lstrip("+")
    return " ".join(digits[i : i + 2] for i in range(0, len(digits), 2))


MALE_TITLES = frozenset({"docteur", "professeur", "dr", "pr"})
FEMALE_TITLES = frozenset({"docteure", "professeure", "doctoresse"})


def with_article(called: str) -> str:
    """How a doctor is named after "avec" or "pour": "le docteur Bernard", "la docteure Martin".

    The practice file writes the title as the doctor wants it; the article
    follows the title.  A name with no known title (or one already starting
    with an article) is said as written.
    """
    first, _, rest = called.strip().partition(" ")
    title = first.casefold().rstrip(".")
    if title in MALE_TITLES and rest:
        return f"le {called.strip()}"
    if title in FEMALE_TITLES and rest:
        return f"la {called.strip()}"
    return called
