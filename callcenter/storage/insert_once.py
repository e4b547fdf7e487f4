"""Insert a row unless its unique key is already taken: the idempotent write of retried work.

Twilio retries, two workers and a double click all come down to "create this
row once".  ``INSERT … ON CONFLICT DO NOTHING`` does it in one statement on
both databases; whether the row was new is read from ``RETURNING``, because
psycopg reports a row count of -1 for that statement on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_once(
    session: Session, model: type[Any], values: Mapping[str, Any], unique: Sequence[str]
) -> bool:
    """Insert ``values`` into ``model``'s table unless a row has the same ``unique`` columns;
    whether it was inserted.  Does not commit."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    key = sa_inspect(model).primary_key[0]
    statement = (
        insert(model).values(**values).on_conflict_do_nothing(index_elements=list(unique))
    ).returning(key)
    return session.execute(statement).first() is not None
