"""``callcenter audit``: verify, checkpoint and show the tamper-evident trail."""

from __future__ import annotations

import json

import click

from callcenter.audit import trail as audit
from callcenter.cli.common import fail, open_root
from callcenter.cli.listing import Listing, json_option


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
@json_option
def audit_show(last: int, as_json: bool) -> None:
    """The latest entries (ids and counts only: the log holds no personal value)."""
    from sqlalchemy import select

    listing = Listing("seq", "ts", "actor", "action", "practice", "object", "details")
    with open_root() as root, root.db.session() as session:
        query = select(audit.AuditEntry).order_by(audit.AuditEntry.seq.desc()).limit(last)
        for row in reversed(list(session.scalars(query))):
            details = json.dumps(row.details, ensure_ascii=False) if row.details else None
            listing.add(
                [row.seq, row.ts.isoformat(), row.actor, row.action, row.practice_id or "-",
                 row.object_ref or "-", details or "-"],
                [row.seq, row.ts.isoformat(), row.actor, row.action, row.practice_id,
                 row.object_ref, row.details],
            )  # fmt: skip
    listing.echo(as_json)
