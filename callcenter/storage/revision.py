"""Whether the database is at this version's schema, asked without importing Alembic.

Every web process and the worker ask at start; Alembic's import alone costs a
worker about 10 MB, so this reads the version table with one plain query and
compares it with :data:`HEAD`, the newest migration's revision (a test keeps
the two equal).  Migrating itself is :mod:`callcenter.storage.migrate`.
"""

from __future__ import annotations

from sqlalchemy import Engine, inspect, text

#: The newest revision in callcenter/storage/migrations/versions/.
HEAD = "0009_hot_path_indexes"
VERSION_TABLE = "alembic_version"
UPGRADE_HINT = "back up the database and the key ring, then run `callcenter db upgrade`"


def current_revision(engine: Engine) -> str | None:
    """The database's revision; None before any migration (no version table, or empty)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return None
        return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def not_at_head(engine: Engine) -> str | None:
    """A warning when the database is not at head (start-up and worker); None when it is."""
    current = current_revision(engine)
    if current == HEAD:
        return None
    return (
        f"database_not_at_head: the database is at revision {current or 'none'}, "
        f"this version needs {HEAD}; {UPGRADE_HINT}"
    )
