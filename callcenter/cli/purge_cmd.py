"""``callcenter purge``: retention, here and at Twilio."""

from __future__ import annotations

import click

from callcenter.cli.common import open_root
from callcenter.cli.progress import Progress
from callcenter.jobs import tasks as jobs


@click.command()
@click.option("--dry-run", is_flag=True, help="Count what would go; change nothing.")
def purge(dry_run: bool) -> None:
    """Delete what recordings_policy.yaml says is past its time, here and at Twilio."""
    with open_root() as root, Progress("purge") as progress:
        now = root.clock.now()
        progress.step("counting" if dry_run else "deleting past retention")
        report = jobs.purge(root, now, dry_run=dry_run, actor="cli:admin")
        progress.close()
        counts = ", ".join(f"{k} {v}" for k, v in report.counts().items())
        click.echo(f"{'would delete' if dry_run else 'deleted'}: {counts}")
        if dry_run:
            return
        progress.step("asking Twilio to delete recordings")
        sent = root.request_deletions(now)
        progress.close()
        click.echo(
            f"at Twilio: {sent.deleted} deleted, {sent.gone} already gone, "
            f"{sent.failed} failed (retried later)"
        )
        root.checkpoint()
