"""``callcenter patient``: the data subject's rights, export and erasure, by phone number.

Both read or delete personal data: each is audited, then the chain checkpointed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click
from sqlalchemy.orm import Session

from callcenter.cli.common import fail, open_root
from callcenter.cli.progress import Progress
from callcenter.services import Services


@click.group()
def patient() -> None:
    """The data subject's rights: export and erase, by phone number."""


def _subject(root: Services, session: Session, phone: str) -> Any:
    from callcenter.rights.gdpr import find_subject_everywhere

    bits = {practice.id: practice.blind_index_bits for practice in root.practices}
    try:
        return find_subject_everywhere(session, root.cipher, phone, bits)
    except ValueError as exc:
        fail(str(exc))


@patient.command("export")
@click.option("--phone", required=True, help="The number, in any format.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the JSON here (mode 0600) instead of standard output.",
)
def patient_export(phone: str, out: Path | None) -> None:
    """Everything held about the person behind this number, decrypted, as JSON (audited)."""
    from callcenter.rights.gdpr import export_subject

    with open_root() as root:
        with root.db.session() as session:
            data = export_subject(
                session, _subject(root, session, phone), actor="cli:admin", now=root.clock.now()
            )
        root.checkpoint()
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if out is None:
        click.echo(text)
        return
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    click.echo(f"written to {out}")


@patient.command("erase")
@click.option("--phone", required=True, help="The number, in any format.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def patient_erase(phone: str, yes: bool) -> None:
    """Delete everything held about this number, here and at Twilio (audited)."""
    from callcenter.rights.gdpr import erase_subject

    if not yes:
        click.confirm("Erase every record of this number, in every practice?", abort=True)
    with open_root() as root, Progress("patient erase") as progress:
        progress.step("finding and erasing the records")
        with root.db.session() as session:
            report = erase_subject(
                session, _subject(root, session, phone), actor="cli:admin", now=root.clock.now()
            )
        progress.close()
        counts = ", ".join(f"{k} {v}" for k, v in report.as_dict().items())
        click.echo(f"erased: {counts}")
        progress.step("asking Twilio to delete recordings")
        sent = root.request_deletions()
        progress.close()
        click.echo(
            f"at Twilio: {sent.deleted} deleted, {sent.gone} already gone, "
            f"{sent.failed} failed (retried by the worker)"
        )
        root.checkpoint()
