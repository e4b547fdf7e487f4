"""``callcenter worker``: every job of the table runs against the root."""

from __future__ import annotations

import dataclasses

from apscheduler.schedulers.background import BackgroundScheduler

from callcenter.calls.models import Call
from callcenter.config.policy import load_policy
from callcenter.core.clock import Clock
from callcenter.jobs.worker import schedule
from tests.cli.conftest import calls_with_messages, count
from tests.conftest import services
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN


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
    root = dataclasses.replace(
        svc, settings=settings, policy=load_policy(admin),
        clock=Clock(svc.clock.now().replace(year=2027)),
    )  # fmt: skip
    scheduler = schedule(BackgroundScheduler(timezone="UTC"), root)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert {"purge", "remote_deletions", "audit_checkpoint", "reencrypt"} <= set(jobs)
    for name in ("purge", "remote_deletions", "audit_checkpoint", "reencrypt"):
        jobs[name].func()
    assert count(app, Call) == 0
    assert len([r for r in fake_twilio.requests if r.method == "DELETE"]) == 5
    assert (settings.home / "audit-checkpoints.jsonl").exists()
