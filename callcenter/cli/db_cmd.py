"""``callcenter db``: the database schema's revision, and the upgrade to head.

Upgrading is the administrator's explicit act (after a backup): neither the
server nor the worker ever changes the schema, they only warn.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click
from sqlalchemy.exc import SQLAlchemyError

from callcenter.config.settings import SettingsError, load_settings
from callcenter.storage.db import Database


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _database() -> Database:
    try:
        settings = load_settings()
    except SettingsError as exc:
        _fail(str(exc))
    # No statement timeout: a migration may rewrite a large table.
    return Database(settings.database_url, statement_timeout_ms=None)


def _unreachable(exc: SQLAlchemyError) -> str:
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"the database does not answer: {detail[0] if detail else type(exc).__name__}"


@click.group("db")
def db_group() -> None:
    """The database schema: its revision and upgrades (back up first)."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Bring the database to this version's schema; run after each upgrade of callcenter.

    A database made before migrations existed is recognised and stamped, or
    refused with what to do when its tables differ.
    """
    from callcenter.audit import trail as audit
    from callcenter.storage import migrate

    db = _database()
    try:
        before = migrate.status(db.engine).current
        for note in migrate.upgrade(db.engine):
            click.echo(note)
        after = migrate.status(db.engine).current
        if after != before:
            with db.session() as session:
                audit.append(session, actor="cli:admin", action="db.upgrade",
                             details={"from": before, "to": after},
                             now=datetime.now(UTC))  # fmt: skip
    except migrate.MigrationError as exc:
        _fail(str(exc))
    except SQLAlchemyError as exc:
        _fail(_unreachable(exc))
    finally:
        db.dispose()


@db_group.command("current")
def db_current() -> None:
    """Print the database's revision and whether it is the head; exit 1 when it is not."""
    from callcenter.storage import migrate

    db = _database()
    try:
        found = migrate.status(db.engine)
    except SQLAlchemyError as exc:
        _fail(_unreachable(exc))
    finally:
        db.dispose()
    click.echo(found.describe())
    sys.exit(0 if found.at_head else 1)
