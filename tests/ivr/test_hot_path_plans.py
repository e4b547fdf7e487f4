"""Flat as it grows: every statement a webhook sends finds its rows through an index.

The demo's journeys run (as in test_replay_golden.py) while every statement the
voice, step and status webhooks send is recorded with its parameters; each is
then explained by PostgreSQL with sequential scans disabled, and by SQLite.  A
plan that still reads a whole table of calls, steps, patients, messages,
appointments or queue rows means a webhook whose cost grows with the data.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, has_request_context, request
from sqlalchemy import event

from tests.conftest import services
from tests.ivr.test_replay_golden import run_journeys
from tests.ivr.test_replay_golden import transcription_engine as transcription_engine

HOT_ROUTES = ("/twilio/voice", "/twilio/step", "/twilio/status")
#: Tables that hold a row or a few per key or practice, whatever the traffic.
SMALL_TABLES = frozenset({"key_usage", "audit_head", "audit_anchor", "key_check"})


@pytest.fixture
def hot_statements(app: Flask) -> Iterator[list[tuple[str, Any]]]:
    """(SQL, parameters) of every statement sent inside a voice, step or status webhook."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, sql: str, params: Any, _ctx: Any, many: bool) -> None:
        if has_request_context() and request.path in HOT_ROUTES and not many:
            seen.append((sql, params))

    engine = services(app).db.engine
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def full_scans(app: Flask, sql: str, params: Any) -> list[str]:
    """The tables ``sql`` would read whole (other than the small ones)."""
    engine = services(app).db.engine
    with engine.connect() as conn:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        if engine.dialect.name == "postgresql":
            # On a test's few rows the planner may prefer a hash or merge join over whole
            # indexes, which says nothing of a large table: ask only whether an index reaches
            # the rows (a nested loop of index lookups), as it does when tables are big.
            for setting in ("enable_seqscan", "enable_hashjoin", "enable_mergejoin"):
                cursor.execute(f"SET {setting} = off")
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
            found = [_relation(node) for node in _nodes(plan[0]["Plan"]) if _whole(node)]
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            # "SCAN t" reads t whole (in an index's order too); "SEARCH t USING …" does not.
            found = [
                detail.split()[1]
                for *_, detail in cursor.fetchall()
                if detail.startswith("SCAN ") and "CONSTANT ROW" not in detail
            ]
        conn.rollback()
    return [table for table in found if table not in SMALL_TABLES]


def _whole(node: dict[str, Any]) -> bool:
    """A sequential scan, or an index read from end to end (no condition on its keys)."""
    kind = node.get("Node Type", "")
    if kind == "Seq Scan":
        return True
    return kind in ("Index Scan", "Index Only Scan", "Bitmap Index Scan") and not node.get(
        "Index Cond"
    )


def _relation(node: dict[str, Any]) -> str:
    return str(node.get("Relation Name") or node.get("Index Name"))


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def test_every_statement_of_a_webhook_uses_an_index(
    app: Flask, hot_statements: list[tuple[str, Any]], monkeypatch: pytest.MonkeyPatch
):
    run_journeys(app, monkeypatch)
    assert len(hot_statements) > 100  # the journeys ran through the webhooks
    scanning = {}
    for sql, params in hot_statements:
        tables = full_scans(app, sql, params)
        if tables:
            scanning[" ".join(sql.split())[:300]] = tables
    assert scanning == {}
