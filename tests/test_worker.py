"""The worker's message transcription job: registered only when an engine needs it."""

from __future__ import annotations

from apscheduler.schedulers.background import BackgroundScheduler

from callcenter.worker import schedule
from tests.conftest import services


def scheduled(app, **extra):
    svc = services(app)
    scheduler = schedule(
        BackgroundScheduler(timezone="UTC"),
        db=svc.db,
        settings=svc.settings,
        policy=svc.policy,
        keyring=svc.keyring,
        cipher=svc.cipher,
        practices=svc.practices,
        clock=svc.clock,
        **extra,
    )
    return {job.id: job for job in scheduler.get_jobs()}


def test_no_transcription_job_without_an_engine_that_needs_one(app):
    assert "transcriptions" not in scheduled(app)


def test_the_transcription_job_runs_every_minute_and_a_failure_only_waits_for_the_next(app):
    ran: list[int] = []

    def transcribe() -> None:
        ran.append(1)
        raise RuntimeError("model unavailable")

    jobs = scheduled(app, transcribe=transcribe)
    assert jobs["transcriptions"].trigger.interval.total_seconds() == 60
    jobs["transcriptions"].func()  # logged, not raised
    assert ran == [1]
