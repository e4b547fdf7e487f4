"""The administrator's commands over protected data: purge, export, erase, the worker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from apscheduler.schedulers.background import BackgroundScheduler
from click.testing import CliRunner
from sqlalchemy import func, select

from callcenter.calls.models import Call, CallStep
from callcenter.cli.main import main
from callcenter.config.settings import DEFAULT_POLICY_FILE
from callcenter.core.clock import Clock
from callcenter.jobs.worker import schedule
from callcenter.messages.models import Message
from callcenter.notify.models import RemoteDeletion
from tests.conftest import CALLER, services
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, closed_port

OTHER = "+33698000000"


@pytest.fixture
def admin(cli_env, fake_twilio, monkeypatch, tmp_path):
    """The CLI, talking to the fake Twilio REST API, with a zero-day policy at hand."""
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setenv("TWILIO_API_BASE", fake_twilio.base_url)
    policy = yaml.safe_load(DEFAULT_POLICY_FILE.read_text())
    policy["retention_days"].update(
        recordings=0, transcripts=0, messages=0, calls=0, appointments_after=0
    )
    zero = tmp_path / "zero-policy.yaml"
    zero.write_text(yaml.safe_dump(policy, allow_unicode=True))
    return zero


def run(*args: str, **kwargs) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False, **kwargs)
    assert result.exit_code == 0, result.output
    return result.output


def count(app, model) -> int:
    with services(app).db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def calls_with_messages(twilio, number: str) -> None:
    # '*' skips identification: no patient is registered, only calls and messages.
    twilio.place_call(CALLER, number).press("2").press("*").silence().record(seconds=8)
    twilio.place_call(CALLER, number).press("3").answer()
    twilio.place_call(OTHER, number).press("2").press("*").silence().record(seconds=5)


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


def test_export_gives_everything_held_about_a_number_and_is_audited(
    app, twilio, practice_number, admin, tmp_path: Path
):
    calls_with_messages(twilio, practice_number)
    out = tmp_path / "export.json"
    run("patient", "export", "--phone", "06 12 34 56 78", "--out", str(out))
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    data = json.loads(out.read_text())
    demo = data["practices"]["demo"]
    assert len(demo["calls"]) == 2 and len(demo["messages"]) == 1
    assert demo["messages"][0]["callback_number"] == CALLER
    assert OTHER not in out.read_text()
    assert '"action": "patient.export"' in run("audit", "show")


def test_erase_removes_a_number_everywhere_and_queues_twilio(
    app, twilio, practice_number, admin, fake_twilio
):
    calls_with_messages(twilio, practice_number)
    output = run("patient", "erase", "--phone", CALLER, "--yes")
    assert "calls 2" in output and "messages 1" in output
    assert "at Twilio: 3 deleted" in output  # one recording, two call logs
    assert count(app, Call) == 1 and count(app, Message) == 1  # the other caller's
    with services(app).db.session() as session:
        assert session.scalars(select(Message)).one().callback_number == OTHER
    assert "audit chain ok" in run("audit", "verify")


def test_erase_asks_for_confirmation(app, admin):
    result = CliRunner().invoke(main, ["patient", "erase", "--phone", CALLER], input="n\n")
    assert result.exit_code == 1 and "Aborted" in result.output


def test_an_invalid_number_is_a_clear_error(app, admin):
    result = CliRunner().invoke(main, ["patient", "export", "--phone", "12"])
    assert result.exit_code == 1 and "not a valid phone number" in result.output


def test_the_worker_schedules_every_job_and_each_runs(
    app, twilio, practice_number, admin, fake_twilio
):
    calls_with_messages(twilio, practice_number)
    svc = services(app)
    settings = svc.settings.__class__(
        **{
            **svc.settings.__dict__,
            "twilio_account_sid": ACCOUNT_SID,
            "twilio_auth_token": AUTH_TOKEN,
            "twilio_api_base": fake_twilio.base_url,
        }
    )
    from callcenter.config.policy import load_policy

    scheduler = schedule(
        BackgroundScheduler(timezone="UTC"),
        db=svc.db,
        settings=settings,
        policy=load_policy(admin),
        keyring=svc.keyring,
        cipher=svc.cipher,
        practices=svc.practices,
        clock=Clock(svc.clock.now().replace(year=2027)),
    )
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"purge", "remote_deletions", "audit_checkpoint", "reencrypt"}
    for name in ("purge", "remote_deletions", "audit_checkpoint", "reencrypt"):
        jobs[name].func()
    assert count(app, Call) == 0
    assert len([r for r in fake_twilio.requests if r.method == "DELETE"]) == 5
    assert (settings.home / "audit-checkpoints.jsonl").exists()
