"""The database engine: a stuck statement cannot hold a webhook (PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from callcenter.storage.db import Database


@pytest.fixture
def postgres_url(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("statement timeouts are a PostgreSQL setting")
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
