"""The worker's message transcription job: registered only when an engine needs it."""

from __future__ import annotations

from apscheduler.schedulers.background import BackgroundScheduler

from callcenter.jobs.worker import schedule
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


def test_a_failing_job_backs_off_exponentially_up_to_fifteen_minutes_and_resets(app):
    from callcenter.jobs.worker import _guarded

    now = [0.0]
    outcome = {"fail": True}
    ran: list[float] = []

    def job() -> None:
        ran.append(now[0])
        if outcome["fail"]:
            raise RuntimeError("down")

    run = _guarded("x", job, services(app).watcher, lambda: now[0])
    for minute in range(60):
        now[0] = minute * 60.0
        run()
    # Retried after 1, 2, 4, 8, then every 15 minutes.
    assert [t / 60 for t in ran] == [0, 1, 3, 7, 15, 30, 45]
    outcome["fail"] = False
    now[0] = 60 * 60.0
    run()
    now[0] += 60
    run()
    assert [t / 60 for t in ran[-2:]] == [60, 61]  # a success resets the back-off
