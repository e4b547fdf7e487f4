"""``callcenter worker``: the scheduled jobs, in a process of their own.

APScheduler runs each job at its time; a job that fails is logged (without
personal data) and backs off exponentially (1, 2, 4 … 15 minutes) until it
succeeds again, so a database or Twilio outage only delays the work.  Jobs
are safe to run in two workers at once (see :mod:`callcenter.jobs.tasks`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from callcenter.config.policy import Policy
from callcenter.config.practice import PracticeDirectory
from callcenter.config.settings import Settings
from callcenter.core.clock import Clock
from callcenter.core.logs import get_logger
from callcenter.jobs import tasks as jobs
from callcenter.security.crypto import FieldCipher
from callcenter.security.keyring import KeyRing
from callcenter.security.keyring_watch import KeyRingWatcher, keyring_path
from callcenter.security.rotation import ENCRYPTED_MODELS, reencrypt_batch
from callcenter.storage.db import Database

log = get_logger("callcenter.worker")


BACKOFF_START = 60.0  # seconds after a first failure
BACKOFF_MAX = 15 * 60.0


def _guarded(
    name: str,
    job: Callable[[], Any],
    watcher: KeyRingWatcher,
    monotonic: Callable[[], float] = time.monotonic,
) -> Callable[[], None]:
    """Run ``job``, log its outcome, and back off exponentially while it keeps failing.

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
            watcher.refresh(force=True)  # follow a key rotation before touching data
            result = job()
        except Exception as exc:
            failures += 1
            delay = min(BACKOFF_START * 2 ** (failures - 1), BACKOFF_MAX)
            resume_at = started + delay
            log.error("job_failed", job=name, error=type(exc).__name__, retry_in=delay)
            return
        failures, resume_at = 0, 0.0
        log.info("job_done", job=name, result=getattr(result, "__dict__", None) or result)

    return run


def reencrypt_some(
    db: Database, cipher: FieldCipher, practices: PracticeDirectory, batch: int = 500
) -> int:
    """One batch per table towards the active key: rotation finishes in the background."""

    def bits(practice_id: str) -> int:
        practice = practices.by_id(practice_id)
        return practice.blind_index_bits if practice else 12

    moved = 0
    for model in ENCRYPTED_MODELS:
        with db.session() as session:
            moved += reencrypt_batch(session, cipher, model, bits, batch)
    return moved


def schedule(
    scheduler: BaseScheduler,
    *,
    db: Database,
    settings: Settings,
    policy: Policy,
    keyring: KeyRing,
    cipher: FieldCipher,
    practices: PracticeDirectory,
    clock: Clock,
    notices: Callable[[], Any] | None = None,
    mail: Callable[[], Any] | None = None,
    transcribe: Callable[[], Any] | None = None,
    reminders: Callable[[], Any] | None = None,
) -> BaseScheduler:
    """Register every job on ``scheduler`` (a test may pass a scheduler it never starts)."""
    watcher = KeyRingWatcher(cipher, keyring_path(settings.home, os.environ))

    def add(name: str, job: Callable[[], Any], trigger: Any) -> None:
        scheduler.add_job(
            _guarded(name, job, watcher),
            trigger,
            id=name,
            name=name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=3600,
        )

    add(
        "purge",
        lambda: jobs.purge(db, policy, clock.now()),
        CronTrigger(hour=3, minute=30, timezone="Europe/Paris"),
    )
    add(
        "remote_deletions",
        lambda: jobs.remote_deletions(db, settings, policy, clock.now()),
        IntervalTrigger(minutes=5),
    )
    add(
        "audit_checkpoint",
        lambda: jobs.checkpoint(db, keyring, settings, clock.now()),
        IntervalTrigger(hours=1),
    )
    add("reencrypt", lambda: reencrypt_some(db, cipher, practices), IntervalTrigger(minutes=10))
    if notices is not None:
        add("notices", notices, IntervalTrigger(minutes=1))
    if mail is not None:
        # Digests are due at each doctor's times in the practice's time zone
        # (callcenter.digests); checking every minute also catches up after a stop.
        add("mail", mail, IntervalTrigger(minutes=1))
    if transcribe is not None:  # local engine: recordings become text; realtime: stale ends
        add("transcriptions", transcribe, IntervalTrigger(minutes=1))
    if reminders is not None:  # appointment reminders, the day before
        add("appointment_reminders", reminders, IntervalTrigger(minutes=15))
    return scheduler


def run_worker(**services: Any) -> None:
    scheduler = schedule(BlockingScheduler(timezone="UTC"), **services)
    log.info("worker_started", jobs=[job.id for job in scheduler.get_jobs()])
    scheduler.start()
