"""Start-up checks against the database: configuration changes are audited."""

from __future__ import annotations

from sqlalchemy import select

from callcenter.audit.models import AuditEntry
from callcenter.web.app import create_app
from tests.conftest import services


def config_entries(app) -> list[str]:
    with services(app).db.session() as session:
        query = select(AuditEntry.details).where(AuditEntry.action == "config.loaded")
        return list(session.scalars(query))


def restart(app, settings):
    services(app).db.dispose()
    return create_app(settings)


def test_a_configuration_change_is_audited_once(app, settings):
    app = restart(app, settings)  # the first start with the tables in place
    assert len(config_entries(app)) == 1
    app = restart(app, settings)  # nothing changed: nothing new
    assert len(config_entries(app)) == 1
    practice = settings.home / "practices" / "demo.yaml"
    practice.write_text(practice.read_text().replace("ring_seconds: 20", "ring_seconds: 25"))
    app = restart(app, settings)
    entries = config_entries(app)
    assert len(entries) == 2 and entries[0] != entries[1]
    services(app).db.dispose()


def test_a_server_starts_while_its_database_is_down(settings, caplog):
    """Calls then take the fallback path; readyz says 503 until the database answers."""
    from dataclasses import replace

    down = replace(settings, database_url="sqlite:////nonexistent-folder/x.db")
    app = create_app(down)
    assert "database_unreachable_at_start" in caplog.text
    assert app.test_client().get("/readyz").status_code == 503
    services(app).db.dispose()


def test_an_after_commit_task_that_fails_is_logged_and_left_to_the_worker(app, caplog, monkeypatch):
    from callcenter.storage.unit_of_work import Task

    def unreachable(now=None):
        raise ConnectionError("twilio down")

    svc = services(app)
    monkeypatch.setattr(svc, "request_deletions", unreachable)
    svc.after_commit([Task.REQUEST_DELETIONS, Task.SEND_SMS])  # does not raise
    assert "after_commit_failed" in caplog.text and "ConnectionError" in caplog.text
