"""The shared work queue: claimed once, backed off, given up on, on SQLite and PostgreSQL.

A probe queue on the notices table stands for the four real ones: its sender
only records what it was given and does what the test says.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.notify import deletions, notices, outbox
from callcenter.notify.models import Notice
from callcenter.notify.workqueue import (
    FAILED,
    GIVEN_UP,
    SKIPPED,
    Backoff,
    Failed,
    WorkQueue,
)
from callcenter.storage.db import Database, new_id

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)


def ok(row: Notice) -> None:
    """A sender whose other end takes everything."""


class Probe(WorkQueue[Notice]):
    model, event = Notice, "probe"
    lease = 2 * MINUTE
    backoff = Backoff(first=MINUTE, doublings=2, ceiling=3 * MINUTE)  # 1, 2, 3, 3 … minutes
    max_attempts: int | None = 4

    def __init__(self, behave: Callable[[Notice], None] = ok) -> None:
        self.behave = behave
        self.sent: list[str] = []

    def send(self, session: Session, row: Notice, now: datetime) -> str:
        self.sent.append(row.id)
        self.behave(row)
        row.status, row.sent_at = "sent", now
        return "sent"


def refuse(row: Notice) -> None:
    raise Failed("http-503")


def add(db: Database, n: int = 1, due: datetime = NOW) -> list[str]:
    with db.session() as s:
        rows = [
            Notice(id=new_id(), practice_id="p1", kind="urgent-call", doctor_id="d1",
                   reference=f"R{i}", status="pending", attempts=0, due_at=due)
            for i in range(n)
        ]  # fmt: skip
        s.add_all(rows)
        return [row.id for row in rows]


def run(db: Database, queue: Probe, at: datetime) -> Counter[str]:
    with db.session() as s:
        return queue.process(s, queue.due(s, at, 50), at)


def row(db: Database, row_id: str) -> Notice:
    with db.session() as s:
        return s.get_one(Notice, row_id)


# -- back-off ---------------------------------------------------------------------


def test_the_back_off_doubles_then_stops_doubling_and_never_passes_its_ceiling() -> None:
    probe = Backoff(first=MINUTE, doublings=2, ceiling=3 * MINUTE)
    assert [probe.after(n) / MINUTE for n in range(1, 6)] == [1, 2, 3, 3, 3]
    assert [notices.BACKOFF.after(n) / MINUTE for n in range(1, 9)] == [
        2, 4, 8, 16, 32, 64, 64, 64,
    ]  # fmt: skip
    assert [outbox.BACKOFF.after(n) / MINUTE for n in range(1, 13)] == [
        1, 2, 4, 8, 16, 32, 60, 60, 60, 60, 60, 60,
    ]  # fmt: skip
    deletion = Backoff(15 * MINUTE, deletions.MAX_BACKOFF_EXPONENT)
    assert [deletion.after(n) / MINUTE for n in (1, 2, 7, 10)] == [15, 30, 960, 960]


# -- claiming ---------------------------------------------------------------------


def test_a_row_is_claimed_once_and_held_for_the_lease(db: Database) -> None:
    (one,) = add(db)
    with db.session() as first, db.session() as second:
        assert Probe().claim(first, one, NOW)
        assert not Probe().claim(second, one, NOW)
        assert not Probe().claim(second, one, NOW + 2 * MINUTE - SECOND)
    held = row(db, one)
    assert (held.attempts, held.due_at, held.status) == (1, NOW + 2 * MINUTE, "pending")
    with db.session() as s:  # a worker that died mid-send: the row comes back with the lease
        assert Probe().claim(s, one, NOW + 2 * MINUTE)
    assert row(db, one).attempts == 2


def test_two_claimers_at_once_take_each_row_once(db: Database) -> None:
    """Both see the same due rows; the conditional UPDATE's row count gives each to one."""
    ids = add(db, 30)
    start = threading.Barrier(2)
    claimed: list[list[str]] = []

    def claimer() -> None:
        start.wait()
        with db.session() as s:
            mine = [one for one in ids if Probe().claim(s, one, NOW)]
        claimed.append(mine)

    threads = [threading.Thread(target=claimer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(claimed) == 2
    assert sorted(claimed[0] + claimed[1]) == sorted(ids)
    with db.session() as s:
        assert set(s.scalars(select(Notice.attempts))) == {1}


def test_two_workers_at_once_send_each_row_once(db: Database) -> None:
    ids = add(db, 20)
    start, probes = threading.Barrier(2), [Probe(), Probe()]
    outcomes: list[Counter[str]] = []

    def worker(probe: Probe) -> None:
        start.wait()
        with db.session() as s:
            due = probe.due(s, NOW, 50)
            outcomes.append(probe.process(s, due, NOW))

    threads = [threading.Thread(target=worker, args=(p,)) for p in probes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(probes[0].sent + probes[1].sent) == sorted(ids)
    total = outcomes[0] + outcomes[1]
    # A row listed by both is claimed by one; the other counts it as skipped.
    assert len(outcomes) == 2 and total["sent"] == 20 and total[SKIPPED] <= 20


def test_a_row_not_due_or_done_is_not_claimed(db: Database) -> None:
    later, done = add(db, 1, due=NOW + SECOND)[0], add(db)[0]
    assert run(db, Probe(), NOW) == Counter(sent=1)
    with db.session() as s:
        assert not Probe().claim(s, later, NOW)
        assert not Probe().claim(s, done, NOW + SECOND)
        assert Probe().due(s, NOW + SECOND, 50) == [later]


# -- failures -----------------------------------------------------------------------


def test_a_refused_row_is_retried_on_the_back_off_schedule(db: Database) -> None:
    (one,) = add(db)
    probe = Probe(refuse)
    assert run(db, probe, NOW) == Counter({FAILED: 1})
    failed = row(db, one)
    assert (failed.attempts, failed.last_error, failed.status) == (1, "http-503", "pending")
    at = NOW
    for wait in (1, 2, 3):  # minutes, as the back-off says
        at = at + wait * MINUTE
        assert run(db, probe, at - SECOND) == Counter()
        assert row(db, one).due_at == at
        assert run(db, probe, at) == Counter({FAILED: 1} if wait < 3 else {GIVEN_UP: 1})
    assert len(probe.sent) == 4


def test_after_the_last_attempt_the_row_is_given_up_and_never_sent_again(db: Database) -> None:
    (one,) = add(db)
    probe = Probe(refuse)
    probe.max_attempts = 2
    assert run(db, probe, NOW) == Counter({FAILED: 1})
    assert run(db, probe, NOW + MINUTE) == Counter({GIVEN_UP: 1})
    given_up = row(db, one)
    assert (given_up.status, given_up.attempts, given_up.last_error) == ("failed", 2, "http-503")
    assert run(db, probe, NOW + timedelta(days=1)) == Counter()
    assert len(probe.sent) == 2


def test_a_queue_without_a_last_attempt_retries_for_ever(db: Database) -> None:
    (one,) = add(db)
    probe = Probe(refuse)
    probe.max_attempts = None
    at = NOW
    for _ in range(10):
        assert run(db, probe, at) == Counter({FAILED: 1})
        at = row(db, one).due_at
    assert (row(db, one).status, row(db, one).attempts) == ("pending", 10)


def test_a_long_error_code_is_cut_to_the_column(db: Database) -> None:
    (one,) = add(db)

    def verbose(row: Notice) -> None:
        raise Failed("x" * 200)

    run(db, Probe(verbose), NOW)
    assert row(db, one).last_error == "x" * 64


def test_a_sender_that_raises_anything_else_stops_the_batch_and_the_lease_brings_it_back(
    db: Database,
) -> None:
    """A bug is not retried quietly as a failure: it propagates, the claim stands."""
    (one,) = add(db)
    calls: list[str] = []

    def buggy(row: Notice) -> None:
        calls.append(row.id)
        if len(calls) == 1:
            raise KeyError("no catalogue")

    with pytest.raises(KeyError):
        run(db, Probe(buggy), NOW)
    held = row(db, one)
    assert (held.status, held.attempts, held.last_error) == ("pending", 1, None)
    assert run(db, Probe(buggy), NOW + 2 * MINUTE - SECOND) == Counter()
    assert run(db, Probe(buggy), NOW + 2 * MINUTE) == Counter(sent=1)
    assert row(db, one).attempts == 2
