"""Alembic's environment, configured by callcenter/storage/migrate.py (no alembic.ini).

The connection comes from ``config.attributes["connection"]``: the caller
opens it with the application's own engine settings.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext

from callcenter.storage.db import UTCDateTime
from callcenter.storage.migrate import target_metadata


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render UTCDateTime as the column it creates.

    A migration file must keep working when the application's type changes
    later; the DDL is the same either way.
    """
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "callcenter migrations run through callcenter.storage.migrate, not alembic"
        )
    context.configure(
        connection=connection,
        target_metadata=target_metadata(),
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying
        render_item=render_item,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
