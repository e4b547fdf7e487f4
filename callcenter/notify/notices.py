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
from typing import Any, TypeVar

from sqlalchemy.orm import Session, object_session

from callcenter.audit import trail as audit
from callcenter.config.practice import PracticeDirectory
from callcenter.config.prompts import Catalogue
from callcenter.core.logs import get_logger
from callcenter.core.twilio_rest import close_client
from callcenter.notify import optout
from callcenter.notify.models import Notice
from callcenter.notify.workqueue import FAILED, GIVEN_UP, Backoff, Failed, WorkQueue
from callcenter.security.encrypted import current_cipher
from callcenter.storage.db import Database, new_id
from callcenter.storage.insert_once import insert_once
from callcenter.storage.unit_of_work import Task, after_commit

log = get_logger("callcenter.notices")

MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=2)
BACKOFF = Backoff(first=timedelta(minutes=2), doublings=5)  # 2, 4 … 64 minutes
SENT = "sent"
#: Status (and outcome) of an SMS not sent because its number replied STOP.
NOT_SENT = "skipped"  # a patients' SMS with nothing left to send (see SmsQueue.skip)
OPTED_OUT = "opted-out"
#: A notice's kind: the urgent ones go to the doctor on call; this one to the
#: caller who asked for the data notice's link (the number read from the call).
PRIVACY_NOTICE = "privacy-notice"

Row = TypeVar("Row")


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    given_up: int = 0
    opted_out: int = 0


def reference_for(call_id: str) -> str:
    """A short, pseudonymous reference the doctor can quote to the practice."""
    return call_id[:6].upper()


def queue_notice(
    session: Session, *, practice_id: str, call_id: str, doctor_id: str, kind: str, now: datetime
) -> bool:
    """Queue one notice per (call, kind); returns whether it is new.  Does not commit."""
    values = {
        "id": new_id(), "practice_id": practice_id, "call_id": call_id, "kind": kind,
        "doctor_id": doctor_id, "reference": reference_for(call_id), "status": "pending",
        "attempts": 0, "due_at": now,
    }  # fmt: skip
    added = insert_once(session, Notice, values, ("call_id", "kind"))
    if added:
        after_commit(session, Task.SEND_SMS)  # the boundary sends it after answering
    return added


class OptedOut(Exception):
    """Raised by :meth:`SmsQueue.text` for a number that replied STOP: the row is settled."""


class SmsQueue(WorkQueue[Row]):
    """An SMS table (practice_id, status, attempts, due_at, sent_at, message_sid,
    last_error) sent through Twilio: the urgent notices and the appointment SMS.

    A failure is retried with back-off (2, 4 … 64 minutes) until
    :data:`MAX_ATTEMPTS`, then the row is given up on, loudly.  A number that
    replied STOP to the row's practice gets nothing: :meth:`text` refuses it
    and the row is settled as :data:`OPTED_OUT`, whichever queue it is in.
    """

    lease = LEASE
    backoff = BACKOFF
    max_attempts = MAX_ATTEMPTS
    log = log  # appointment SMS failures are logged here too, as they always were

    def __init__(self, practices: PracticeDirectory, catalogues: dict[str, Catalogue]) -> None:
        self.practices, self.catalogues = practices, catalogues
        self.client: Any = None  # made by send_batch, only when something is due

    def text(self, row: Any, *, to: str, from_: str, body: str, now: datetime) -> None:
        """Send one claimed row's SMS: the one way an SMS leaves the server.

        Raises :class:`OptedOut` (before any REST call) when ``to`` replied
        STOP to the row's practice, and :class:`Failed` when Twilio refuses it.
        """
        session = object_session(row)
        if session is None:  # the opt-out cannot be checked: never send unchecked
            raise RuntimeError("an SMS row must belong to the sending session")
        practice = self.practices.by_id(row.practice_id)
        bits = practice.blind_index_bits if practice else 12
        if optout.is_opted_out(session, current_cipher(), row.practice_id, to, bits):
            raise OptedOut
        try:
            sms = self.client.messages.create(to=to, from_=from_, body=body)
        except Exception as exc:
            raise Failed(type(exc).__name__) from exc
        row.status, row.sent_at, row.message_sid = SENT, now, str(sms.sid)[:64]

    @staticmethod
    def skip(row: Any, reason: str) -> str:
        """Settle a row that has nothing to send any more (``reason``: short, no personal data)."""
        row.status, row.last_error = NOT_SENT, reason
        return NOT_SENT

    def _attempt(self, session: Session, row: Row, now: datetime) -> str:
        """One row's attempt, an opt-out settled here for every SMS queue."""
        try:
            return super()._attempt(session, row, now)
        except OptedOut:
            item: Any = row
            item.status, item.last_error = OPTED_OUT, "opted-out"
            self.log.warning(f"{self.event}_opted_out", **{self.log_key: item.id})
            return OPTED_OUT


def send_batch(
    session: Session,
    queue: SmsQueue[Any],
    client_factory: Callable[[], Any],
    now: datetime,
    limit: int,
) -> SendReport:
    """Send an SMS queue's due rows through one Twilio client, made only if one is due."""
    due = queue.due(session, now, limit)
    if not due:
        return SendReport()
    queue.client = client_factory()
    try:
        outcomes = queue.process(session, due, now)
    finally:
        close_client(queue.client)
    return SendReport(sent=outcomes[SENT], failed=outcomes[FAILED], given_up=outcomes[GIVEN_UP],
                      opted_out=outcomes[OPTED_OUT])  # fmt: skip


def send_audited(
    db: Database,
    queue: SmsQueue[Any],
    client_factory: Callable[[], Any],
    now: datetime,
    limit: int,
    action: str,
) -> SendReport:
    """Send a patients' SMS queue's due rows in one session of their own.

    Their numbers were decrypted outside a call: how many were sent is audited
    (``action``, counts only).  A failure is retried later with back-off, never
    dropped silently.
    """
    with db.session() as session:
        report = send_batch(session, queue, client_factory, now, limit)
        if report.sent:
            audit.append(session, actor="system:sms", action=action,
                         details={"sent": report.sent}, now=now)  # fmt: skip
    return report


#: The caller's number of a call, for the notices that go to the caller.
CallerOf = Callable[[Session, str], "str | None"]


class _Notices(SmsQueue[Notice]):
    model, event = Notice, "notice"

    def __init__(
        self,
        practices: PracticeDirectory,
        catalogues: dict[str, Catalogue],
        caller_of: CallerOf | None = None,
    ) -> None:
        super().__init__(practices, catalogues)
        self.caller_of = caller_of

    def send(self, session: Session, notice: Notice, now: datetime) -> str:
        practice = self.practices.by_id(notice.practice_id)
        if notice.kind == PRIVACY_NOTICE:
            return self._send_link(session, notice, now)
        doctor = (
            next((d for d in practice.doctors if d.id == notice.doctor_id), None)
            if practice
            else None
        )
        if practice is None or doctor is None or not doctor.on_call_phone:
            notice.status, notice.last_error = "failed", "no-recipient"
            log.error("notice_undeliverable", notice=notice.id, reason="no-recipient")
            return GIVEN_UP
        body = self.catalogues[practice.id].text(
            f"sms_{notice.kind.replace('-', '_')}",
            {"practice_name": practice.name, "reference": notice.reference},
        )
        self.text(notice, to=doctor.on_call_phone, from_=practice.number, body=body, now=now)
        log.info("notice_sent", notice=notice.id, kind=notice.kind, message_sid=notice.message_sid)
        return SENT

    def _send_link(self, session: Session, notice: Notice, now: datetime) -> str:
        """The data notice's link, to the number the call came from (or the one keyed)."""
        practice = self.practices.by_id(notice.practice_id)
        number = (
            self.caller_of(session, notice.call_id) if self.caller_of and notice.call_id else None
        )
        if practice is None or not practice.privacy_notice_url or not number:
            notice.status, notice.last_error = "failed", "no-recipient"
            log.error("notice_undeliverable", notice=notice.id, reason="no-recipient")
            return GIVEN_UP
        values = {"practice_name": practice.name, "url": practice.privacy_notice_url}
        body = self.catalogues[practice.id].text("sms_privacy_notice", values)
        self.text(notice, to=number, from_=practice.number, body=body, now=now)
        log.info("notice_sent", notice=notice.id, kind=notice.kind, message_sid=notice.message_sid)
        return SENT


def send_due(
    db: Database,
    practices: PracticeDirectory,
    catalogues: dict[str, Catalogue],
    client_factory: Callable[[], Any],
    now: datetime,
    limit: int = 20,
    caller_of: CallerOf | None = None,
) -> SendReport:
    """Send the due notices; a failure is retried later with back-off, never dropped silently."""
    with db.session() as session:
        queue = _Notices(practices, catalogues, caller_of)
        return send_batch(session, queue, client_factory, now, limit)
