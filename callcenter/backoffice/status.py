"""What the administrator's pages show about the instance's health, gathered without Flask.

Each function takes a session (and what else it needs) and returns plain
dataclasses of ids, counts, dates and file paths: the same facts the command
line prints (``keys status``, ``purge --dry-run``, ``digest status``,
``flows check``), never a decrypted value.  Nothing here writes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callcenter.audit.models import AuditEntry
from callcenter.config.policy import Policy
from callcenter.config.practice import Practice
from callcenter.config.prompts import Catalogue, CatalogueError
from callcenter.digests.compose import EXPIRY_WARNING_DAYS, certificate_problem
from callcenter.ivr.loader import check_flows
from callcenter.notify.backlog import backlog
from callcenter.notify.models import OutboxMail, RemoteDeletion
from callcenter.retention import purge as retention
from callcenter.security import smime
from callcenter.security.crypto import FieldCipher
from callcenter.security.key_usage import stored_counts
from callcenter.security.keyring import KeyRing
from callcenter.security.rotation import rows_per_key

# -- key ring -------------------------------------------------------------------


@dataclass(frozen=True)
class KeyInfo:
    key_id: str  # 8 hex digits, as `callcenter keys status` prints it
    status: str
    created_at: str
    encryptions: int
    active: bool


@dataclass(frozen=True)
class TableKeys:
    """How many stored values of one table each key id encrypted."""

    table: str
    counts: list[tuple[str, int, bool]]  # (key id, values, whether the ring holds the key)


@dataclass(frozen=True)
class KeyStatus:
    active: str
    keys: list[KeyInfo]
    tables: list[TableKeys]
    nonce_limit: int


def key_status(session: Session, keyring: KeyRing, cipher: FieldCipher) -> KeyStatus:
    """The active key, every key of the ring with its encryptions, rows per key per table.

    Encryptions: the larger of this process's counter and the stored total
    (every process adds its own to it now and then).  Secrets stay in the ring.
    """
    stored = stored_counts(session)
    keys = [
        KeyInfo(
            key_id=f"{entry.key_id:08x}", status=entry.status, created_at=entry.created_at,
            encryptions=max(cipher.encryptions(entry.key_id), stored.get(entry.key_id, 0)),
            active=entry.key_id == keyring.active_id,
        )
        for entry in keyring.entries()
    ]  # fmt: skip
    tables = [
        TableKeys(table, [(f"{k:08x}", n, k in keyring) for k, n in sorted(counts.items())])
        for table, counts in rows_per_key(session).items()
    ]
    return KeyStatus(f"{keyring.active_id:08x}", keys, tables, cipher.nonce_limit)


# -- retention ------------------------------------------------------------------


@dataclass(frozen=True)
class Deletions:
    """The queue of deletions at Twilio (recordings, transcriptions, call logs)."""

    pending: int  # not confirmed yet
    due: int  # of which due now (the worker takes them at its next run)
    failing: int  # of which the last attempt failed (retried with back-off)
    done: int


@dataclass(frozen=True)
class RetentionStatus:
    lifetimes: list[tuple[str, int]]  # kind of data, days
    retry_minutes: int
    due: dict[str, int]  # what a purge would delete now, per kind
    deletions: Deletions
    last_purge: datetime | None
    recording_calls: bool
    recording_messages: bool
    engine: str


def retention_status(session: Session, policy: Policy, now: datetime) -> RetentionStatus:
    """The policy's lifetimes, what is due but not purged yet, and the Twilio deletions."""
    r = policy.retention
    lifetimes = [
        ("recordings", r.recordings), ("transcripts", r.transcripts), ("messages", r.messages),
        ("requests", r.requests_days), ("calls", r.calls),
        ("appointments_after", r.appointments_after), ("waiting_list", r.waiting_list),
        ("audit", r.audit),
    ]  # fmt: skip
    due = retention.purge(session, policy, now, dry_run=True).counts()
    waiting = RemoteDeletion.done_at.is_(None)

    def count(*where: object) -> int:
        query = select(func.count()).select_from(RemoteDeletion).where(*where)  # type: ignore[arg-type]
        return int(session.execute(query).scalar_one())

    deletions = Deletions(
        pending=backlog(session).deletions_pending,
        due=count(waiting, RemoteDeletion.due_at <= now),
        failing=count(waiting, RemoteDeletion.last_error.is_not(None)),
        done=count(RemoteDeletion.done_at.is_not(None)),
    )
    last_purge = session.scalar(
        select(func.max(AuditEntry.ts)).where(AuditEntry.action == retention.PURGE_ACTION)
    )
    return RetentionStatus(
        lifetimes, r.remote_deletion_retry_minutes, due, deletions, last_purge,
        policy.recording.calls, policy.recording.messages, policy.message_engine,
    )  # fmt: skip


# -- digest outbox --------------------------------------------------------------

OUTBOX_STATUSES = ("pending", "sent", "failed", "refused", "skipped")


@dataclass
class DoctorOutbox:
    """One doctor's digests: the outbox by status, and whether a digest can be sealed."""

    practice_id: str
    doctor_id: str
    doctor_name: str | None  # None: no longer in the practice file
    counts: dict[str, int] = field(default_factory=dict)
    last_sent: datetime | None = None
    problem: str | None = None  # why no digest can be sealed now
    expires: datetime | None = None
    expiring: bool = False  # expires within EXPIRY_WARNING_DAYS: time to renew


def _certificate(practice: Practice, entry: DoctorOutbox, now: datetime) -> None:
    doctor = next((d for d in practice.doctors if d.id == entry.doctor_id), None)
    if doctor is None:
        return
    entry.problem = certificate_problem(practice, doctor, now)
    if doctor.certificate is None:
        return
    try:
        cert = smime.load_certificate(doctor.certificate)
    except smime.SmimeError:
        return  # the problem above already says so
    entry.expires = cert.not_valid_after_utc
    entry.expiring = smime.expires_within(cert, now, EXPIRY_WARNING_DAYS)


def outbox_status(session: Session, practices: list[Practice], now: datetime) -> list[DoctorOutbox]:
    """Per practice and doctor (those in the files, and any still in the outbox)."""
    found: dict[tuple[str, str], DoctorOutbox] = {
        (p.id, d.id): DoctorOutbox(p.id, d.id, d.name) for p in practices for d in p.doctors
    }
    query = select(
        OutboxMail.practice_id, OutboxMail.doctor_id, OutboxMail.status, func.count(),
        func.max(OutboxMail.sent_at),
    ).group_by(OutboxMail.practice_id, OutboxMail.doctor_id, OutboxMail.status)  # fmt: skip
    for practice_id, doctor_id, status, count, sent in session.execute(query):
        entry = found.setdefault(
            (practice_id, doctor_id), DoctorOutbox(practice_id, doctor_id, None)
        )
        entry.counts[status] = entry.counts.get(status, 0) + int(count)
        if sent is not None and (entry.last_sent is None or sent > entry.last_sent):
            entry.last_sent = sent
    by_id = {p.id: p for p in practices}
    for (practice_id, _), entry in found.items():
        if practice_id in by_id:
            _certificate(by_id[practice_id], entry, now)
    return list(found.values())


def outbox_totals(rows: list[DoctorOutbox]) -> Counter[str]:
    totals: Counter[str] = Counter()
    for row in rows:
        totals.update(row.counts)
    return totals


# -- flows ----------------------------------------------------------------------


@dataclass(frozen=True)
class FlowReport:
    """``callcenter flows check`` for one practice's flows folder, as it is on disk now."""

    practice_id: str
    practice_name: str
    folder: str
    start_flow: str
    flows: int
    nodes: int
    errors: list[str]


def flow_report(practice: Practice, default_dir: Path) -> FlowReport:
    folder = practice.flows_dir or default_dir
    errors: list[str] = []
    catalogue: Catalogue | None = None
    try:
        catalogue = Catalogue.load(
            folder, practice.language, practice.prompts, {"urgent": practice.urgent_words}
        )
    except CatalogueError as exc:
        errors.append(str(exc))
    flowset, problems = check_flows(folder, catalogue, practice.start_flow)
    errors += [str(problem) for problem in problems]
    nodes = sum(len(flow.nodes) for flow in flowset.flows.values())
    return FlowReport(practice.id, practice.name, str(folder), practice.start_flow,
                      len(flowset.flows), nodes, errors)  # fmt: skip


# -- audit log ------------------------------------------------------------------

AUDIT_PAGE = 200


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]  # newest first
    older: int | None  # the ``before`` of the next page back, None at the start of the log


def audit_page(session: Session, before: int | None, size: int = AUDIT_PAGE) -> AuditPage:
    """Up to ``size`` entries with a seq below ``before`` (the newest when None)."""
    query = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(size + 1)
    if before is not None:
        query = query.where(AuditEntry.seq < before)
    rows = list(session.scalars(query))
    more = len(rows) > size
    rows = rows[:size]
    return AuditPage(rows, rows[-1].seq if more and rows else None)
