"""The mail outbox: each digest is built once, kept encrypted until sent, sent once.

A row is unique per (practice, doctor, kind, reference): the reference is the
digest's scheduled moment, or the urgent notice it follows, so two workers
building the same digest end with one row.  Sending claims a row with a
conditional update (a lease on ``due_at``) before talking to the SMTP server,
so two workers never send the same row; a failure is retried with back-off.
The sealed message is itself S/MIME-encrypted to the doctor; it is encrypted
again at rest like every stored value, and blanked once sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from callcenter.core.logs import get_logger
from callcenter.core.mailer import SmtpSettings, send
from callcenter.notify.models import FAILED, PENDING, SENT, OutboxMail
from callcenter.storage.db import Database

log = get_logger("callcenter.outbox")

LEASE = timedelta(minutes=5)  # longer than any SMTP conversation
MAX_ATTEMPTS = 12  # with back-off capped at an hour: about half a day of outage


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    given_up: int = 0
    waiting: int = 0  # no SMTP configured: left for later


def exists(session: Session, practice_id: str, doctor_id: str, kind: str, ref: str) -> bool:
    return (
        session.scalars(
            select(OutboxMail.id).where(
                OutboxMail.practice_id == practice_id,
                OutboxMail.doctor_id == doctor_id,
                OutboxMail.kind == kind,
                OutboxMail.ref == ref,
            )
        ).first()
        is not None
    )


def add(session: Session, mail: OutboxMail) -> bool:
    """Insert once: False when another worker already built this mail (nothing changes)."""
    try:
        with session.begin_nested():
            session.add(mail)
    except IntegrityError:
        return False
    return True


def send_due(
    db: Database,
    smtp: SmtpSettings | None,
    recipient: Callable[[str, str], str | None],
    now: datetime,
    limit: int = 20,
) -> SendReport:
    """Send the due mails; ``recipient(practice, doctor)`` gives the address (or None)."""
    report = SendReport()
    with db.session() as session:
        due = list(session.scalars(
            select(OutboxMail.id).where(OutboxMail.status == PENDING, OutboxMail.due_at <= now)
            .order_by(OutboxMail.due_at).limit(limit)
        ))  # fmt: skip
        if smtp is None:
            report.waiting = len(due)
            if due:
                log.warning("smtp_not_configured", waiting=len(due))
            return report
        for mail_id in due:
            if _claim(session, mail_id, now):
                _send_one(session, smtp, session.get_one(OutboxMail, mail_id), recipient, now,
                          report)  # fmt: skip
                session.commit()
    return report


def _claim(session: Session, mail_id: str, now: datetime) -> bool:
    claimed = session.execute(
        update(OutboxMail)
        .where(OutboxMail.id == mail_id, OutboxMail.status == PENDING, OutboxMail.due_at <= now)
        .values(due_at=now + LEASE, attempts=OutboxMail.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    session.commit()  # visible to other workers before the SMTP server is called
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


def _send_one(
    session: Session,
    smtp: SmtpSettings,
    mail: OutboxMail,
    recipient: Callable[[str, str], str | None],
    now: datetime,
    report: SendReport,
) -> None:
    session.refresh(mail)
    address = recipient(mail.practice_id, mail.doctor_id)
    body = mail.body
    if address is None or body is None:
        mail.status, mail.last_error = FAILED, "no-recipient"
        report.given_up += 1
        log.error("mail_undeliverable", mail=mail.id, reason="no-recipient")
        return
    try:
        send(smtp, address, body.encode("ascii"))
    except Exception as exc:
        mail.last_error = type(exc).__name__[:120]
        if mail.attempts >= MAX_ATTEMPTS:
            mail.status = FAILED
            report.given_up += 1
            log.error("mail_given_up", mail=mail.id, attempts=mail.attempts)
        else:
            mail.due_at = now + timedelta(minutes=min(2 ** (mail.attempts - 1), 60))
            report.failed += 1
            log.warning("mail_failed", mail=mail.id, error=mail.last_error)
        return
    mail.status, mail.sent_at, mail.body, mail.last_error = SENT, now, None, None
    report.sent += 1
    log.info("mail_sent", mail=mail.id, kind=mail.kind)
