"""Call statistics: exact buckets, counts and percentiles from rows of known times.

On SQLite, and PostgreSQL too when TEST_DATABASE_URL is set.  The last test
places real calls through the Twilio emulator and counts what they stored.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from callcenter.appointments.models import Appointment
from callcenter.backoffice.stats import (
    CATEGORIES,
    CallStats,
    MessageCounts,
    OutcomeCounts,
    Summary,
    call_stats,
    outcome_category,
    summarize,
)
from callcenter.calls.models import Call, QueueEntry
from callcenter.messages.models import Message
from callcenter.security.encrypted import using_cipher
from callcenter.storage.db import Database
from tests.conftest import CALLER, services, set_clock

PARIS = ZoneInfo("Europe/Paris")
PRACTICE = "p1"
OTHER = "p2"
_sids = itertools.count(1)


def paris(text: str) -> datetime:
    """A local time in Paris (the offset of that day, summer or winter)."""
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# Every test here encrypts or decrypts: a fresh cipher is bound for each (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("cipher")


def add_call(
    session: Session,
    at: datetime,
    outcome: str | None = None,
    *,
    urgent: bool = False,
    duration: int | None = None,
    practice: str = PRACTICE,
) -> Call:
    """A call with an (encrypted) caller number, as the engine stores them."""
    call = Call(
        practice_id=practice,
        call_sid=f"CA{next(_sids):032x}",
        caller=CALLER,
        started_at=at,
        ended_at=at + timedelta(seconds=duration) if duration is not None else None,
        duration=duration,
        outcome=outcome,
        urgent=urgent,
        flow="main",
        node="greeting",
        seq=1,
        state={},
    )
    session.add(call)
    session.flush()
    return call


def add_wait(
    session: Session, at: datetime, seconds: int | None, practice: str = PRACTICE
) -> QueueEntry:
    call = add_call(session, at, practice=practice)
    entry = QueueEntry(
        call_id=call.id,
        practice_id=practice,
        queue=practice,
        enqueued_at=at,
        left_at=at + timedelta(seconds=seconds) if seconds is not None else None,
        result="bridged" if seconds is not None else None,
    )
    session.add(entry)
    return entry


def add_message(
    session: Session,
    at: datetime,
    *,
    urgent: bool = False,
    callback: bool = False,
    practice: str = PRACTICE,
) -> None:
    session.add(
        Message(
            practice_id=practice,
            created_at=at,
            urgent=urgent,
            callback_requested=callback,
            callback_number=CALLER,
            transcript="Zoé Canary a de la fièvre",
        )
    )


def stats(db: Database, start: datetime, end: datetime, practice: str = PRACTICE) -> CallStats:
    with db.session() as session:
        return call_stats(session, practice, start, end, PARIS)


WEEK_START, WEEK_END = paris("2026-11-23T00:00"), paris("2026-11-30T00:00")


# -- hours and days ------------------------------------------------------------------


def test_it_counts_calls_by_local_hour_and_by_day(db):
    """Hours and days are the practice's, not UTC's: 23:59 in Paris is 22:59 UTC."""
    with db.session() as session:
        for moment in ("2026-11-24T08:30", "2026-11-24T08:59:59", "2026-11-24T09:00",
                       "2026-11-24T23:59", "2026-11-25T00:00", "2026-11-27T14:10"):  # fmt: skip
            add_call(session, paris(moment))
    result = stats(db, WEEK_START, WEEK_END)
    assert result.total == 6
    expected = [0] * 24
    expected[8], expected[9], expected[23], expected[0], expected[14] = 2, 1, 1, 1, 1
    assert list(result.by_hour) == expected
    assert result.by_day == (
        (date(2026, 11, 23), 0),
        (date(2026, 11, 24), 4),
        (date(2026, 11, 25), 1),
        (date(2026, 11, 26), 0),
        (date(2026, 11, 27), 1),
        (date(2026, 11, 28), 0),
        (date(2026, 11, 29), 0),
    )


def test_the_period_includes_its_start_and_excludes_its_end(db):
    start, end = paris("2026-11-24T00:00"), paris("2026-11-25T00:00")
    with db.session() as session:
        add_call(session, start - timedelta(microseconds=1), "transferred")
        add_call(session, start, "message")
        add_call(session, end - timedelta(seconds=1), "message")
        add_call(session, end, "transferred")
        add_wait(session, start - timedelta(seconds=1), 50)  # enqueued before: not counted
        add_wait(session, end - timedelta(seconds=1), 30)  # left after the end: counted
        add_message(session, start)
        add_message(session, end)
    result = stats(db, start, end)
    assert result.total == 3  # the two messages' calls and the last wait's call
    assert result.outcomes.messages == 2 and result.outcomes.answered == 0
    assert result.by_day == ((date(2026, 11, 24), 3),)
    assert result.waiting == Summary(count=1, mean=30.0, median=30.0, p90=30.0)
    assert result.messages.total == 1


def test_a_period_not_starting_at_midnight_lists_every_day_it_touches(db):
    result = stats(db, paris("2026-11-24T18:00"), paris("2026-11-26T00:00:01"))
    assert [day for day, _ in result.by_day] == [
        date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26),
    ]  # fmt: skip


def test_the_autumn_change_of_time_counts_the_repeated_hour_twice(db):
    """25 Oct 2026: 03:00 summer time becomes 02:00 winter time; that day lasts 25 hours."""
    with db.session() as session:
        add_call(session, utc("2026-10-25T00:30"))  # 02:30 summer time
        add_call(session, utc("2026-10-25T01:30"))  # 02:30 winter time
        add_call(session, utc("2026-10-25T22:59"))  # 23:59 winter time, same day
        add_call(session, utc("2026-10-25T23:00"))  # midnight: the next day
    result = stats(db, paris("2026-10-25T00:00"), paris("2026-10-26T00:00"))
    assert result.by_hour[2] == 2 and result.by_hour[23] == 1 and result.total == 3
    assert result.by_day == ((date(2026, 10, 25), 3),)


def test_the_spring_change_of_time_has_no_local_2_oclock(db):
    """29 Mar 2026: 02:00 winter time becomes 03:00 summer time (01:00 UTC)."""
    with db.session() as session:
        add_call(session, utc("2026-03-28T23:30"))  # 00:30 on the 29th, local
        add_call(session, utc("2026-03-29T00:59"))  # 01:59
        add_call(session, utc("2026-03-29T01:00"))  # 03:00
        add_call(session, utc("2026-03-29T21:59"))  # 23:59
    result = stats(db, paris("2026-03-29T00:00"), paris("2026-03-30T00:00"))
    assert result.by_hour[0] == result.by_hour[1] == result.by_hour[3] == 1
    assert result.by_hour[2] == 0 and result.by_hour[23] == 1
    assert result.by_day == ((date(2026, 3, 29), 4),)


def test_an_empty_period_counts_nothing_and_divides_by_nothing(db):
    with db.session() as session:
        add_call(session, paris("2026-11-24T10:00"), "transferred", duration=30)
    moment = paris("2026-11-24T10:00")
    empty = stats(db, moment, moment)
    assert empty.total == 0 and empty.by_hour == (0,) * 24 and empty.by_day == ()
    assert empty.outcomes == OutcomeCounts() and empty.urgent == 0
    assert empty.waiting == empty.handling == Summary(0, None, None, None)
    assert empty.messages == MessageCounts()
    quiet = stats(db, paris("2026-11-25T00:00"), paris("2026-11-26T00:00"))
    assert quiet.total == 0 and quiet.by_day == ((date(2026, 11, 25), 0),)


def test_a_naive_or_reversed_period_is_refused(db):
    with db.session() as session:
        with pytest.raises(ValueError, match="timezone-aware"):
            call_stats(session, PRACTICE, datetime(2026, 11, 24), WEEK_END, PARIS)
        with pytest.raises(ValueError, match="ends before"):
            call_stats(session, PRACTICE, WEEK_END, WEEK_START, PARIS)


# -- outcomes, urgency, messages -----------------------------------------------------------


def test_each_stored_outcome_counts_in_one_category(db):
    outcomes = {
        "transferred": 3, "on-call": 1, "message": 2, "callback": 1, "booked": 2, "moved": 1,
        "cancelled": 1, "hung-up": 2, "abandoned": 1, "no-message": 1, "throttled": 1,
        "some-new-outcome": 1, None: 1,
    }  # fmt: skip
    with db.session() as session:
        moments = (WEEK_START + timedelta(minutes=n) for n in itertools.count())
        for outcome, count in outcomes.items():
            for _ in range(count):
                add_call(session, next(moments), outcome)
    result = stats(db, WEEK_START, WEEK_END)
    assert result.outcomes == OutcomeCounts(
        answered=3, on_call=1, messages=3, appointments=4, abandoned=4, other=3
    )
    assert result.outcomes.total == result.total == 18
    assert [name for name, _ in result.outcomes.items()] == list(CATEGORIES)


def test_urgent_calls_are_counted_whatever_their_outcome(db):
    with db.session() as session:
        add_call(session, paris("2026-11-24T10:00"), "on-call", urgent=True)
        add_call(session, paris("2026-11-24T10:05"), "message", urgent=True)
        add_call(session, paris("2026-11-24T10:10"), "transferred")
    result = stats(db, WEEK_START, WEEK_END)
    assert result.urgent == 2
    assert result.outcomes.on_call == 1 and result.outcomes.messages == 1


def test_messages_are_counted_with_their_urgent_and_call_back_flags(db):
    with db.session() as session:
        add_message(session, paris("2026-11-24T10:00"))
        add_message(session, paris("2026-11-24T11:00"), urgent=True)
        add_message(session, paris("2026-11-24T12:00"), callback=True)
        add_message(session, paris("2026-11-24T13:00"), urgent=True, callback=True)
    assert stats(db, WEEK_START, WEEK_END).messages == MessageCounts(
        total=4, urgent=2, callback_requested=2
    )


def test_outcome_category_puts_unknown_outcomes_in_other():
    assert outcome_category("transferred") == "answered"
    assert outcome_category("hung-up") == "abandoned"
    assert outcome_category(None) == outcome_category("") == outcome_category("x") == "other"


# -- waiting and handling times --------------------------------------------------------------


def test_handling_times_are_the_calls_durations_with_exact_percentiles(db):
    with db.session() as session:
        for n, seconds in enumerate([600, 30, 120, 60, 90]):
            add_call(session, paris("2026-11-24T10:00") + timedelta(minutes=n), duration=seconds)
        add_call(session, paris("2026-11-24T11:00"))  # still in progress: no duration yet
    handling = stats(db, WEEK_START, WEEK_END).handling
    # Sorted 30 60 90 120 600: the median is the third; p90 sits 0.6 of the way from 120 to 600.
    assert handling == Summary(count=5, mean=180.0, median=90.0, p90=408.0)


def test_waiting_times_run_from_entering_to_leaving_the_queue(db):
    with db.session() as session:
        for n, seconds in enumerate([40, 10, 30, 20]):
            add_wait(session, paris("2026-11-24T10:00") + timedelta(minutes=n), seconds)
        add_wait(session, paris("2026-11-24T11:00"), None)  # still waiting: no time yet
    waiting = stats(db, WEEK_START, WEEK_END).waiting
    assert waiting == Summary(count=4, mean=25.0, median=25.0, p90=37.0)


def test_summaries_of_one_value_and_of_none():
    assert summarize([7]) == Summary(1, 7.0, 7.0, 7.0)
    assert summarize([]) == Summary(0, None, None, None)
    assert summarize([1, 2]) == Summary(2, 1.5, 1.5, 1.9)


# -- isolation and privacy -------------------------------------------------------------------


def test_another_practices_calls_queue_and_messages_are_not_counted(db):
    with db.session() as session:
        add_call(session, paris("2026-11-24T10:00"), "transferred", duration=60)
        add_call(session, paris("2026-11-24T10:00"), "message", duration=99, practice=OTHER)
        add_wait(session, paris("2026-11-24T10:00"), 500, practice=OTHER)
        add_message(session, paris("2026-11-24T10:00"), practice=OTHER)
    result = stats(db, WEEK_START, WEEK_END)
    assert result.total == 1 and result.outcomes.answered == 1 and result.outcomes.messages == 0
    assert result.handling == Summary(1, 60.0, 60.0, 60.0)
    assert result.waiting.count == 0 and result.messages.total == 0
    assert stats(db, WEEK_START, WEEK_END, practice=OTHER).total == 2


ENCRYPTED_COLUMNS = re.compile(r"\b(caller|callback_number|transcript|twiml|name|phone|detail)\b")


def test_it_reads_no_encrypted_column_and_needs_no_key(db):
    """Narrow queries (three of calls, one each of requests and SMS cancellations, three of
    the waiting list); with no cipher installed any decryption would raise."""
    with db.session() as session:
        add_call(session, paris("2026-11-24T10:00"), "transferred", duration=60, urgent=True)
        add_wait(session, paris("2026-11-24T10:05"), 30)
        add_message(session, paris("2026-11-24T10:10"), callback=True)
    statements: list[str] = []

    def capture(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        with using_cipher(None):
            result = stats(db, WEEK_START, WEEK_END)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    assert result.total == 2 and result.urgent == 1 and result.messages.callback_requested == 1
    queries = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(queries) == 8
    for query in queries:
        assert not ENCRYPTED_COLUMNS.search(query), query


# -- real calls ------------------------------------------------------------------------------


def test_calls_placed_through_twilio_are_counted_as_they_ended(app, twilio, practice_number):
    """A morning at the demo practice (Tuesday 24 Nov 2026), driven webhook by webhook.

    Every emulated call ends with Twilio's CallDuration of 42 seconds.
    """
    set_clock(app, "2026-11-24T10:00:00+01:00")
    twilio.place_call(CALLER, practice_number).press("3").answer().hangup()  # a secretary
    set_clock(app, "2026-11-24T10:05:00+01:00")
    gave_up = twilio.place_call("+33611111111", practice_number).press("3").busy()
    set_clock(app, "2026-11-24T10:06:30+01:00")
    gave_up.hangup()  # after 90 s in the queue
    set_clock(app, "2026-11-24T10:10:00+01:00")
    callback = twilio.place_call("+33622222222", practice_number).press("3").busy()
    set_clock(app, "2026-11-24T10:11:00+01:00")
    callback.press("1")  # after 60 s in the queue: "call me back"
    assert callback.ended
    set_clock(app, "2026-11-24T11:30:00+01:00")
    urgent = twilio.place_call("+33633333333", practice_number).press("9")
    urgent.answer().hangup()  # office hours: the secretaries take urgent calls
    set_clock(app, "2026-11-24T11:45:00+01:00")
    twilio.place_call("+33644444444", practice_number).hangup()  # during the greeting
    with services(app).db.session() as session:
        result = call_stats(
            session, "demo", paris("2026-11-24T00:00"), paris("2026-11-25T00:00"), PARIS
        )
    assert result.total == 5 and result.by_hour[10] == 3 and result.by_hour[11] == 2
    assert result.by_day == ((date(2026, 11, 24), 5),)
    assert result.outcomes == OutcomeCounts(answered=2, messages=1, abandoned=2)
    assert result.urgent == 1
    assert result.waiting == Summary(count=2, mean=75.0, median=75.0, p90=87.0)
    assert result.handling == Summary(count=5, mean=42.0, median=42.0, p90=42.0)
    assert result.messages == MessageCounts(total=1, urgent=0, callback_requested=1)


def test_cancellations_by_sms_are_counted_in_their_period_and_practice(db: Database) -> None:
    """Only appointments a patient cancelled by SMS, when the cancellation fell in the period."""
    start = paris("2026-11-26T10:00")
    with db.session() as session:
        for practice, status, via, changed in [
            (PRACTICE, "cancelled", "sms", paris("2026-11-24T09:00")),
            (PRACTICE, "cancelled", "sms", paris("2026-11-29T23:59")),
            (PRACTICE, "cancelled", None, paris("2026-11-24T09:00")),  # by phone
            (PRACTICE, "cancelled", "sms", paris("2026-11-30T00:00")),  # after the period
            (OTHER, "cancelled", "sms", paris("2026-11-24T09:00")),
            (PRACTICE, "booked", None, paris("2026-11-24T09:00")),
        ]:  # fmt: skip
            session.add(Appointment(
                practice_id=practice, doctor_id="d", starts_at=start,
                ends_at=start + timedelta(minutes=20), status=status, created_at=WEEK_START,
                updated_at=changed, cancelled_via=via,
            ))  # fmt: skip
    assert stats(db, WEEK_START, WEEK_END).sms_cancellations == 2
    assert stats(db, WEEK_START, WEEK_END, OTHER).sms_cancellations == 1
