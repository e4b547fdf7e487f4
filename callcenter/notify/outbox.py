"""The mail outbox: each digest is built once, kept encrypted until sent, sent once.

A row is unique per (practice, doctor, kind, reference): the reference is the
digest's scheduled moment, or the urgent notice it follows, so two workers
building the same digest end with one row.  Sending goes through the shared
work queue (:mod:`callcenter.notify.workqueue`): a row is claimed before
talking to the SMTP server, so two workers never send the same row, and a
failure is retried with back-off.
The sealed message is itself S/MIME-encrypted to the doctor; it is encrypted
again at rest like every stored value, and blanked once sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from callcenter.core.logs import get_logger
from callcenter.core.mailer import SmtpSettings, send
from callcenter.notify import workqueue
from callcenter.notify.models import FAILED, PENDING, SENT, OutboxMail
from callcenter.notify.workqueue import Backoff, Failed, WorkQueue
from callcenter.storage.db import Database

log = get_logger("callcenter.outbox")

LEASE = timedelta(minutes=5)  # longer than any SMTP conversation
MAX_ATTEMPTS = 12  # with back-off capped at an hour: about half a day of outage
BACKOFF = Backoff(first=timedelta(minutes=1), doublings=6, ceiling=timedelta(hours=1))


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


def drop_unsent(session: Session, practice_id: str) -> int:
    """Drop the practice's pending mail and empty its other unsent bodies; returns how many.

    Erasure's part: a sealed digest cannot be read back to tell whether it
    names the subject, so every unsent one goes.  A pending digest is deleted
    and built again at the next run from what is left (its period starts
    where the last digest that kept its row ended); a given-up mail keeps its
    row and status, without its body.  Sent mail holds no body already.
    """
    dropped = session.execute(
        delete(OutboxMail)
        .where(OutboxMail.practice_id == practice_id, OutboxMail.status == PENDING)
        .execution_options(synchronize_session=False)
    )
    emptied = session.execute(
        update(OutboxMail)
        .where(OutboxMail.practice_id == practice_id, OutboxMail.body_ct.is_not(None))
        .values(body_ct=None)
        .execution_options(synchronize_session=False)
    )
    return int(dropped.rowcount) + int(emptied.rowcount)  # type: ignore[attr-defined]


def send_due(
    db: Database,
    smtp: SmtpSettings | None,
    recipient: Callable[[str, str], str | None],
    now: datetime,
    limit: int = 20,
) -> SendReport:
    """Send the due mails; ``recipient(practice, doctor)`` gives the address (or None)."""
    queue = _Mails(smtp, recipient)
    with db.session() as session:
        due = queue.due(session, now, limit)
        if smtp is None:
            if due:
                log.warning("smtp_not_configured", waiting=len(due))
            return SendReport(waiting=len(due))
        outcomes = queue.process(session, due, now)
    return SendReport(sent=outcomes[SENT], failed=outcomes[workqueue.FAILED],
                      given_up=outcomes[workqueue.GIVEN_UP])  # fmt: skip


class _Mails(WorkQueue[OutboxMail]):
    model, event, log_key = OutboxMail, "mail", "mail"
    lease = LEASE
    backoff = BACKOFF
    max_attempts = MAX_ATTEMPTS
    error_width = 120
    log = log

    def __init__(
        self, smtp: SmtpSettings | None, recipient: Callable[[str, str], str | None]
    ) -> None:
        self.smtp, self.recipient = smtp, recipient

    def send(self, session: Session, mail: OutboxMail, now: datetime) -> str:
        address = self.recipient(mail.practice_id, mail.doctor_id)
        body = mail.body
        if address is None or body is None:
            mail.status, mail.last_error = FAILED, "no-recipient"
            log.error("mail_undeliverable", mail=mail.id, reason="no-recipient")
            return workqueue.GIVEN_UP
        assert self.smtp is not None  # without SMTP, send_due leaves every mail waiting
        try:
            send(self.smtp, address, body.encode("ascii"))
        except Exception as exc:
            raise Failed(type(exc).__name__) from exc
        mail.status, mail.sent_at, mail.body, mail.last_error = SENT, now, None, None
        log.info("mail_sent", mail=mail.id, kind=mail.kind)
        return SENT
