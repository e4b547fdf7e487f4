"""Everything a process needs, built once from the settings.

Start-up fails here, with one line naming the problem, rather than mid-call:
the key ring, practice files, prompt catalogues and flows are all loaded and
checked now.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from callcenter import schema  # noqa: F401  (declares every table)
from callcenter.appointments import sms as appointment_sms
from callcenter.audit import trail as audit
from callcenter.config.policy import Policy, PolicyError, load_policy
from callcenter.config.practice import Practice, PracticeDirectory, PracticeError
from callcenter.config.prompts import Catalogue, CatalogueError
from callcenter.config.settings import Settings
from callcenter.core import metrics
from callcenter.core.clock import Clock
from callcenter.core.twilio_rest import make_client
from callcenter.ivr.engine import CallEngine, PracticeRuntime
from callcenter.ivr.loader import load_flows
from callcenter.ivr.nodes.base import FlowError
from callcenter.messages.desk import MessageDesk
from callcenter.messages.transcribers import BACKENDS
from callcenter.notify import notices
from callcenter.notify.notices import SendReport
from callcenter.security.crypto import DecryptionError, FieldCipher
from callcenter.security.encrypted import use_cipher
from callcenter.security.key_usage import UsageRecorder, stored_counts
from callcenter.security.keyring import KeyRing, KeyRingError, load_keyring
from callcenter.security.keyring_watch import KeyRingWatcher, keyring_path
from callcenter.security.models import KeyCheck
from callcenter.storage.db import Database
from callcenter.storage.migrate import not_at_head


class StartupError(Exception):
    """The instance cannot serve: one line naming the file and the problem."""


@dataclass
class Services:
    settings: Settings
    db: Database
    practices: PracticeDirectory
    engine: CallEngine
    clock: Clock
    keyring: KeyRing
    policy: Policy
    cipher: FieldCipher
    usage: UsageRecorder
    watcher: KeyRingWatcher
    messages: MessageDesk


def runtime_for(practice: Practice, settings: Settings, policy: Policy) -> PracticeRuntime:
    flows_dir = practice.flows_dir or settings.flows_dir
    catalogue = Catalogue.load(flows_dir, practice.language, practice.prompts)
    flows = load_flows(flows_dir, catalogue, practice.start_flow)
    return PracticeRuntime(
        practice, catalogue, flows, policy.notice(practice.language), policy.message_engine,
        (settings.public_base_url or "").rstrip("/"),
    )  # fmt: skip


def send_notices(services: Services) -> SendReport:
    """Send the due SMS notices (right after a webhook that queued one, and by the worker)."""
    settings = services.settings
    report = notices.send_due(
        services.db,
        services.practices,
        {pid: runtime.catalogue for pid, runtime in services.engine.runtimes.items()},
        lambda: make_client(settings.twilio_account_sid, settings.twilio_auth_token,
                            api_base=settings.twilio_api_base),
        services.clock.now(),
    )  # fmt: skip
    # -- appointments: confirmations and reminders to patients, same outbox rules
    more = appointment_sms.send_due(
        services.db,
        services.practices,
        {pid: runtime.catalogue for pid, runtime in services.engine.runtimes.items()},
        lambda: make_client(settings.twilio_account_sid, settings.twilio_auth_token,
                            api_base=settings.twilio_api_base),
        services.clock.now(),
    )  # fmt: skip
    report.sent, report.failed = report.sent + more.sent, report.failed + more.failed
    report.given_up += more.given_up
    for result in ("sent", "failed", "given_up"):
        metrics.NOTICES.labels(result).inc(getattr(report, result))
    return report


def send_reminders(services: Services) -> SendReport:
    """Queue tomorrow's appointment reminders once their time has come, then send."""
    with services.db.session() as session:
        appointment_sms.queue_reminders(session, services.practices, services.clock.now())
    return send_notices(services)


def send_mail(services: Services, *, doctor: str | None = None, force: bool = False) -> MailRun:
    """Build the due digests and urgent e-mails, then send what the outbox holds."""
    from callcenter.digests import compose as digests
    from callcenter.notify import outbox

    settings, now = services.settings, services.clock.now()
    catalogues = {pid: runtime.catalogue for pid, runtime in services.engine.runtimes.items()}
    sender = settings.smtp.sender if settings.smtp else f"callcenter@{socket.getfqdn()}"
    practices = list(services.practices)
    with services.db.session() as session:
        urgent = digests.urgent_mails(session, {p.id: p for p in practices}, catalogues, sender,
                                      now)  # fmt: skip
        built = digests.due_digests(session, practices, catalogues, sender, now,
                                    only_doctor=doctor, force=force)  # fmt: skip

    def recipient(practice_id: str, doctor_id: str) -> str | None:
        practice = services.practices.by_id(practice_id)
        found = [d for d in practice.doctors if d.id == doctor_id] if practice else []
        return found[0].email if found else None

    sent = outbox.send_due(services.db, settings.smtp, recipient, now)
    return MailRun(urgent=urgent, built=built, sent=sent)


@dataclass
class MailRun:
    urgent: int
    built: dict[str, int]
    sent: Any


def check_keyring(session: Session) -> None:
    """Prove the key ring opens this database.

    A wrong key ring must stop start-up: serving with it would store rows no
    one can read beside rows it cannot read.
    """
    try:
        row = session.scalars(select(KeyCheck)).first()
        if row is not None and row.value != KeyCheck.KNOWN:
            raise DecryptionError("key check value differs")
    except DecryptionError:
        raise StartupError(
            "the key ring cannot decrypt this database (wrong CALLCENTER_KEYRING or keyring.json?)"
        ) from None


def config_fingerprint(settings: Settings, practices: PracticeDirectory) -> str:
    """A hash of every file that shapes calls: practices, flows, prompts, the policy."""
    folders = {settings.practices_dir, settings.flows_dir, settings.flows_dir / "prompts"}
    for practice in practices:
        if practice.flows_dir:
            folders |= {practice.flows_dir, practice.flows_dir / "prompts"}
    files = sorted(p for folder in folders for p in folder.glob("*.yaml"))
    digest = hashlib.sha256()
    for path in [*files, settings.policy_file]:
        digest.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def audit_config(session: Session, fingerprint: str, now: datetime) -> bool:
    """Audit a configuration change: True when the files differ from the last start."""
    last = session.scalars(
        select(audit.AuditEntry.details)
        .where(audit.AuditEntry.action == "config.loaded")
        .order_by(audit.AuditEntry.seq.desc())
        .limit(1)
    ).first()
    if last is not None and json.loads(last).get("fingerprint") == fingerprint:
        return False
    audit.append(session, actor="system:start", action="config.loaded",
                 details={"fingerprint": fingerprint}, now=now)  # fmt: skip
    return True


def start_up(services: Services) -> list[str]:
    """Checks against the database at start-up; returns the warnings to log.

    Raises StartupError for a key ring that cannot read the database; a
    database that does not answer yet is only a warning (calls then take the
    fallback path until it does), and so is one not at the head revision:
    calls must always get an answer, upgrading is the administrator's act.
    """
    warnings: list[str] = []
    try:
        behind = not_at_head(services.db.engine)
        if behind:
            warnings.append(behind)
        with services.db.session() as session:
            check_keyring(session)
            fingerprint = config_fingerprint(services.settings, services.practices)
            audit_config(session, fingerprint, services.clock.now())
    except SQLAlchemyError:
        return [*warnings, "database_unreachable_at_start"]
    return warnings


def build_services(settings: Settings, db: Database | None = None) -> Services:
    try:
        keyring = load_keyring(settings.home, dict(os.environ))
        policy = load_policy(settings.policy_file)
        practices = PracticeDirectory.load(settings.practices_dir)
        runtimes = {p.id: runtime_for(p, settings, policy) for p in practices}
        default_catalogue = Catalogue.load(settings.flows_dir, "fr-FR")
    except (KeyRingError, PolicyError, PracticeError, CatalogueError, FlowError) as exc:
        raise StartupError(str(exc)) from None
    if policy.message_engine == "local" and policy.local_backend not in BACKENDS:
        known = ", ".join(sorted(BACKENDS))
        raise StartupError(f"{policy.source}: transcription.local_backend: "
                           f"{policy.local_backend!r} is not one of {known}")  # fmt: skip
    db = db or Database(settings.database_url)
    cipher = FieldCipher(keyring, counts=_stored_counts(db))
    use_cipher(cipher)

    def practice_and_catalogue(practice_id: str) -> tuple[Practice, Catalogue] | None:
        runtime = runtimes.get(practice_id)
        return (runtime.practice, runtime.catalogue) if runtime else None

    return Services(
        settings=settings,
        db=db,
        practices=practices,
        engine=CallEngine(practices, runtimes, default_catalogue, cipher),
        clock=Clock(settings.now),
        keyring=keyring,
        policy=policy,
        cipher=cipher,
        usage=UsageRecorder(cipher),
        watcher=KeyRingWatcher(cipher, keyring_path(settings.home, os.environ)),
        messages=MessageDesk(practice_and_catalogue, policy.message_engine),
    )


def _stored_counts(db: Database) -> dict[int, int]:
    """The encryption totals so far; none when the database is not reachable yet."""
    try:
        with db.session() as session:
            return stored_counts(session)
    except SQLAlchemyError:
        return {}
