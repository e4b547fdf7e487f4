"""The queue of deletions at Twilio: retried with back-off until Twilio confirms, once each.

Twilio is the local fake of ``tests/fake_twilio.py``; the database is SQLite,
and PostgreSQL too when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from twilio.rest import Client

from callcenter.core.twilio_rest import close_client, make_client
from callcenter.notify.deletions import (
    DeletionReport,
    enqueue_deletion,
    kind_of,
    process_remote_deletions,
    sids_in,
)
from callcenter.notify.models import RemoteDeletion
from callcenter.storage.db import Database
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, closed_port

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
PRACTICE = "p1"


def sid(prefix: str, n: int) -> str:
    return f"{prefix}{n:032x}"


def path(one: str) -> str:
    """Where Twilio's REST API deletes this SID."""
    collection = {"RE": "Recordings", "TR": "Transcriptions", "CA": "Calls"}[one[:2]]
    return f"/2010-04-01/Accounts/{ACCOUNT_SID}/{collection}/{one}.json"


@pytest.fixture
def client(fake_twilio: FakeTwilio) -> Iterator[Client]:
    twilio = make_client(ACCOUNT_SID, AUTH_TOKEN, api_base=fake_twilio.base_url)
    yield twilio
    close_client(twilio)


def queued(session: Session) -> dict[str, RemoteDeletion]:
    return {r.sid: r for r in session.execute(select(RemoteDeletion)).scalars()}


def together(worker: Callable[[], None]) -> None:
    """Run ``worker`` in two threads at once (each opens its own session)."""
    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)


def test_a_failed_delete_is_retried_after_the_back_off_until_it_succeeds(
    db: Database, client: Client, fake_twilio: FakeTwilio
) -> None:
    target = sid("RE", 7)
    with db.session() as s:
        assert enqueue_deletion(s, PRACTICE, "recording", target, NOW)
    fake_twilio.fail_next(target, times=2, status=500)

    def run(at: datetime) -> DeletionReport:
        with db.session() as s:
            return process_remote_deletions(s, client, at, retry_minutes=15)

    assert run(NOW) == DeletionReport(failed=1)
    with db.session() as s:
        job = queued(s)[target]
        assert (job.attempts, job.last_error, job.done_at) == (1, "http-500", None)
        assert job.due_at == NOW + timedelta(minutes=15)
    assert run(NOW + timedelta(minutes=15) - SECOND) == DeletionReport()
    assert run(NOW + timedelta(minutes=15)) == DeletionReport(failed=1)
    assert run(NOW + timedelta(minutes=45) - SECOND) == DeletionReport()  # 15 min, then 30
    assert run(NOW + timedelta(minutes=45)) == DeletionReport(deleted=1)
    with db.session() as s:
        job = queued(s)[target]
        assert (job.attempts, job.last_error, job.done_at) == (3, None, NOW + timedelta(minutes=45))
    assert len(fake_twilio.deletes(target)) == 3


def test_the_back_off_stops_doubling_after_six_failures(db: Database) -> None:
    with db.session() as s:
        enqueue_deletion(s, PRACTICE, "call", sid("CA", 1), NOW)
        s.execute(update(RemoteDeletion).values(attempts=9))
    refused = make_client(ACCOUNT_SID, AUTH_TOKEN, api_base=f"http://127.0.0.1:{closed_port()}")
    try:
        with db.session() as s:
            assert process_remote_deletions(s, refused, NOW, retry_minutes=15).failed == 1
            job = queued(s)[sid("CA", 1)]
    finally:
        close_client(refused)
    assert (job.last_error, job.attempts) == ("connection", 10)
    assert job.due_at == NOW + timedelta(minutes=15 * 64)


def test_a_sid_twilio_does_not_know_counts_as_done(
    db: Database, client: Client, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.unknown(sid("TR", 1))
    with db.session() as s:
        enqueue_deletion(s, PRACTICE, "transcription", sid("TR", 1), NOW)
    with db.session() as s:
        assert process_remote_deletions(s, client, NOW, retry_minutes=15) == DeletionReport(gone=1)
        assert queued(s)[sid("TR", 1)].done_at == NOW


def test_two_workers_delete_each_sid_once(
    db: Database, client: Client, fake_twilio: FakeTwilio
) -> None:
    """Both workers see the same due rows; the conditional claim gives each to one of them."""
    sids = [sid("RE", n) for n in range(1, 31)]
    with db.session() as s:
        for one in sids:
            enqueue_deletion(s, PRACTICE, "recording", one, NOW)
    fake_twilio.delay = 0.005
    start, reports = threading.Barrier(2), []

    def worker() -> None:
        twilio = make_client(ACCOUNT_SID, AUTH_TOKEN, api_base=fake_twilio.base_url)
        try:
            start.wait()
            with db.session() as s:
                reports.append(process_remote_deletions(s, twilio, NOW, retry_minutes=15))
        finally:
            close_client(twilio)

    together(worker)
    assert len(reports) == 2 and sum(r.deleted for r in reports) == 30
    assert sorted(r.path for r in fake_twilio.deletes()) == sorted(path(one) for one in sids)


def test_enqueueing_is_idempotent_and_only_ever_brings_a_deletion_forward(db: Database) -> None:
    one = sid("RE", 1)
    with db.session() as s:
        assert enqueue_deletion(s, PRACTICE, "recording", one, NOW + timedelta(days=1))
        assert not enqueue_deletion(s, PRACTICE, "recording", one, NOW + timedelta(days=1))
        assert enqueue_deletion(s, PRACTICE, "recording", one, NOW)
        assert not enqueue_deletion(s, PRACTICE, "recording", one, NOW + timedelta(days=2))
        assert [j.due_at for j in queued(s).values()] == [NOW]
        with pytest.raises(ValueError):
            enqueue_deletion(s, PRACTICE, "recording", "RE../../Calls", NOW)
        with pytest.raises(ValueError):
            enqueue_deletion(s, PRACTICE, "message", sid("SM", 1), NOW)


def test_sids_are_found_anywhere_in_a_calls_state_and_only_well_formed_ones() -> None:
    state = {"dial": sid("CA", 1), "legs": [sid("CA", 2), "CA-not-a-sid"], "n": 3,
             "recording": {"sid": sid("RE", 4)}, "note": "RE" + "x" * 32}  # fmt: skip
    assert sids_in(state) == [sid("CA", 1), sid("CA", 2), sid("RE", 4)]
    assert [kind_of(one) for one in sids_in(state)] == ["call", "call", "recording"]


def test_a_dry_run_says_what_would_be_queued_and_queues_nothing(db: Database) -> None:
    one = sid("TR", 1)
    with db.session() as s:
        assert enqueue_deletion(s, PRACTICE, "transcription", one, NOW, dry_run=True)
        assert queued(s) == {}
        enqueue_deletion(s, PRACTICE, "transcription", one, NOW + timedelta(days=1))
        assert enqueue_deletion(s, PRACTICE, "transcription", one, NOW, dry_run=True)
        assert not enqueue_deletion(s, PRACTICE, "transcription", one, NOW + timedelta(days=2),
                                    dry_run=True)  # fmt: skip
        assert [j.due_at for j in queued(s).values()] == [NOW + timedelta(days=1)]
