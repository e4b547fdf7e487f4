"""The composition root: everything a process needs, built once from the settings.

The web app, the worker and every command build it here and nowhere else.
Start-up fails here, with one line naming the problem, rather than mid-call:
the key ring, practice files, prompt catalogues and flows are all loaded and
checked now.  The root also gives the boundaries their two tools: a unit of
work (one transaction, the cipher bound, the after-commit tasks it asked for)
and the senders those tasks run, bound to the REST client and the settings.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from callcenter import schema  # noqa: F401  (declares every table)
from callcenter.agenda import sync as agenda
from callcenter.agenda import writes as calendar_writes
from callcenter.appointments import sms as appointment_sms
from callcenter.audit import trail as audit
from callcenter.calls.models import Call
from callcenter.config.policy import Policy, PolicyError, load_policy
from callcenter.config.practice import Practice, PracticeDirectory, PracticeError
from callcenter.config.prompts import Catalogue, CatalogueError
from callcenter.config.settings import Settings
from callcenter.core import metrics
from callcenter.core.clock import Clock
from callcenter.core.logs import get_logger
from callcenter.core.twilio_rest import close_client, make_client
from callcenter.core.twilio_stand_in import LOG_FILE as STAND_IN_LOG
from callcenter.ivr.engine import CallEngine, PracticeRuntime
from callcenter.ivr.loader import load_flows
from callcenter.ivr.nodes.base import FlowError
from callcenter.messages.desk import MessageDesk
from callcenter.messages.transcribers import BACKENDS
from callcenter.notify import deletions, notices
from callcenter.notify.deletions import DeletionReport
from callcenter.notify.notices import SendReport
from callcenter.patient_requests import sms as request_sms
from callcenter.replies.cancel import cancel_reminded
from callcenter.replies.dispatch import SmsReplies
from callcenter.replies.keywords import ANNULER, OUI
from callcenter.security.crypto import DecryptionError, FieldCipher
from callcenter.security.encrypted import using_cipher
from callcenter.security.key_usage import UsageRecorder, stored_counts
from callcenter.security.keyring import KeyRing, KeyRingError, load_keyring
from callcenter.security.keyring_watch import KeyRingWatcher, keyring_path
from callcenter.security.models import KeyCheck
from callcenter.storage.db import Database
from callcenter.storage.revision import not_at_head
from callcenter.storage.unit_of_work import Task, UnitOfWork, unit_of_work
from callcenter.understanding import Catalogue as Understanding
from callcenter.understanding import CatalogueError as UnderstandingError
from callcenter.understanding import instance_files
from callcenter.waitlist import entries as waitlist_entries
from callcenter.waitlist import offers as waitlist_offers
from callcenter.waitlist import sms as waitlist_sms


class StartupError(Exception):
    """The instance cannot serve: one line naming the file and the problem."""


CHECKPOINT_FILE = "audit-checkpoints.jsonl"  # signed heads of the audit chain, in the home

log = get_logger("callcenter.services")


@dataclass
class Services:
    """The composition root: what a process serves with, and how its boundaries work.

    The web app, the worker and every command build one (:func:`build_services`)
    and reach the rest through it.  The root binds the senders of the feature
    modules to the REST client and the settings; it decides nothing itself.
    """

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
    replies: SmsReplies

    # -- the boundary ------------------------------------------------------------
    @contextmanager
    def bound(self) -> Iterator[None]:
        """Bind this root's cipher for a block of work (a request, a job, a command)."""
        with using_cipher(self.cipher):
            yield

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        """The one transaction of a webhook, a callback or a console action.

        Committed on success, rolled back on any error; its ``tasks`` (what to
        send now) are there once committed, for :meth:`after_commit`.
        """
        with self.bound(), unit_of_work(self.db) as work:
            yield work
            self.usage.flush(work.session, threshold=100)
        if audit.appended(work.session):  # committed: sign the new head at once
            self.sign_head()

    def flush_usage(self) -> int:
        """Add everything this process encrypted to the stored per-key totals.

        The end of every command calls it, whatever the count (the webhooks'
        threshold of a hundred would leave a short command uncounted), and
        whether the command succeeded or not: the nonces were used either way.
        """
        try:
            with self.db.session() as session:
                return self.usage.flush(session)
        except SQLAlchemyError as exc:  # the command's own error says why, in one line
            log.warning("key_usage_not_flushed", error=type(exc).__name__)
            return 0

    def after_commit(self, tasks: Iterable[Task]) -> None:
        """Run what a committed unit of work asked for; whatever fails waits for the worker."""
        run: dict[Task, Callable[[], object]] = {
            Task.SEND_SMS: self.send_notices,
            Task.REQUEST_DELETIONS: self.request_deletions,
            Task.WRITE_CALENDAR: self.write_calendars,
        }
        with self.bound():
            for task in tasks:
                try:
                    run[task]()
                except Exception as exc:  # the queued rows stay due: the worker retries
                    log.error("after_commit_failed", task=task.value, error=type(exc).__name__)

    # -- senders, bound to the REST client and the settings --------------------------
    def twilio(self) -> Any:
        """A REST client for Twilio (the caller closes it, or lets the sender do so)."""
        settings = self.settings
        return make_client(settings.twilio_account_sid, settings.twilio_auth_token,
                           api_base=settings.twilio_api_base,
                           stand_in=self.stand_in_log)  # fmt: skip

    @property
    def stand_in_log(self) -> Path | None:
        """Where the demo's stand-in for Twilio records what it was sent; None: the real API."""
        return self.settings.home / STAND_IN_LOG if self.settings.twilio_stand_in else None

    def catalogues(self) -> dict[str, Catalogue]:
        return {pid: runtime.catalogue for pid, runtime in self.engine.runtimes.items()}

    def send_notices(self, now: datetime | None = None) -> SendReport:
        """Send the due SMS: on-call notices, appointment confirmations and reminders, the
        patients' "request handled" SMS, then the waiting list's offers."""
        now, catalogues = now or self.clock.now(), self.catalogues()
        report = notices.send_due(self.db, self.practices, catalogues, self.twilio, now,
                                  caller_of=caller_of)  # fmt: skip
        for queue in (appointment_sms, request_sms, waitlist_sms):
            more = queue.send_due(self.db, self.practices, catalogues, self.twilio, now)
            report.sent, report.failed = report.sent + more.sent, report.failed + more.failed
            report.given_up, report.opted_out = (report.given_up + more.given_up,
                                                 report.opted_out + more.opted_out)  # fmt: skip
        for result in ("sent", "failed", "given_up", "opted_out"):
            metrics.NOTICES.labels(result).inc(getattr(report, result))
        return report

    def write_calendars(self, now: datetime | None = None) -> calendar_writes.WriteReport:
        """Write the due bookings, moves and cancellations to the doctors' own calendars."""
        return calendar_writes.send_due(self.db, self.practices, now or self.clock.now())

    def request_deletions(self, now: datetime | None = None) -> DeletionReport:
        """Send the due deletions to Twilio (recordings, transcriptions, call logs)."""
        now, client = now or self.clock.now(), self.twilio()
        try:
            with self.db.session() as session:
                return deletions.process_remote_deletions(
                    session, client, now,
                    retry_minutes=self.policy.retention.remote_deletion_retry_minutes,
                )  # fmt: skip
        finally:
            close_client(client)

    # -- the audit chain's checkpoints ------------------------------------------------
    @property
    def checkpoint_path(self) -> Path:
        return self.settings.home / CHECKPOINT_FILE

    def checkpoint(self, now: datetime | None = None, *, if_moved: bool = False) -> None:
        """Sign the audit chain's head into the checkpoint file, outside the database.

        ``if_moved``: only when the file's last checkpoint is not that head already.
        """
        write = audit.checkpoint_if_moved if if_moved else audit.write_checkpoint
        with self.db.session() as session:
            write(session, self.checkpoint_path, self.keyring.signing_key(),
                  now or self.clock.now())  # fmt: skip

    def sign_head(self) -> None:
        """Checkpoint after a committed audited write, so it cannot be cut or rewritten unseen.

        A failure is logged, not raised: the write is committed already, and
        the worker's minutely checkpoint signs it next.
        """
        try:
            self.checkpoint(if_moved=True)
        except (OSError, SQLAlchemyError) as exc:
            log.error("audit_checkpoint_failed", error=type(exc).__name__)

    def audit_signer(self) -> audit.Signer:
        """What a purge signs its retention anchor with, beside the checkpoints."""
        return audit.Signer(self.checkpoint_path, self.keyring.signing_key())

    def verify_audit(self, session: Session) -> audit.VerifyResult:
        """The chain against the signed checkpoints and anchors, and the audit retention."""
        return audit.verify(
            session, checkpoint_path=self.checkpoint_path, verify_key=self.keyring.verify_key(),
            retention=timedelta(days=self.policy.retention.audit),
        )  # fmt: skip

    def blind_index_bits(self, practice_id: str) -> int:
        practice = self.practices.by_id(practice_id)
        return practice.blind_index_bits if practice else 12


def caller_of(session: Session, call_id: str) -> str | None:
    """The number a call came from (or the one its withheld caller keyed), decrypted."""
    call = session.get(Call, call_id)
    return call.caller if call else None


def runtime_for(practice: Practice, settings: Settings, policy: Policy) -> PracticeRuntime:
    flows_dir = practice.flows_dir or settings.flows_dir
    catalogue = Catalogue.load(flows_dir, practice.language, practice.prompts,
                               {"urgent": practice.urgent_words})  # fmt: skip
    flows = load_flows(flows_dir, catalogue, practice.start_flow)
    understanding = Understanding.load(
        practice.language,
        *instance_files(settings.home, practice.language, practice.id),
        folder=flows_dir / "understanding",
    )
    return PracticeRuntime(
        practice, catalogue, flows, policy.notice(practice.language), policy.message_engine,
        (settings.public_base_url or "").rstrip("/"), understanding,
    )  # fmt: skip


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
        with services.bound(), services.db.session() as session:
            check_keyring(session)
            fingerprint = config_fingerprint(services.settings, services.practices)
            audit_config(session, fingerprint, services.clock.now())
            if not behind:  # the doctors' calendars as the practice files now name them
                agenda.link_calendars(session, services.practices)
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
    except (KeyRingError, PolicyError, PracticeError, CatalogueError, UnderstandingError,
            FlowError) as exc:  # fmt: skip
        raise StartupError(str(exc)) from None
    if policy.message_engine == "local" and policy.local_backend not in BACKENDS:
        known = ", ".join(sorted(BACKENDS))
        raise StartupError(f"{policy.source}: transcription.local_backend: "
                           f"{policy.local_backend!r} is not one of {known}")  # fmt: skip
    db = db or Database(settings.database_url)
    cipher = FieldCipher(keyring, counts=_stored_counts(db))

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
        replies=sms_replies(practices, {pid: r.catalogue for pid, r in runtimes.items()}),
    )


def sms_replies(practices: PracticeDirectory, catalogues: dict[str, Catalogue]) -> SmsReplies:
    """What each keyword of a patient's SMS does (STOP and START are the registry's own).

    A feature that answers a keyword registers its handler here; one that
    keeps a number for later SMS adds a STOP hook, which lets it go.
    """
    return SmsReplies(
        practices,
        catalogues,
        handlers={ANNULER: cancel_reminded, OUI: _take_offer},
        stop_hooks=[partial(waitlist_entries.end_for_number, reason=waitlist_entries.STOP)],
    )


def _take_offer(
    session: Session, cipher: FieldCipher, practice: Practice, sender: str, now: datetime
) -> tuple[str, dict[str, str]] | None:
    """OUI: the sender's open offer of a freed slot, taken if it is still free."""
    answer = waitlist_offers.accept_reply(session, cipher, practice, sender, now)
    return None if answer is None else (answer.key, answer.variables)


def _stored_counts(db: Database) -> dict[int, int]:
    """The encryption totals so far; none when the database is not reachable yet."""
    try:
        with db.session() as session:
            return stored_counts(session)
    except SQLAlchemyError:
        return {}
