"""What every command shares: the composition root opened for it, one-line errors, audit.

Each command that changes keys or reads or deletes personal data writes an
audit entry, then a signed checkpoint of the chain outside the database.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn

import click
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from callcenter.audit import trail as audit
from callcenter.config.settings import Settings, SettingsError, load_settings
from callcenter.core import logs
from callcenter.services import Services, StartupError, build_services
from callcenter.storage.db import Database


def fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _echo_warning(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


@contextmanager
def open_root(
    *,
    statement_timeout_ms: int | None = None,
    warn: Callable[[str], None] = _echo_warning,
    before_build: Callable[[Settings], None] | None = None,
) -> Iterator[Services]:
    """The composition root for one command, its cipher bound; start-up errors in one line.

    No statement timeout by default: a command (a purge, a re-encryption) may
    be long.  ``warn`` says when the schema is behind; the command goes on (it
    may well work).  ``before_build`` sees the settings first (the worker sets
    up its logs with them).  The per-key encryption counts are flushed at
    the end, however the command ends, so ``keys status`` counts them.
    """
    try:
        settings = load_settings()
        # A command prints its own result on stdout: the log says only what went
        # wrong, on stderr (its "purge_run" line repeated the counts, on stdout).
        logs.configure(settings.log_format, level=logging.WARNING)
        if before_build is not None:
            before_build(settings)
        root = build_services(settings, Database(settings.database_url, statement_timeout_ms))
    except (SettingsError, StartupError) as exc:
        fail(str(exc))
    try:
        _warn_not_at_head(root.db, warn)
        with root.bound():
            yield root
    finally:
        # Even when the command failed (``fail`` exits): what it encrypted still counts.
        root.flush_usage()
        root.db.dispose()


def _warn_not_at_head(db: Database, warn: Callable[[str], None]) -> None:
    from callcenter.storage.revision import not_at_head

    try:
        behind = not_at_head(db.engine)
    except SQLAlchemyError:
        return  # the command's own queries say it in one line
    if behind:
        warn(behind)


def audited(root: Services, session: Session, action: str, **details: object) -> None:
    audit.append(
        session, actor="cli:admin", action=action, details=details or None, now=root.clock.now()
    )
