"""One French (or other catalogued) utterance → a Request: a pure function.

The understanding depends only on (text, catalogue, doctors, moment, time zone,
opening days): no database, no Flask. What a catalogue and a doctors' list
compile to is built once and cached.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, tzinfo
from functools import lru_cache
from typing import NamedTuple, TypeVar

from callcenter.understanding.catalogue import Catalogue
from callcenter.understanding.dates import Calendar, date_mentions
from callcenter.understanding.doctors import DoctorNames, Named
from callcenter.understanding.mentions import Mention, choose, survivors
from callcenter.understanding.request import Request
from callcenter.understanding.times import When, when_mentions

T = TypeVar("T")


class _Doctor(NamedTuple):
    """What is read of a doctor, hashable: the key of the compiled names' cache."""

    id: str
    name: str
    called: str


@lru_cache(maxsize=64)
def _doctor_names(catalogue: Catalogue, doctors: tuple[_Doctor, ...]) -> DoctorNames:
    return DoctorNames.build(doctors, catalogue.titles, catalogue.min_score, catalogue.normalize)


def is_urgent(text: str, catalogue: Catalogue) -> bool:
    """Words of a life-threatening situation, once « pas urgent » and the like are set aside.

    ``text`` is in the catalogue's plain form (Catalogue.normalize).
    """
    if catalogue.urgent is None:
        return False
    if catalogue.not_urgent is not None:
        text = catalogue.not_urgent.sub(" ", text)
    return catalogue.urgent.search(text) is not None


def intent_of(text: str, catalogue: Catalogue) -> str:
    """The first intent of the catalogue's priority order that was heard and not denied.

    « je ne veux pas de rendez-vous, juste une ordonnance » is a prescription;
    an intent only heard denied still counts when nothing else was heard.
    """
    mentions: list[Mention[int]] = []
    for rank, (_, pattern) in enumerate(catalogue.intents):
        mentions.extend(Mention(m.start(), m.end(), rank) for m in pattern.finditer(text))
    if not mentions:
        return "other"
    kept = survivors(text, mentions, catalogue.hearing) or mentions
    return catalogue.intents[min(m.value for m in kept)][0]


def understand(
    text: str,
    catalogue: Catalogue,
    doctors: Iterable[Named],
    moment: datetime,
    timezone: tzinfo,
    open_days: Iterable[int] | None = None,
    closed: Callable[[date], bool] | None = None,
) -> Request:
    """What the caller asks for in ``text``, said at ``moment`` to a practice in ``timezone``.

    ``open_days`` (0 = Monday) and ``closed`` (public holidays, closures) place
    « la semaine prochaine » on the practice's first open day; without them, Monday.
    """
    words = catalogue.normalize(text)
    numbers = catalogue.normalize_digits(text)
    urgent = is_urgent(words, catalogue)
    names = _doctor_names(catalogue, tuple(_Doctor(d.id, d.name, d.called) for d in doctors))
    doctor = choose(words, names.mentions(words), catalogue.hearing)
    calendar = Calendar(
        today=moment.astimezone(timezone).date(),
        open_days=frozenset(open_days) if open_days else frozenset({0}),
        closed=closed,
    )
    days = _asked(numbers, date_mentions(numbers, catalogue.dates, calendar), catalogue)
    day = choose(numbers, days, catalogue.hearing)
    when = _when(numbers, catalogue)
    return Request(
        intent="urgent" if urgent else intent_of(words, catalogue),
        doctor=doctor.value if doctor else None,
        date=day.value if day else None,
        period=when.period if when else None,
        time=when.time if when else None,
        urgent=urgent,
    )


def _asked(text: str, mentions: list[Mention[T]], catalogue: Catalogue) -> list[Mention[T]]:
    """Days and times asked for: not those dating the past (« mal depuis ce matin »)."""
    since = catalogue.since
    if since is None:
        return mentions
    return [m for m in mentions if not since.search(text, max(0, m.start - 40), m.start)]


def _when(text: str, catalogue: Catalogue) -> When | None:
    """The period asked for; its time when one was said and agrees with it.

    « jeudi matin vers 10 h » is 10:00; « pas à 10 h, l'après-midi » the afternoon alone.
    """
    mentions = _asked(text, when_mentions(text, catalogue.times), catalogue)
    chosen = choose(text, mentions, catalogue.hearing)
    if chosen is None or chosen.value.time is not None:
        return chosen.value if chosen else None
    timed = [m for m in survivors(text, mentions, catalogue.hearing) if m.value.time]
    if timed and timed[-1].value.period == chosen.value.period:
        return timed[-1].value
    return chosen.value
