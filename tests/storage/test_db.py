"""The database engine: a stuck statement cannot hold a webhook (PostgreSQL); durability,
waiting writers (SQLite) and the pool's checks (PostgreSQL) fit each database."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from callcenter.storage import db as db_module
from callcenter.storage.db import Database


@pytest.fixture
def sqlite_url(database_url: str) -> str:
    if not database_url.startswith("sqlite"):
        pytest.skip("a SQLite setting")
    return database_url


def test_sqlite_runs_in_wal_with_normal_synchronous_and_waits_for_locks(sqlite_url: str):
    db = Database(sqlite_url)
    try:
        with db.session() as session:
            assert session.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
            assert session.execute(text("PRAGMA synchronous")).scalar_one() == 1  # NORMAL
            assert session.execute(text("PRAGMA busy_timeout")).scalar_one() == 10_000
    finally:
        db.dispose()


def test_two_workers_writing_at_once_on_sqlite_both_succeed(sqlite_url: str):
    """Each worker reads then writes, as a webhook does: the busy one waits, none fails."""
    workers = [Database(sqlite_url), Database(sqlite_url)]
    with workers[0].session() as session:
        session.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER)"))
        session.execute(text("INSERT INTO counter VALUES (1, 0)"))
    start, errors = threading.Barrier(2), []

    def work(db: Database) -> None:
        start.wait()
        for _ in range(100):
            try:
                with db.session() as session:
                    n = session.execute(text("SELECT n FROM counter WHERE id = 1")).scalar_one()
                    session.execute(text("UPDATE counter SET n = n + 1 WHERE id = 1"))
                    session.execute(text("INSERT INTO counter (n) VALUES (:n)"), {"n": n})
            except OperationalError as exc:
                errors.append(str(exc))

    threads = [threading.Thread(target=work, args=(db,)) for db in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        with workers[1].session() as session:
            assert session.execute(text("SELECT n FROM counter WHERE id = 1")).scalar_one() == 200
    finally:
        for db in workers:
            db.dispose()


@pytest.fixture
def postgres_url(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL setting")
    return database_url


def test_web_connections_carry_a_statement_timeout(postgres_url: str):
    db = Database(postgres_url)
    try:
        with db.session() as session:
            assert session.execute(text("SHOW statement_timeout")).scalar_one() == "5s"
            # The URL's own options (the test schema) still apply.
            assert session.execute(text("SHOW search_path")).scalar_one().startswith("t_")
    finally:
        db.dispose()


def test_a_statement_longer_than_the_timeout_is_cancelled(postgres_url: str):
    db = Database(postgres_url, statement_timeout_ms=100)
    try:
        with pytest.raises(OperationalError, match="statement timeout"), db.session() as session:
            session.execute(text("SELECT pg_sleep(2)"))
        with db.session() as session:  # the connection is usable again
            assert session.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        db.dispose()


def test_commands_and_jobs_may_run_without_the_web_timeout(postgres_url: str):
    db = Database(postgres_url, statement_timeout_ms=None)
    try:
        with db.session() as session:
            assert session.execute(text("SHOW statement_timeout")).scalar_one() == "0"
    finally:
        db.dispose()


def test_a_connection_lost_while_idle_is_replaced_at_checkout(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
):
    """Pinged only after an idle spell (here: any), and a dead one is never handed out."""
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_S", 0.0)
    db, killer = Database(postgres_url), Database(postgres_url)
    try:
        with db.session() as session:
            pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with killer.session() as session:
            session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with db.session() as session:
            assert session.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
    finally:
        db.dispose()
        killer.dispose()


def test_a_busy_connection_is_not_pinged_before_every_request(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
):
    """Within the idle limit the pool hands the connection out as it is: no round trip."""
    db = Database(postgres_url)
    pings: list[str] = []
    try:
        with db.session() as session:
            session.execute(text("SELECT 1"))
        raw = db.engine.pool._pool.queue[0]  # type: ignore[attr-defined]
        real_cursor = raw.dbapi_connection.cursor

        def cursor(*args: object, **kwargs: object) -> object:
            pings.append("cursor")
            return real_cursor(*args, **kwargs)

        monkeypatch.setattr(raw.dbapi_connection, "cursor", cursor)
        with db.session() as session:
            session.execute(text("SELECT 1"))
        assert pings == ["cursor"]  # the request's own statement, no ping before it
    finally:
        db.dispose()
