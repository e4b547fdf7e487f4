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
