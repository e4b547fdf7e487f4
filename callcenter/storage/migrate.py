"""Schema migrations (Alembic), run by ``callcenter db upgrade`` and ``callcenter init``.

The migration scripts live in callcenter/storage/migrations/ inside the package and
are configured here, so an installed server needs no alembic.ini.  Upgrading
is the administrator's explicit act: the server and the worker only warn when
the database is not at the head revision (calls must always get an answer).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, MetaData, create_engine, inspect

from callcenter.storage.db import Base
from callcenter.storage.revision import UPGRADE_HINT, VERSION_TABLE

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
#: The schema ``Database.create_all`` made before migrations existed.
FIRST_REVISION = "0001"


class MigrationError(Exception):
    """The database cannot be migrated: one line naming the problem and what to do."""


def target_metadata() -> MetaData:
    """Every table the process has declared: :mod:`callcenter.schema` imports them all.

    Storage knows no feature; whoever migrates (the CLI, ``init``, the tests)
    imports the schema module first, so the metadata is complete.
    """
    return Base.metadata


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, built in code; env.py takes the connection from it."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


@functools.cache
def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # a packaging mistake: the versions folder was left out
        raise MigrationError(f"no migration scripts in {MIGRATIONS_DIR / 'versions'}")
    return head


@dataclass(frozen=True)
class Status:
    """Where a database stands: its revision (None before any), and its tables."""

    current: str | None
    head: str
    tables: frozenset[str]

    @property
    def at_head(self) -> bool:
        return self.current == self.head

    def describe(self) -> str:
        """One line for ``callcenter db current``."""
        if self.at_head:
            return f"{self.current} (head)"
        if self.current is not None:
            return f"{self.current}, not at head {self.head}: {UPGRADE_HINT}"
        if self.tables:
            return (
                f"no revision: tables made before migrations, head is {self.head}: {UPGRADE_HINT}"
            )
        return f"no revision: empty database, head is {self.head}: run `callcenter init`"


def status(engine: Engine) -> Status:
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        tables = frozenset(inspect(conn).get_table_names()) - {VERSION_TABLE}
    return Status(current, head_revision(), tables)


def upgrade(engine: Engine) -> list[str]:
    """Bring the database to head; returns notes for the administrator.

    A database made by ``create_all`` before migrations has tables but no
    version table: when its schema is the first revision's it is stamped
    there, then upgraded; otherwise nothing is touched.
    """
    notes: list[str] = []
    found = status(engine)
    if found.current is None and found.tables:
        differences = legacy_differences(engine)
        if differences:
            shown = "; ".join(differences[:5]) + ("; …" if len(differences) > 5 else "")
            raise MigrationError(
                f"the database has tables but no migration revision, and they differ from "
                f"revision {FIRST_REVISION} ({shown}): make them match it or move the data to "
                f"a fresh database, then run `callcenter db upgrade` (docs/operations/"
                f"upgrades.md)"
            )
        with engine.begin() as conn:
            command.stamp(alembic_config(conn), FIRST_REVISION)
        notes.append(f"tables made before migrations: stamped at revision {FIRST_REVISION}")
        found = status(engine)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
    except CommandError as exc:  # e.g. a revision from a newer version of callcenter
        raise MigrationError(
            f"cannot upgrade from revision {found.current}: {exc} "
            "(was the database migrated by a newer version of callcenter?)"
        ) from None
    after = status(engine).current
    if after == found.current:
        notes.append(f"database already at head {after}")
    else:
        notes.append(f"database upgraded from {found.current or 'nothing'} to {after}")
    return notes


def downgrade(engine: Engine, revision: str) -> None:
    """Downgrade (tests and developers; administrators restore a backup instead)."""
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), revision)


def _shape(conn: Connection) -> dict[str, set[str]]:
    """Table name → its column names and ``index:<name>`` entries."""
    inspector = inspect(conn)
    shape: dict[str, set[str]] = {}
    for table in inspector.get_table_names():
        if table == VERSION_TABLE:
            continue
        columns = {c["name"] for c in inspector.get_columns(table)}
        indexes = {  # PostgreSQL lists a unique constraint's own index too: not ours
            f"index:{i['name']}"
            for i in inspector.get_indexes(table)
            if i["name"] and not i.get("duplicates_constraint")
        }
        shape[table] = columns | indexes
    return shape


def legacy_differences(engine: Engine) -> list[str]:
    """How the database's tables differ from the first revision (names only).

    The reference is built by running the first revision in a scratch SQLite
    database, so this stays right after later revisions change the models;
    names (tables, columns, indexes) compare across dialects where types do not.
    """
    scratch = create_engine("sqlite://")
    try:
        with scratch.begin() as conn:
            command.upgrade(alembic_config(conn), FIRST_REVISION)
            expected = _shape(conn)
    finally:
        scratch.dispose()
    with engine.connect() as conn:
        found = _shape(conn)
    differences: list[str] = []
    for table in sorted(expected.keys() - found.keys()):
        differences.append(f"missing table {table}")
    for table in sorted(found.keys() - expected.keys()):
        differences.append(f"unexpected table {table}")
    for table in sorted(expected.keys() & found.keys()):
        missing, unexpected = expected[table] - found[table], found[table] - expected[table]
        differences += [f"missing {table}.{name}" for name in sorted(missing)]
        differences += [f"unexpected {table}.{name}" for name in sorted(unexpected)]
    return differences


def new_revision(message: str) -> str:
    """Write the next revision, autogenerated from the models (developers; read and tidy it).

    It compares the models with a scratch SQLite database at head, so no
    database of one's own is touched; batch operations work on PostgreSQL too.
    """
    scratch = create_engine("sqlite://")
    try:
        with scratch.begin() as conn:
            config = alembic_config(conn)
            command.upgrade(config, "head")
            rev_id = f"{int(head_revision()) + 1:04d}"
            script = command.revision(config, message=message, autogenerate=True, rev_id=rev_id)
    finally:
        scratch.dispose()
    path = getattr(script, "path", None)
    return str(path)
