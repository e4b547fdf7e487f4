"""Database engine and sessions (SQLAlchemy 2.x).

The session belongs to the boundary (a request, a job, a command): it opens
one with :meth:`Database.session`, domain functions take it as a parameter and
never commit on their own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, TypeDecorator, create_engine, event
from sqlalchemy.engine import Dialect, Engine
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


def make_engine(url: str, statement_timeout_ms: int | None = WEB_STATEMENT_TIMEOUT_MS) -> Engine:
    """An engine with pre-ping (a restarted database is noticed, not a stale socket).

    On PostgreSQL every connection gets ``statement_timeout``: a stuck query
    fails fast and the webhook answers safely instead of waiting for ever.
    """
    kwargs: dict[str, object] = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    elif statement_timeout_ms:

        @event.listens_for(engine, "connect")
        def _statement_timeout(dbapi_conn: Any, _record: Any) -> None:
            with dbapi_conn.cursor() as cursor:
                cursor.execute(f"SET statement_timeout = {int(statement_timeout_ms)}")
            dbapi_conn.commit()

    return engine


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
