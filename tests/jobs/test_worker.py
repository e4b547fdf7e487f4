"""The worker's message transcription job: registered only when an engine needs it."""

from __future__ import annotations

import dataclasses

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from callcenter.jobs import tasks
from callcenter.jobs.worker import Scheduled, schedule, table
from tests.conftest import services


def scheduled(app, **extra):
    scheduler = schedule(BackgroundScheduler(timezone="UTC"), services(app), **extra)
    return {job.id: job for job in scheduler.get_jobs()}


def test_the_table_names_each_job_once_and_each_is_a_function_of_the_root(app):
    jobs = table(services(app))
    assert [job.name for job in jobs] == [
        "purge", "remote_deletions", "audit_checkpoint", "reencrypt", "notices", "mail",
        "appointment_reminders", "lost_calls", "waiting_list",
    ]  # fmt: skip
    assert tasks.notices in [job.job for job in jobs]


def test_an_engine_that_transcribes_adds_its_job(app):
    svc = services(app)
    for engine in ("realtime", "local"):
        policy = dataclasses.replace(svc.policy, transcription_engine=engine)
        names = [job.name for job in table(dataclasses.replace(svc, policy=policy))]
        assert names[-1] == "transcriptions"


def test_no_transcription_job_without_an_engine_that_needs_one(app):
    assert "transcriptions" not in scheduled(app)


def test_the_transcription_job_runs_every_minute_and_a_failure_only_waits_for_the_next(app):
    ran: list[int] = []

    def transcribe(root, now) -> None:
        ran.append(1)
        raise RuntimeError("model unavailable")

    jobs = scheduled(
        app, jobs=[Scheduled("transcriptions", IntervalTrigger(minutes=1), transcribe)]
    )
    assert jobs["transcriptions"].trigger.interval.total_seconds() == 60
    jobs["transcriptions"].func()  # logged, not raised
    assert ran == [1]


def test_a_failing_job_backs_off_exponentially_up_to_fifteen_minutes_and_resets(app):
    from callcenter.jobs.worker import _guarded

    now = [0.0]
    outcome = {"fail": True}
    ran: list[float] = []

    def job(root, moment) -> None:
        ran.append(now[0])
        if outcome["fail"]:
            raise RuntimeError("down")

    run = _guarded("x", job, services(app), lambda: now[0])
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
