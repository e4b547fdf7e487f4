"""Every declared table, built once per test worker and copied into each test's database.

Creating the two dozen tables and their indexes cost more than most tests do
(a fresh SQLite file, or a fresh PostgreSQL schema, for each test).  Each test
still starts on an empty database of its own (``database_url``: the app starts
on it as before, the migrations tests upgrade it from nothing); when a fixture
asks for the tables, :func:`create_tables` copies them in:

- SQLite: the tables are built once per worker in a template file, then copied
  into the test's file with SQLite's backup API, which is safe while an app's
  engine holds connections to that file.
- PostgreSQL: the worker's template schema (built by the first test that needs
  it) is renamed into the place of the test's empty schema, and after the test
  it is emptied (DELETE) and renamed back, ready for the next one.  A test
  that changed its tables has its schema dropped; the next test builds a new
  template.
"""

from __future__ import annotations

import os
import re
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

import callcenter.schema  # noqa: F401  (declares every table)
from callcenter.storage.db import Base, Database

_SEARCH_PATH = re.compile(r"search_path=([\w]+)")


def _columns() -> set[tuple[str, str]]:
    """The (table, column) pairs ``create_all`` makes: what a reusable schema must hold."""
    return {(t.name, c.name) for t in Base.metadata.sorted_tables for c in t.columns}


class SqliteTemplate:
    """The tables in a file of their own, made on first use."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "template.db"
        self._built = False

    def copy_into(self, path: Path) -> bool:
        """Copy the tables into the database at ``path``; False when it already has tables."""
        with closing(sqlite3.connect(path)) as target:
            if target.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                return False
            if not self._built:
                template = Database(f"sqlite:///{self.path}")
                template.create_all()
                template.dispose()
                self._built = True
            with closing(sqlite3.connect(self.path)) as source:
                source.backup(target)
        return True


class PostgresTemplate:
    """The worker's schemas on one PostgreSQL database: the tests' and the template's."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        # Unique per run and worker: other runs may share this PostgreSQL database.
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        self.template = f"tpl_{secrets.token_hex(4)}_{worker}"
        self._ready = False  # the template schema exists, its tables empty
        self._filled: dict[str, bool] = {}  # a test's schema -> holds the template's tables
        self._admin = create_engine(base_url, isolation_level="AUTOCOMMIT", pool_size=1)

    def _run(self, *statements: str) -> None:
        with self._admin.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))

    def _found(self, schema: str) -> set[tuple[str, str]]:
        """The (table, column) pairs of the declared tables (and Alembic's) in ``schema``.

        Looked up by table name, through the catalogue's index: a scan of
        pg_class per test would cost more than the copy saves.
        """
        names = [*(t.name for t in Base.metadata.sorted_tables), "alembic_version"]
        with self._admin.connect() as conn:
            rows = conn.execute(
                text("SELECT c.relname, a.attname FROM pg_class c JOIN pg_attribute a "
                     "ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
                     "WHERE c.relname = ANY(:names) AND c.relnamespace = "
                     "(SELECT oid FROM pg_namespace WHERE nspname = :schema)"),
                {"names": names, "schema": schema},
            )  # fmt: skip
            return {(str(table), str(column)) for table, column in rows}

    @contextmanager
    def schema(self) -> Iterator[str]:
        """A fresh empty schema of the test's own; its URL is yielded."""
        name = "t_" + secrets.token_hex(6)
        self._run(f'CREATE SCHEMA "{name}"')
        self._filled[name] = False
        sep = "&" if "?" in self.base_url else "?"
        try:
            yield f"{self.base_url}{sep}options=-csearch_path%3D{name}"
        finally:
            self._release(name)

    def fill(self, name: str, db: Database) -> bool:
        """Give the test's schema the tables; False when it is not one of ours or not empty."""
        if name not in self._filled or self._found(name):
            return False
        if self._ready:
            # The schema is empty (an app's start-up only read it): swap the template in.
            self._run(f'DROP SCHEMA "{name}"', f'ALTER SCHEMA "{self.template}" RENAME TO "{name}"')
            self._ready = False
        else:
            db.create_all()  # the worker's first: it becomes the template after the test
        self._filled[name] = True
        return True

    def _release(self, name: str) -> None:
        if self._filled.pop(name) and not self._ready and self._found(name) == _columns():
            # DELETE, children first: on a test's few rows it takes a millisecond where
            # TRUNCATE (new files for every table and index) takes a few hundred.
            tables = reversed(Base.metadata.sorted_tables)
            self._run("; ".join(f'DELETE FROM "{name}"."{t.name}"' for t in tables),
                      f'ALTER SCHEMA "{name}" RENAME TO "{self.template}"')  # fmt: skip
            self._ready = True
            return
        self._run(f'DROP SCHEMA "{name}" CASCADE')

    def close(self) -> None:
        self._run(f'DROP SCHEMA IF EXISTS "{self.template}" CASCADE')
        self._admin.dispose()


class SchemaTemplates:
    """The worker's templates: SQLite always, PostgreSQL when the suite runs on it."""

    def __init__(self, folder: Path, postgres_url: str | None) -> None:
        self.sqlite = SqliteTemplate(folder)
        self.postgres = PostgresTemplate(postgres_url) if postgres_url else None

    def create_tables(self, db: Database) -> None:
        url = db.engine.url
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            if self.sqlite.copy_into(Path(str(url.database))):
                return
        elif url.get_backend_name() == "postgresql" and self.postgres is not None:
            found = _SEARCH_PATH.search(str(make_url(url).query.get("options", "")))
            if found and self.postgres.fill(found.group(1), db):
                return
        db.create_all()  # a database the templates do not know, or one with tables already

    def close(self) -> None:
        if self.postgres is not None:
            self.postgres.close()


_templates: SchemaTemplates | None = None


def install(templates: SchemaTemplates | None) -> None:
    """The worker's templates (the session fixture in tests/conftest.py sets them)."""
    global _templates
    _templates = templates


def create_tables(db: Database) -> None:
    """Every declared table in the test's empty database, as ``db.create_all()`` makes them.

    Copied from the worker's template; a database that already has tables, or
    one outside the test's own, gets ``create_all`` as before.
    """
    if _templates is None:
        db.create_all()
    else:
        _templates.create_tables(db)
