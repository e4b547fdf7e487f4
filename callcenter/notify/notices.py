"""Urgent notices to the on-call doctor: an SMS with no personal or health data.

A notice is queued in the call's own transaction (one per call and kind, so a
retried webhook queues nothing twice), sent right after the webhook has
answered, and retried by the worker with back-off until Twilio accepts it.
The text names the practice and a short reference, never the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from callcenter.config.practice import PracticeDirectory
from callcenter.config.prompts import Catalogue
from callcenter.core.logs import get_logger
from callcenter.core.twilio_rest import close_client
from callcenter.notify.models import Notice
from callcenter.storage.db import Database, new_id
from callcenter.storage.unit_of_work import Task, after_commit

log = get_logger("callcenter.notices")

MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=2)


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    given_up: int = 0


def reference_for(call_id: str) -> str:
    """A short, pseudonymous reference the doctor can quote to the practice."""
    return call_id[:6].upper()


def queue_notice(
    session: Session, *, practice_id: str, call_id: str, doctor_id: str, kind: str, now: datetime
) -> bool:
    """Queue one notice per (call, kind); returns whether it is new.  Does not commit."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(Notice).values(
        id=new_id(), practice_id=practice_id, call_id=call_id, kind=kind, doctor_id=doctor_id,
        reference=reference_for(call_id), status="pending", attempts=0, due_at=now,
    ).on_conflict_do_nothing(index_elements=["call_id", "kind"])  # fmt: skip
    added = bool(session.execute(statement).rowcount)  # type: ignore[attr-defined]
    if added:
        after_commit(session, Task.SEND_SMS)  # the boundary sends it after answering
    return added


def _claim(session: Session, notice: Notice, now: datetime) -> bool:
    claimed = session.execute(
        update(Notice)
        .where(Notice.id == notice.id, Notice.status == "pending", Notice.due_at <= now)
        .values(due_at=now + LEASE, attempts=Notice.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    session.commit()  # visible to other workers before Twilio is called
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


def send_due(
    db: Database,
    practices: PracticeDirectory,
    catalogues: dict[str, Catalogue],
    client_factory: Callable[[], Any],
    now: datetime,
    limit: int = 20,
) -> SendReport:
    """Send the due notices; a failure is retried later with back-off, never dropped silently."""
    report = SendReport()
    with db.session() as session:
        due = list(session.scalars(
            select(Notice).where(Notice.status == "pending", Notice.due_at <= now)
            .order_by(Notice.due_at).limit(limit)
        ))  # fmt: skip
        if not due:
            return report
        client = client_factory()
        try:
            for notice in due:
                if _claim(session, notice, now):
                    _send_one(session, client, notice, practices, catalogues, now, report)
        finally:
            close_client(client)
    return report


def _send_one(
    session: Session,
    client: Any,
    notice: Notice,
    practices: PracticeDirectory,
    catalogues: dict[str, Catalogue],
    now: datetime,
    report: SendReport,
) -> None:
    session.refresh(notice)
    practice = practices.by_id(notice.practice_id)
    doctor = (
        next((d for d in practice.doctors if d.id == notice.doctor_id), None) if practice else None
    )
    if practice is None or doctor is None or not doctor.on_call_phone:
        notice.status, notice.last_error = "failed", "no-recipient"
        report.given_up += 1
        log.error("notice_undeliverable", notice=notice.id, reason="no-recipient")
        return
    catalogue = catalogues[practice.id]
    body = catalogue.text(
        f"sms_{notice.kind.replace('-', '_')}",
        {"practice_name": practice.name, "reference": notice.reference},
    )
    if send_sms(client, notice, to=doctor.on_call_phone, from_=practice.number, body=body,
                now=now, report=report, event="notice"):  # fmt: skip
        log.info("notice_sent", notice=notice.id, kind=notice.kind, message_sid=notice.message_sid)


def send_sms(
    client: Any, row: Any, *, to: str, from_: str, body: str, now: datetime,
    report: SendReport, event: str,
) -> bool:  # fmt: skip
    """Send one claimed outbox row's SMS through Twilio; True once Twilio accepted it.

    A failure is retried with back-off (2, 4 … 64 minutes) until MAX_ATTEMPTS,
    then the row is given up on, loudly.  ``row`` has status, attempts,
    due_at, sent_at, message_sid and last_error (notices, appointment SMS).
    """
    try:
        sms = client.messages.create(to=to, from_=from_, body=body)
    except Exception as exc:
        row.last_error = type(exc).__name__[:64]
        if row.attempts >= MAX_ATTEMPTS:
            row.status = "failed"
            report.given_up += 1
            log.error(f"{event}_given_up", id=row.id, attempts=row.attempts)
        else:
            row.due_at = now + timedelta(minutes=2 ** min(row.attempts, 6))
            report.failed += 1
            log.warning(f"{event}_failed", id=row.id, error=row.last_error)
        return False
    row.status, row.sent_at, row.message_sid = "sent", now, str(sms.sid)[:64]
    report.sent += 1
    return True
