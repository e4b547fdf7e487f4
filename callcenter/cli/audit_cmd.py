"""``callcenter audit``: verify, checkpoint and show the tamper-evident trail."""

from __future__ import annotations

import json

import click

from callcenter.audit import trail as audit
from callcenter.cli.common import fail, open_root


@click.group("audit")
def audit_group() -> None:
    """The tamper-evident audit trail."""


@audit_group.command("verify")
def audit_verify() -> None:
    """Recompute the chain against the signed checkpoints; exit 1 naming the first bad entry."""
    with open_root() as root, root.db.session() as session:
        try:
            result = root.verify_audit(session)
        except audit.AuditError as exc:
            fail(f"audit checkpoint invalid at seq {exc.seq}: {exc}")
    if not result.ok:
        fail(f"audit chain broken at seq {result.first_bad_seq}: {result.reason}")
    click.echo(f"audit chain ok: {result.entries} entries")


@audit_group.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign the current head of the chain and append it to the checkpoint file."""
    with open_root() as root:
        root.checkpoint()
        click.echo(f"checkpoint written to {root.checkpoint_path}")


@audit_group.command("show")
@click.option("--last", default=20, show_default=True)
def audit_show(last: int) -> None:
    """The latest entries (ids and counts only: the log holds no personal value)."""
    from sqlalchemy import select

    with open_root() as root, root.db.session() as session:
        query = select(audit.AuditEntry).order_by(audit.AuditEntry.seq.desc()).limit(last)
        for row in reversed(list(session.scalars(query))):
            click.echo(
                json.dumps(
                    {
                        "seq": row.seq,
                        "ts": row.ts.isoformat(),
                        "actor": row.actor,
                        "action": row.action,
                        "practice": row.practice_id,
                        "object": row.object_ref,
                        "details": row.details,
                    },
                    ensure_ascii=False,
                )
            )
