"""``callcenter purge``: retention here and at Twilio, a dry run, Twilio unreachable."""

from __future__ import annotations

from sqlalchemy import select

from callcenter.calls.models import Call, CallStep
from callcenter.messages.models import Message
from callcenter.notify.models import RemoteDeletion
from tests.cli.conftest import calls_with_messages, count, run
from tests.conftest import services
from tests.fake_twilio import closed_port


def test_a_zero_day_purge_deletes_everything_here_and_at_twilio(
    app, twilio, practice_number, admin, fake_twilio, monkeypatch
):
    calls_with_messages(twilio, practice_number)
    monkeypatch.setenv("CALLCENTER_NOW", "2026-11-25T10:00:00+01:00")
    monkeypatch.setenv("CALLCENTER_POLICY", str(admin))
    output = run("purge")
    assert "deleted: messages 2" in output and "calls 3" in output
    assert "at Twilio: 5 deleted" in output  # two recordings, three call logs
    for model in (Call, CallStep, Message):
        assert count(app, model) == 0
    deleted = {r.path.rsplit("/", 1)[-1][:2] for r in fake_twilio.requests if r.method == "DELETE"}
    assert deleted == {"RE", "CA"}
    assert "audit chain ok" in run("audit", "verify")


def test_a_dry_run_changes_nothing(app, twilio, practice_number, admin, fake_twilio, monkeypatch):
    calls_with_messages(twilio, practice_number)
    monkeypatch.setenv("CALLCENTER_NOW", "2026-11-25T10:00:00+01:00")
    monkeypatch.setenv("CALLCENTER_POLICY", str(admin))
    assert "would delete: messages 2" in run("purge", "--dry-run")
    assert count(app, Call) == 3 and count(app, Message) == 2
    assert fake_twilio.requests == []


def test_a_purge_while_twilio_is_unreachable_is_retried_later(
    app, twilio, practice_number, admin, fake_twilio, monkeypatch
):
    calls_with_messages(twilio, practice_number)
    monkeypatch.setenv("CALLCENTER_NOW", "2026-11-25T10:00:00+01:00")
    monkeypatch.setenv("CALLCENTER_POLICY", str(admin))
    monkeypatch.setenv("TWILIO_API_BASE", f"http://127.0.0.1:{closed_port()}")
    assert "5 failed (retried later)" in run("purge")
    assert count(app, Message) == 0  # gone here at once; Twilio's copies are queued
    monkeypatch.setenv("TWILIO_API_BASE", fake_twilio.base_url)
    monkeypatch.setenv("CALLCENTER_NOW", "2026-11-25T11:00:00+01:00")  # after the back-off
    assert "at Twilio: 5 deleted" in run("purge")
    with services(app).db.session() as session:
        assert (
            session.scalars(select(RemoteDeletion).where(RemoteDeletion.done_at.is_(None))).all()
            == []
        )
