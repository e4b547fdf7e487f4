"""Migrations: they agree with the models, go down and up, adopt a
database made by ``create_all``, and only an administrator runs them."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import inspect, select, text

from callcenter.audit.models import AuditEntry
from callcenter.cli.main import main
from callcenter.storage import migrate
from callcenter.storage.db import Database
from callcenter.web.app import create_app
from tests.conftest import services


@pytest.fixture
def db(database_url: str):
    database = Database(database_url, statement_timeout_ms=None)
    yield database
    database.dispose()


def differences(db: Database) -> list[object]:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, migrate.target_metadata()))


def test_an_empty_database_upgraded_to_head_agrees_with_the_models(db):
    notes = migrate.upgrade(db.engine)
    assert notes == [f"database upgraded from nothing to {migrate.head_revision()}"]
    assert migrate.status(db.engine).at_head
    assert differences(db) == []


def test_downgrade_to_base_then_upgrade_again(db):
    migrate.upgrade(db.engine)
    migrate.downgrade(db.engine, "base")
    found = migrate.status(db.engine)
    assert found.current is None and found.tables == frozenset()
    migrate.upgrade(db.engine)
    assert migrate.status(db.engine).at_head
    assert differences(db) == []


def test_upgrading_a_database_at_head_changes_nothing(db):
    migrate.upgrade(db.engine)
    assert migrate.upgrade(db.engine) == [f"database already at head {migrate.head_revision()}"]


def made_before_migrations(db: Database) -> None:
    """A database as ``create_all`` made it before migrations: 0001's tables, no version."""
    with db.engine.begin() as conn:
        command.upgrade(migrate.alembic_config(conn), migrate.FIRST_REVISION)
        conn.execute(text(f"DROP TABLE {migrate.VERSION_TABLE}"))


def test_a_database_made_by_create_all_is_stamped_then_upgraded(db):
    made_before_migrations(db)
    assert migrate.status(db.engine).current is None
    notes = migrate.upgrade(db.engine)
    first = migrate.FIRST_REVISION
    assert notes[0] == f"tables made before migrations: stamped at revision {first}"
    assert migrate.status(db.engine).at_head
    assert differences(db) == []


def test_a_database_whose_tables_differ_gets_one_clear_line_and_is_left_alone(db):
    made_before_migrations(db)
    with db.engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_messages_created_at"))
        conn.execute(text("ALTER TABLE messages DROP COLUMN transcribed_at"))
    with pytest.raises(migrate.MigrationError) as caught:
        migrate.upgrade(db.engine)
    message = str(caught.value)
    assert "\n" not in message
    assert "missing messages.transcribed_at" in message
    assert "missing messages.index:ix_messages_created_at" in message
    assert "callcenter db upgrade" in message
    assert migrate.VERSION_TABLE not in inspect(db.engine).get_table_names()


def test_db_upgrade_and_current_on_the_command_line(cli_env):
    runner = CliRunner()
    result = runner.invoke(main, ["db", "current"])
    assert result.exit_code == 1
    assert "no revision: empty database" in result.output
    result = runner.invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"to {migrate.head_revision()}" in result.output
    result = runner.invoke(main, ["db", "current"])
    assert result.exit_code == 0, result.output
    assert result.output == f"{migrate.head_revision()} (head)\n"
    db = Database(cli_env.database_url)
    with db.session() as session:
        actions = list(session.scalars(select(AuditEntry.action)))
    db.dispose()
    assert actions == ["db.upgrade"]


def test_db_upgrade_refuses_a_differing_database_in_one_line(cli_env):
    db = Database(cli_env.database_url)
    made_before_migrations(db)
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE leftover (x INTEGER)"))
    db.dispose()
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "unexpected table leftover" in lines[0]


def test_init_leaves_the_database_at_head(cli_env):
    result = CliRunner().invoke(main, ["init"])
    assert result.exit_code == 0, result.output
    db = Database(cli_env.database_url)
    try:
        assert migrate.status(db.engine).at_head
        assert differences(db) == []
    finally:
        db.dispose()


def test_start_up_warns_when_the_database_is_not_at_head_and_still_serves(settings, caplog):
    db = Database(settings.database_url)
    made_before_migrations(db)  # tables, but no revision
    db.dispose()
    app = create_app(settings)
    assert "database_not_at_head" in caplog.text
    assert app.test_client().get("/readyz").status_code == 200
    services(app).db.dispose()
    caplog.clear()
    db = Database(settings.database_url)
    migrate.upgrade(db.engine)
    db.dispose()
    app = create_app(settings)
    assert "database_not_at_head" not in caplog.text
    services(app).db.dispose()


def test_the_worker_warns_and_does_not_migrate(cli_env, monkeypatch, caplog):
    import callcenter.jobs.worker

    # The worker's jobs are tested elsewhere: here it only starts, then lets go of the database.
    monkeypatch.setattr(callcenter.jobs.worker, "run_worker", lambda root, backend=None: None)
    result = CliRunner().invoke(main, ["worker"])
    assert result.exit_code == 0, result.output
    assert "database_not_at_head" in caplog.text
    db = Database(cli_env.database_url)
    try:
        assert migrate.status(db.engine).tables == frozenset()  # nothing created
    finally:
        db.dispose()


def test_the_start_up_check_knows_the_newest_migration():
    """Processes compare the database with ``revision.HEAD`` without importing Alembic:
    a new migration must move it too."""
    from callcenter.storage import revision

    assert migrate.head_revision() == revision.HEAD
