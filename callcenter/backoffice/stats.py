"""Call statistics for a practice over a period: what the administrator's console shows.

Everything here is counted from columns that hold no personal data: call
times, durations, outcomes and urgency flags, queue times, message flags,
and how appointments were cancelled (by a patient's SMS).
No encrypted column is ever selected and nothing is decrypted, so computing
statistics needs neither the key ring nor an audit entry (the audit trail
records accesses to personal data, and this is none).

The queries select narrow columns and the grouping is done in one pass in
Python: bucketing by the practice's local hour and day is then exact across
daylight-saving changes, and identical on SQLite and PostgreSQL (whose date
functions differ).  Percentiles are computed in Python too, for the same
reason.  Knows nothing of Flask; the session belongs to the caller.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta, tzinfo

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from callcenter.appointments.booking import CANCELLED, VIA_SMS
from callcenter.appointments.models import Appointment
from callcenter.calls.models import Call, QueueEntry
from callcenter.messages.models import Message
from callcenter.patient_requests import desk as requests_desk
from callcenter.waitlist import stats as waitlist_stats

__all__ = [
    "CATEGORIES",
    "CallStats",
    "MessageCounts",
    "OutcomeCounts",
    "Summary",
    "call_stats",
    "outcome_category",
    "summarize",
]

# How each stored ``Call.outcome`` counts.  The outcome is the last routing
# fact the flows recorded (callcenter/ivr/nodes/*.py, flows/*.yaml); the status
# callback sets ``hung-up`` on a call that ended before any.  ``transferred``
# is stored when a secretary took the call (a Dial answered and accepted, or
# a bridge from the queue), ``on-call`` when the doctor on call did.
_CATEGORY_OF = {
    "transferred": "answered",
    "on-call": "on_call",
    "message": "messages",
    "callback": "messages",
    "request": "messages",  # a request left (prescription, results, certificate)
    "booked": "appointments",
    "moved": "appointments",
    "cancelled": "appointments",
    "waitlist": "appointments",  # joined the waiting list
    # Missed calls, as the doctors' digests count them (digests.MISSED).
    "hung-up": "abandoned",
    "abandoned": "abandoned",
    "no-message": "abandoned",
}
#: The categories in display order; every call falls in exactly one of them.
CATEGORIES = ("answered", "on_call", "messages", "appointments", "abandoned", "other")

_STREAM_ROWS = 2000  # rows fetched at a time: a year of calls never sits in memory at once


def outcome_category(outcome: str | None) -> str:
    """The category a stored outcome counts in; unknown, throttled or not yet known: other."""
    return _CATEGORY_OF.get(outcome or "", "other")


@dataclass(frozen=True)
class Summary:
    """Count, mean, median and 90th percentile of durations in seconds (None when empty).

    Percentiles interpolate linearly between the two nearest ranks (numpy's
    default, ``statistics.quantiles(method="inclusive")``): the median of two
    values is their mean, and a single value is every percentile.
    """

    count: int
    mean: float | None
    median: float | None
    p90: float | None


def summarize(seconds: Iterable[float]) -> Summary:
    """The :class:`Summary` of some durations."""
    ordered = sorted(seconds)
    if not ordered:
        return Summary(0, None, None, None)
    return Summary(
        count=len(ordered),
        mean=math.fsum(ordered) / len(ordered),
        median=_percentile(ordered, 50),
        p90=_percentile(ordered, 90),
    )


def _percentile(ordered: Sequence[float], percent: int) -> float:
    # The rank in integers (numerator, remainder over 100): 0.9 × 4 as floats is
    # 3.6000000000000001, and the p90 of 30 60 90 120 600 would not be 408 exactly.
    low, remainder = divmod((len(ordered) - 1) * percent, 100)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * remainder / 100)


@dataclass(frozen=True)
class OutcomeCounts:
    """Calls by category (:data:`CATEGORIES`): the parts add up to every call of the period.

    ``answered``: a secretary took the call (at once or from the queue);
    ``on_call``: the doctor on call took it; ``messages``: a message or a
    call-back request was left; ``appointments``: the caller booked, moved or
    cancelled an appointment with the voice server alone; ``abandoned``: the
    caller hung up in the queue, before anything was decided, or left no
    message; ``other``: throttled calls, calls still in progress with no
    outcome yet, and any outcome a new flow may add.
    """

    answered: int = 0
    on_call: int = 0
    messages: int = 0
    appointments: int = 0
    abandoned: int = 0
    other: int = 0

    def items(self) -> list[tuple[str, int]]:
        """(category, count) in display order, for a chart or a table."""
        return [(f.name, getattr(self, f.name)) for f in fields(self)]

    @property
    def total(self) -> int:
        return sum(count for _, count in self.items())


@dataclass(frozen=True)
class MessageCounts:
    """Messages left in the period (from the messages themselves, not the calls' outcomes).

    Differs from ``OutcomeCounts.messages`` when a message was kept on the
    fallback path (the flows failed) or a caller who left one was then put
    through; ``callback_requested`` counts call-back requests among them.
    """

    total: int = 0
    urgent: int = 0
    callback_requested: int = 0


@dataclass(frozen=True)
class CallStats:
    """A practice's calls in [start, end), local times in the practice's time zone.

    ``by_hour[h]`` counts calls that started at local hour ``h`` (0–23) on any
    day of the period; ``by_day`` has one (local date, count) pair for every
    day the period touches, in order, days without calls included.
    ``urgent`` counts calls flagged urgent, whatever their category (an
    urgent call is also answered, a message…).  ``waiting`` summarises the
    time callers spent in the queue (enqueued → left, for entries that
    started in the period and have left); ``handling`` summarises the whole
    length of the calls Twilio reported (``CallDuration``), greeting included.
    ``waiting_list`` counts the entries made, the freed slots offered by SMS
    and those re-filled through the list.
    """

    practice_id: str
    start: datetime
    end: datetime
    total: int
    by_hour: tuple[int, ...]
    by_day: tuple[tuple[date, int], ...]
    outcomes: OutcomeCounts
    urgent: int
    waiting: Summary
    handling: Summary
    messages: MessageCounts
    #: Requests left in the period by kind (prescription, results, certificate), 0s included.
    requests: dict[str, int]
    waiting_list: waitlist_stats.WaitlistCounts
    sms_cancellations: int = 0


def call_stats(
    session: Session, practice_id: str, start: datetime, end: datetime, tz: tzinfo
) -> CallStats:
    """Statistics of ``practice_id``'s calls that started in [start, end).

    Four queries over narrow, unencrypted columns: the calls, the queue
    entries, one aggregate each over the messages and the requests, and one over
    SMS cancellations.  Raises ``ValueError`` when ``start`` or ``end`` is naive
    or ``end`` comes before ``start``.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("call_stats needs timezone-aware start and end")
    if end < start:
        raise ValueError("call_stats: the period ends before it starts")
    by_hour = [0] * 24
    days = _days(start, end, tz)
    by_day = dict.fromkeys(days, 0)
    categories = dict.fromkeys(CATEGORIES, 0)
    urgent = 0
    durations: list[int] = []
    calls = (
        select(Call.started_at, Call.outcome, Call.urgent, Call.duration)
        .where(Call.practice_id == practice_id, Call.started_at >= start, Call.started_at < end)
        .execution_options(yield_per=_STREAM_ROWS)
    )
    for started_at, outcome, is_urgent, duration in session.execute(calls):
        local = started_at.astimezone(tz)
        by_hour[local.hour] += 1
        by_day[local.date()] += 1
        categories[outcome_category(outcome)] += 1
        urgent += bool(is_urgent)
        if duration is not None:
            durations.append(duration)
    return CallStats(
        practice_id=practice_id,
        start=start,
        end=end,
        total=sum(by_hour),
        by_hour=tuple(by_hour),
        by_day=tuple(by_day.items()),
        outcomes=OutcomeCounts(**categories),
        urgent=urgent,
        waiting=summarize(_waits(session, practice_id, start, end)),
        handling=summarize(durations),
        messages=_messages(session, practice_id, start, end),
        requests=requests_desk.counts_by_kind(session, practice_id, start, end),
        sms_cancellations=_sms_cancellations(session, practice_id, start, end),
        waiting_list=waitlist_stats.counts(session, practice_id, start, end),
    )


def _days(start: datetime, end: datetime, tz: tzinfo) -> list[date]:
    """Every local date with an instant in [start, end); none for an empty period."""
    if end <= start:
        return []
    first = start.astimezone(tz).date()
    last = (end - timedelta(microseconds=1)).astimezone(tz).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _waits(session: Session, practice_id: str, start: datetime, end: datetime) -> list[float]:
    query = (
        select(QueueEntry.enqueued_at, QueueEntry.left_at)
        .where(
            QueueEntry.practice_id == practice_id,
            QueueEntry.enqueued_at >= start,
            QueueEntry.enqueued_at < end,
            QueueEntry.left_at.is_not(None),
        )
        .execution_options(yield_per=_STREAM_ROWS)
    )
    # A clock moved back could make a wait negative: it counts as no wait.
    rows = session.execute(query)
    return [max(0.0, (left - entered).total_seconds()) for entered, left in rows if left]


def _messages(session: Session, practice_id: str, start: datetime, end: datetime) -> MessageCounts:
    row = session.execute(
        select(
            func.count(Message.id),
            _count_true(Message.urgent),
            _count_true(Message.callback_requested),
        ).where(
            Message.practice_id == practice_id,
            Message.created_at >= start,
            Message.created_at < end,
        )
    ).one()
    return MessageCounts(total=int(row[0]), urgent=int(row[1]), callback_requested=int(row[2]))


def _sms_cancellations(session: Session, practice_id: str, start: datetime, end: datetime) -> int:
    return int(session.execute(
        select(func.count(Appointment.id)).where(
            Appointment.practice_id == practice_id,
            Appointment.status == CANCELLED,
            Appointment.cancelled_via == VIA_SMS,
            Appointment.updated_at >= start,
            Appointment.updated_at < end,
        )
    ).scalar_one())  # fmt: skip


def _count_true(column: InstrumentedAttribute[bool]) -> ColumnElement[int]:
    """Rows where a boolean column is true: portable (PostgreSQL cannot sum booleans)."""
    return func.coalesce(func.sum(case((column, 1), else_=0)), 0)
