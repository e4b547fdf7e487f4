"""``callcenter worker``: the scheduled jobs, in a process of their own.

APScheduler runs each job at its time; a job that fails is logged (without
personal data) and backs off exponentially (1, 2, 4 … 15 minutes) until it
succeeds again, so a database or Twilio outage only delays the work.  Jobs
are safe to run in two workers at once (see :mod:`callcenter.jobs.tasks`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from callcenter.agenda import sync as agenda
from callcenter.core.logs import get_logger
from callcenter.jobs import tasks
from callcenter.messages.transcribers import Transcriber
from callcenter.services import Services

log = get_logger("callcenter.worker")


BACKOFF_START = 60.0  # seconds after a first failure
BACKOFF_MAX = 15 * 60.0

Job = Callable[[Services, datetime], Any]


@dataclass(frozen=True)
class Scheduled:
    name: str
    trigger: BaseTrigger
    job: Job


def _guarded(
    name: str,
    job: Job,
    root: Services,
    monotonic: Callable[[], float] = time.monotonic,
) -> Callable[[], None]:
    """Run ``job`` with the root's cipher bound, log its outcome, and back off while it fails.

    After n failures in a row the job's runs are skipped for 1, 2, 4 … minutes
    (at most 15), so a database or Twilio outage is not hammered every minute;
    the first success runs it at every tick again.
    """
    failures, resume_at = 0, 0.0

    def run() -> None:
        nonlocal failures, resume_at
        started = monotonic()
        if started < resume_at:
            log.info("job_backing_off", job=name, failures=failures,
                     seconds=round(resume_at - started))  # fmt: skip
            return
        try:
            root.watcher.refresh(force=True)  # follow a key rotation before touching data
            with root.bound():
                result = job(root, root.clock.now())
        except Exception as exc:
            failures += 1
            delay = min(BACKOFF_START * 2 ** (failures - 1), BACKOFF_MAX)
            resume_at = started + delay
            log.error("job_failed", job=name, error=type(exc).__name__, retry_in=delay)
            return
        failures, resume_at = 0, 0.0
        log.info("job_done", job=name, result=getattr(result, "__dict__", None) or result)

    return run


def table(root: Services, backend: Transcriber | None = None) -> list[Scheduled]:
    """Every job of this instance: name, when, what (a function of the root and ``now``).

    ``backend`` is the ``local`` engine's transcriber, loaded once by the caller.
    """
    every_minute = IntervalTrigger(minutes=1)
    jobs = [
        Scheduled("purge", CronTrigger(hour=3, minute=30, timezone="Europe/Paris"), tasks.purge),
        Scheduled("remote_deletions", IntervalTrigger(minutes=5), tasks.remote_deletions),
        # Every minute (a line only when the chain grew): what an insider can cut or
        # rewrite unseen is at most the last minute's entries.
        Scheduled("audit_checkpoint", every_minute, tasks.checkpoint),
        Scheduled("reencrypt", IntervalTrigger(minutes=10), tasks.reencrypt),
        Scheduled("notices", every_minute, tasks.notices),
        Scheduled("mail", every_minute, tasks.mail),
        Scheduled("appointment_reminders", IntervalTrigger(minutes=15), tasks.reminders),
        Scheduled("lost_calls", IntervalTrigger(minutes=10), tasks.lost_calls),
        # Freed slots reach the waiting list within a minute, however they freed up.
        Scheduled("waiting_list", every_minute, tasks.waiting_list),
    ]
    if agenda.linked(root.practices):  # the doctors' own calendars: changes seen within a minute
        jobs.append(Scheduled("calendars", every_minute, tasks.calendars))
    engine = root.policy.message_engine
    if engine == "realtime":  # transcriptions whose end never came
        jobs.append(Scheduled("transcriptions", every_minute, tasks.realtime_sweep))
    elif engine == "local":  # recordings become text here
        job = partial(tasks.local_transcriptions, backend=backend)
        jobs.append(Scheduled("transcriptions", every_minute, job))
    return jobs


def schedule(
    scheduler: BaseScheduler, root: Services, jobs: list[Scheduled] | None = None
) -> BaseScheduler:
    """Register ``jobs`` (default: the table) on ``scheduler`` (a test may never start it)."""
    for entry in table(root) if jobs is None else jobs:
        scheduler.add_job(
            _guarded(entry.name, entry.job, root),
            entry.trigger,
            id=entry.name,
            name=entry.name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=3600,
        )
    return scheduler


def run_worker(root: Services, backend: Transcriber | None = None) -> None:
    scheduler = schedule(BlockingScheduler(timezone="UTC"), root, table(root, backend))
    log.info("worker_started", jobs=[job.id for job in scheduler.get_jobs()])
    scheduler.start()
