"""Database engine and sessions (SQLAlchemy 2.x).

The session belongs to the boundary (a request, a job, a command): it opens
one with :meth:`Database.session`, domain functions take it as a parameter and
never commit on their own.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, TypeDecorator, create_engine, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker


def new_id() -> str:
    return uuid.uuid4().hex


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    pass


#: A webhook must answer well within Twilio's 15 s: no statement may hold it longer.
WEB_STATEMENT_TIMEOUT_MS = 5000
#: SQLite: how long a write waits for another process's transaction to end.  A
#: webhook's transaction lasts milliseconds: waiting (never failing) is right.
SQLITE_BUSY_TIMEOUT_S = 10
#: SQLite in WAL mode with ``synchronous=NORMAL``: a commit is not flushed to the
#: disk one by one (the WAL is at checkpoints).  A crash of the process loses
#: nothing; a power cut or a crash of the machine may lose the last commits,
#: never the database's consistency (docs/operations/production.md).
SQLITE_SYNCHRONOUS = "NORMAL"
#: PostgreSQL: a connection idle longer than this is checked before use (a
#: restarted database is noticed); a busy one is not pinged on every request.
PING_AFTER_IDLE_S = 30.0
#: Connections older than this are replaced (a proxy or firewall's idle cut).
POOL_RECYCLE_S = 1800
#: A gunicorn sync worker serves one request at a time: one connection, and a
#: few more for what runs beside it (after-commit tasks, a command's threads).
POOL_SIZE, POOL_OVERFLOW = 2, 4


def make_engine(url: str, statement_timeout_ms: int | None = WEB_STATEMENT_TIMEOUT_MS) -> Engine:
    """An engine whose durability and pool fit its database.

    SQLite: WAL, ``synchronous=NORMAL``, a busy timeout.  PostgreSQL: a
    connection idle more than :data:`PING_AFTER_IDLE_S` is pinged at checkout
    (a restarted database is noticed, not a stale socket), others are not
    (a ping per request costs a round trip); every connection gets
    ``statement_timeout``: a stuck query fails fast and the webhook answers
    safely instead of waiting for ever.
    """
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S}
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={SQLITE_SYNCHRONOUS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    engine = create_engine(
        url, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW, pool_recycle=POOL_RECYCLE_S
    )
    _ping_after_idle(engine)
    if statement_timeout_ms:

        @event.listens_for(engine, "connect")
        def _statement_timeout(dbapi_conn: Any, _record: Any) -> None:
            with dbapi_conn.cursor() as cursor:
                cursor.execute(f"SET statement_timeout = {int(statement_timeout_ms)}")
            dbapi_conn.commit()

    return engine


def _ping_after_idle(engine: Engine) -> None:
    """Check a connection at checkout only when it sat idle in the pool for a while.

    A dead one raises :class:`DisconnectionError`: the pool drops it (and, the
    database having restarted, every connection as old) and connects anew.
    """

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _taken(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_S:
            return
        try:
            cursor = dbapi_conn.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            dbapi_conn.rollback()  # the ping's transaction is not the request's
        except Exception as exc:
            raise DisconnectionError("connection lost while idle") from exc


class Database:
    """An engine and its session factory."""

    def __init__(
        self, url: str, statement_timeout_ms: int | None = WEB_STATEMENT_TIMEOUT_MS
    ) -> None:
        self.engine = make_engine(url, statement_timeout_ms)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def create_all(self) -> None:
        """Create every declared table (:mod:`callcenter.schema` declares them all)."""
        Base.metadata.create_all(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on any error."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
