"""Commands over protected data: keys, audit, purge and the data subject's rights.

Each command that changes keys or reads or deletes personal data writes an
audit entry, then a signed checkpoint of the chain outside the database.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from callcenter.audit import trail as audit
from callcenter.config.policy import Policy, PolicyError, load_policy
from callcenter.config.practice import PracticeDirectory, PracticeError
from callcenter.config.settings import Settings, SettingsError, load_settings
from callcenter.jobs import tasks as jobs
from callcenter.security.crypto import FieldCipher
from callcenter.security.encrypted import use_cipher
from callcenter.security.key_usage import UsageRecorder, stored_counts
from callcenter.security.keyring import KeyRing, KeyRingError, load_keyring
from callcenter.storage.db import Database


@dataclass
class Context:
    settings: Settings
    keyring: KeyRing
    cipher: FieldCipher
    db: Database
    practices: PracticeDirectory

    @property
    def checkpoint_path(self) -> Path:
        return self.settings.home / jobs.CHECKPOINT_FILE

    def now(self) -> datetime:
        return self.settings.now or datetime.now(UTC)

    def bits(self, practice_id: str) -> int:
        practice = self.practices.by_id(practice_id)
        return practice.blind_index_bits if practice else 12

    def checkpoint(self) -> None:
        jobs.checkpoint(self.db, self.keyring, self.settings, self.now())

    def policy(self) -> Policy:
        try:
            return load_policy(self.settings.policy_file)
        except PolicyError as exc:
            fail(str(exc))
            raise


JOB_STATEMENT_TIMEOUT_MS = 10 * 60 * 1000


def fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


@contextmanager
def opened() -> Iterator[Context]:
    """Settings, key ring and database for one command; errors in one line."""
    try:
        settings = load_settings()
        keyring = load_keyring(settings.home, dict(os.environ))
        practices = PracticeDirectory.load(settings.practices_dir)
    except (SettingsError, KeyRingError, PracticeError) as exc:
        fail(str(exc))
    db = Database(settings.database_url, statement_timeout_ms=None)  # a command may be long
    try:
        warn_not_at_head(db)
        with db.session() as session:
            cipher = FieldCipher(keyring, counts=stored_counts(session))
        use_cipher(cipher)
        usage = UsageRecorder(cipher)
        yield Context(settings, keyring, cipher, db, practices)
        with db.session() as session:
            usage.flush(session)
    finally:
        db.dispose()


def warn_not_at_head(db: Database) -> None:
    """Say on stderr when the schema is behind; the command goes on (it may well work)."""
    from callcenter.storage.migrate import not_at_head

    try:
        behind = not_at_head(db.engine)
    except SQLAlchemyError:
        return  # the command's own queries say it in one line
    if behind:
        click.echo(f"warning: {behind}", err=True)


def audited(ctx: Context, session: Session, action: str, **details: object) -> None:
    audit.append(session, actor="cli:admin", action=action, details=details or None, now=ctx.now())


# -- keys -----------------------------------------------------------------------
@click.group()
def keys() -> None:
    """The key ring: status, rotation, re-encryption."""


@keys.command("status")
def keys_status() -> None:
    """Rows per key id in each table, and which key is active."""
    from callcenter.security.rotation import rows_per_key

    with opened() as ctx, ctx.db.session() as session:
        click.echo(f"active key: {ctx.keyring.active_id:08x}")
        for key_id in ctx.keyring.key_ids():
            used = ctx.cipher.encryptions(key_id)
            click.echo(
                f"key {key_id:08x}: in the ring, {used} values encrypted so far "
                f"(rotation forced at {ctx.cipher.nonce_limit})"
            )
        for table, counts in rows_per_key(session).items():
            for key_id, count in sorted(counts.items()):
                known = "" if key_id in ctx.keyring else "  (NOT IN THE RING: unreadable)"
                click.echo(f"{table}\t{key_id:08x}\t{count}{known}")


@keys.command("rotate")
def keys_rotate() -> None:
    """Add a new active key; older keys stay for reading until re-encryption."""
    with opened() as ctx:
        path = ctx.settings.home / "keyring.json"
        if os.environ.get("CALLCENTER_KEYRING") or os.environ.get("CALLCENTER_KEYRING_FILE"):
            fail("the key ring comes from the environment: rotate it where it is kept")
        new_id = ctx.keyring.rotate()
        ctx.keyring.save(path)
        with ctx.db.session() as session:
            audited(ctx, session, "keys.rotate", key_id=f"{new_id:08x}")
        ctx.checkpoint()
        click.echo(
            f"new active key {new_id:08x}; run 'callcenter keys reencrypt' next, "
            f"and back up {path} again"
        )


@keys.command("reencrypt")
@click.option("--batch", default=500, show_default=True, help="Rows per transaction.")
def keys_reencrypt(batch: int) -> None:
    """Move every stored value to the active key, in short batches, while calls go on."""
    from callcenter.security.rotation import ENCRYPTED_MODELS, reencrypt_batch

    with opened() as ctx:
        total = 0
        for model in ENCRYPTED_MODELS:
            while True:
                with ctx.db.session() as session:
                    moved = reencrypt_batch(session, ctx.cipher, model, ctx.bits, batch)
                total += moved
                if moved < batch:
                    break
        with ctx.db.session() as session:
            audited(ctx, session, "keys.reencrypt", rows=total)
        ctx.checkpoint()
        click.echo(f"re-encrypted {total} rows under key {ctx.keyring.active_id:08x}")


@keys.command("retire")
@click.argument("key_id")
def keys_retire(key_id: str) -> None:
    """Remove an old key from the ring once no stored value uses it."""
    from callcenter.security.rotation import rows_per_key

    with opened() as ctx:
        try:
            number = int(key_id, 16)
        except ValueError:
            fail(f"{key_id!r} is not a key id (8 hex digits, see 'keys status')")
        with ctx.db.session() as session:
            in_use = sum(c[number] for c in rows_per_key(session).values())
            if in_use:
                fail(f"key {number:08x} still encrypts {in_use} values: run 'keys reencrypt'")
            try:
                ctx.keyring.retire(number)
            except KeyRingError as exc:
                fail(str(exc))
            ctx.keyring.save(ctx.settings.home / "keyring.json")
            audited(ctx, session, "keys.retire", key_id=f"{number:08x}")
        ctx.checkpoint()
        click.echo(f"retired key {number:08x}")


# -- audit ----------------------------------------------------------------------
@click.group("audit")
def audit_group() -> None:
    """The tamper-evident audit trail."""


@audit_group.command("verify")
def audit_verify() -> None:
    """Recompute the chain against the signed checkpoints; exit 1 naming the first bad entry."""
    with opened() as ctx, ctx.db.session() as session:
        try:
            result = audit.verify(
                session, checkpoint_path=ctx.checkpoint_path, verify_key=ctx.keyring.verify_key()
            )
        except audit.AuditError as exc:
            fail(f"audit checkpoint invalid at seq {exc.seq}: {exc}")
    if not result.ok:
        fail(f"audit chain broken at seq {result.first_bad_seq}: {result.reason}")
    click.echo(f"audit chain ok: {result.entries} entries")


@audit_group.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign the current head of the chain and append it to the checkpoint file."""
    with opened() as ctx:
        ctx.checkpoint()
        click.echo(f"checkpoint written to {ctx.checkpoint_path}")


@audit_group.command("show")
@click.option("--last", default=20, show_default=True)
def audit_show(last: int) -> None:
    """The latest entries (ids and counts only: the log holds no personal value)."""
    from sqlalchemy import select

    with opened() as ctx, ctx.db.session() as session:
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


# -- retention ------------------------------------------------------------------
@click.command()
@click.option("--dry-run", is_flag=True, help="Count what would go; change nothing.")
def purge(dry_run: bool) -> None:
    """Delete what recordings_policy.yaml says is past its time, here and at Twilio."""
    with opened() as ctx:
        policy = ctx.policy()
        report = jobs.purge(ctx.db, policy, ctx.now(), dry_run=dry_run, actor="cli:admin")
        counts = ", ".join(f"{k} {v}" for k, v in report.counts().items())
        click.echo(f"{'would delete' if dry_run else 'deleted'}: {counts}")
        if dry_run:
            return
        sent = jobs.remote_deletions(ctx.db, ctx.settings, policy, ctx.now())
        click.echo(
            f"at Twilio: {sent.deleted} deleted, {sent.gone} already gone, "
            f"{sent.failed} failed (retried later)"
        )
        ctx.checkpoint()


# -- data subjects' rights ----------------------------------------------------------
@click.group()
def patient() -> None:
    """The data subject's rights: export and erase, by phone number."""


def _subject(ctx: Context, session: Session, phone: str) -> Any:
    from callcenter.rights.gdpr import find_subject_everywhere

    bits = {practice.id: practice.blind_index_bits for practice in ctx.practices}
    try:
        return find_subject_everywhere(session, ctx.cipher, phone, bits)
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

    with opened() as ctx:
        with ctx.db.session() as session:
            data = export_subject(
                session, _subject(ctx, session, phone), actor="cli:admin", now=ctx.now()
            )
        ctx.checkpoint()
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
    with opened() as ctx:
        with ctx.db.session() as session:
            report = erase_subject(
                session, _subject(ctx, session, phone), actor="cli:admin", now=ctx.now()
            )
        counts = ", ".join(f"{k} {v}" for k, v in report.as_dict().items())
        click.echo(f"erased: {counts}")
        sent = jobs.remote_deletions(ctx.db, ctx.settings, ctx.policy(), ctx.now())
        click.echo(
            f"at Twilio: {sent.deleted} deleted, {sent.gone} already gone, "
            f"{sent.failed} failed (retried by the worker)"
        )
        ctx.checkpoint()


@click.command()
def worker() -> None:
    """Run the scheduled jobs: purge, Twilio deletions, SMS notices, checkpoints, re-encryption."""
    from callcenter.core.logs import configure, get_logger
    from callcenter.jobs.worker import run_worker
    from callcenter.services import (
        StartupError,
        build_services,
        send_mail,
        send_notices,
        send_reminders,
    )
    from callcenter.storage.migrate import not_at_head

    try:
        settings = load_settings()
        configure(settings.log_format)
        # Jobs (a purge, a re-encryption batch) may take longer than a webhook may.
        svc = build_services(settings, Database(settings.database_url, JOB_STATEMENT_TIMEOUT_MS))
    except (SettingsError, StartupError) as exc:
        fail(str(exc))
    try:  # warn only: upgrading is the administrator's act (`callcenter db upgrade`)
        behind = not_at_head(svc.db.engine)
    except SQLAlchemyError:
        behind = None  # the jobs retry until the database answers
    if behind:
        get_logger().warning(behind)
    transcribe: Callable[[], object] | None = None
    if svc.policy.message_engine == "realtime":
        from callcenter.messages import realtime

        def transcribe() -> object:  # transcriptions whose end never came
            return realtime.sweep(svc.db, svc.messages.lookup, svc.clock.now())

    elif svc.policy.message_engine == "local":
        from callcenter.jobs import tasks as jobs
        from callcenter.messages.transcribers import TranscriberUnavailable, load_transcriber

        try:  # once: loading a model takes seconds
            backend = load_transcriber(svc.policy.local_backend, svc.policy.local_model)
        except TranscriberUnavailable as exc:
            fail(f"{svc.policy.source}: {exc}")

        def transcribe() -> object:
            report = jobs.transcribe_local(svc.db, settings, svc.policy, svc.messages.lookup,
                                           svc.clock.now(), backend)  # fmt: skip
            send_notices(svc)  # an urgent transcript tells the doctor on call now
            return report

    run_worker(
        db=svc.db,
        settings=settings,
        policy=svc.policy,
        keyring=svc.keyring,
        cipher=svc.cipher,
        practices=svc.practices,
        clock=svc.clock,
        notices=lambda: send_notices(svc),
        mail=lambda: send_mail(svc),
        transcribe=transcribe,
        reminders=lambda: send_reminders(svc),
    )
