"""``callcenter worker``: the scheduled jobs, in a process of their own."""

from __future__ import annotations

import click

from callcenter.cli.common import fail, open_root
from callcenter.config.settings import Settings

# Jobs (a purge, a re-encryption batch) may take longer than a webhook may.
JOB_STATEMENT_TIMEOUT_MS = 10 * 60 * 1000


@click.command()
def worker() -> None:
    """Run the scheduled jobs: SMS (notices, reminders, the waiting list's offers), digests,
    purge, Twilio deletions, audit checkpoints, re-encryption, lost calls."""
    from callcenter.core.logs import configure, get_logger
    from callcenter.jobs import worker as scheduler

    def logs(settings: Settings) -> None:
        configure(settings.log_format)

    # Warn only when the schema is behind: upgrading is the administrator's act
    # (`callcenter db upgrade`); the jobs retry until the database answers.
    with open_root(
        statement_timeout_ms=JOB_STATEMENT_TIMEOUT_MS,
        warn=lambda behind: get_logger().warning(behind),
        before_build=logs,
    ) as root:
        backend = None
        if root.policy.message_engine == "local":
            from callcenter.messages.transcribers import TranscriberUnavailable, load_transcriber

            try:  # once: loading a model takes seconds
                backend = load_transcriber(root.policy.local_backend, root.policy.local_model)
            except TranscriberUnavailable as exc:
                fail(f"{root.policy.source}: {exc}")
        scheduler.run_worker(root, backend)
