"""Scheduled work, each job a function of the composition root and ``now``.

Each job opens its own sessions, so the worker, the CLI and the tests run
exactly the same code.  Two workers may run at once: the purge serialises
itself (advisory lock on PostgreSQL), each Twilio deletion and each SMS is
claimed with a conditional update before it is sent.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from callcenter.agenda import sync as agenda
from callcenter.agenda.dav import Dav, DavError
from callcenter.appointments import calendar_changes
from callcenter.calls import activity
from callcenter.core.logs import get_logger
from callcenter.core.twilio_rest import (
    FINAL_CALL_STATUSES,
    close_client,
    fetch_call,
    fetch_recording,
)
from callcenter.digests import compose as digests
from callcenter.messages import realtime, transcribers
from callcenter.notify import deletions, outbox
from callcenter.notify.notices import SendReport
from callcenter.retention import purge as retention
from callcenter.security.rotation import encrypted_models, reencrypt_batch
from callcenter.services import Services
from callcenter.waitlist import offers

REENCRYPT_BATCH = 500  # rows per table and run: rotation finishes in the background

log = get_logger("callcenter.jobs")


def purge(
    root: Services, now: datetime, *, dry_run: bool = False, actor: str = "system:purge"
) -> retention.PurgeReport:
    """Delete what the policy says is past its time; queue what Twilio must delete."""
    with root.db.session() as session:
        return retention.purge(
            session, root.policy, now, dry_run=dry_run, actor=actor, signer=root.audit_signer()
        )


def remote_deletions(root: Services, now: datetime) -> deletions.DeletionReport:
    """Send the due deletions to Twilio (recordings, transcriptions, call logs)."""
    return root.request_deletions(now)


def checkpoint(root: Services, now: datetime) -> None:
    """Sign the audit chain's head into the checkpoint file, unless it is signed already."""
    root.checkpoint(now, if_moved=True)


def reencrypt(root: Services, now: datetime, batch: int = REENCRYPT_BATCH) -> int:
    """One batch per table towards the active key; how many rows moved."""
    moved = 0
    for model in encrypted_models():
        with root.db.session() as session:
            moved += reencrypt_batch(session, root.cipher, model, root.blind_index_bits, batch)
    return moved


def notices(root: Services, now: datetime) -> SendReport:
    """The due SMS: on-call notices and appointment messages."""
    return root.send_notices(now)


def reminders(root: Services, now: datetime) -> SendReport:
    """Queue tomorrow's appointment reminders once their time has come, then send."""
    from callcenter.appointments import sms as appointment_sms

    with root.db.session() as session:
        appointment_sms.queue_reminders(session, root.practices, now)
    return root.send_notices(now)


def waiting_list(root: Services, now: datetime) -> offers.MatchReport:
    """Every minute: offer freed slots to the waiting list, then send the offers at once.

    One session per practice: each practice's offers commit on their own.
    """
    total = offers.MatchReport()
    for practice in root.practices:
        with root.db.session() as session:
            done = offers.match(session, practice, now)
        total.offered += done.offered
        total.expired += done.expired
        total.ended += done.ended
    if total.offered:
        root.send_notices(now)
    return total


@dataclass
class CalendarRun:
    synced: int
    failed: int
    changed: int
    written: int


def calendars(root: Services, now: datetime) -> CalendarRun:
    """Every minute: read what changed in the doctors' calendars, then send the due writes.

    A calendar that does not answer is skipped (its busy time stays as last
    read) and tried again at the next run; the others are not held up.
    """
    with root.db.session() as session:
        agenda.link_calendars(session, root.practices)
    synced = failed = changed = 0
    for practice, doctor_id, link in agenda.linked(root.practices):
        try:
            with root.db.session() as session, Dav(link) as dav:
                changes = agenda.sync_calendar(session, practice, doctor_id, link, dav, now)
                changed += calendar_changes.apply(session, practice, changes, now)
            synced += 1
        except (DavError, LookupError) as exc:
            failed += 1
            code = exc.code if isinstance(exc, DavError) else "password"
            log.warning("calendar_sync_failed", practice=practice.id, doctor=doctor_id, error=code)
    written = root.write_calendars(now).sent
    return CalendarRun(synced=synced, failed=failed, changed=changed, written=written)


def lost_calls(root: Services, now: datetime) -> int:
    """Close the calls silent for longer than a call can last; how many were closed.

    Twilio is asked first (a stand-in in a demo): a call it says is over gets
    its real final status, one it says is still going is left alone, and any
    other is ``lost`` — its status callback never came and never will.
    """
    max_age = timedelta(minutes=root.settings.call_max_minutes)
    with root.db.session() as session:
        stale = activity.stale_calls(session, now, max_age)
    if not stale:
        return 0
    closed, client = 0, root.twilio()
    try:
        for call in stale:
            remote = fetch_call(client, call.call_sid)
            if remote is not None and remote.status not in FINAL_CALL_STATUSES:
                continue  # still going at Twilio: a long call, not a ghost
            status, duration = (remote.status, remote.duration) if remote else (activity.LOST, None)
            with root.db.session() as session:
                closed += activity.close(session, call.id, status, call.last_activity, duration)
    finally:
        close_client(client)
    return closed


@dataclass
class MailRun:
    urgent: int
    built: dict[str, int]
    sent: outbox.SendReport


def mail(
    root: Services, now: datetime, *, doctor: str | None = None, force: bool = False
) -> MailRun:
    """Build the due digests and urgent e-mails, then send what the outbox holds.

    Digests are due at each doctor's times in the practice's time zone; running
    every minute also catches up after a stop.
    """
    settings, catalogues = root.settings, root.catalogues()
    sender = settings.smtp.sender if settings.smtp else f"callcenter@{socket.getfqdn()}"
    practices = list(root.practices)
    with root.db.session() as session:
        urgent = digests.urgent_mails(session, {p.id: p for p in practices}, catalogues, sender,
                                      now)  # fmt: skip
        built = digests.due_digests(session, practices, catalogues, sender, now,
                                    only_doctor=doctor, force=force)  # fmt: skip

    def recipient(practice_id: str, doctor_id: str) -> str | None:
        practice = root.practices.by_id(practice_id)
        found = [d for d in practice.doctors if d.id == doctor_id] if practice else []
        return found[0].email if found else None

    sent = outbox.send_due(root.db, settings.smtp, recipient, now)
    return MailRun(urgent=urgent, built=built, sent=sent)


def realtime_sweep(root: Services, now: datetime) -> int:
    """The ``realtime`` engine: finish transcriptions whose end never came."""
    return realtime.sweep(root.db, root.messages.lookup, now)


def transcribe_local(
    root: Services, now: datetime, backend: transcribers.Transcriber | None = None
) -> transcribers.Report:
    """The ``local`` engine: transcribe waiting recordings here, then delete them at Twilio.

    The worker loads ``backend`` once (a model takes seconds to load).
    """
    policy, settings = root.policy, root.settings
    backend = backend or transcribers.load_transcriber(policy.local_backend, policy.local_model)
    report = transcribers.transcribe_pending(
        root.db,
        backend,
        lambda sid: fetch_recording(settings.twilio_account_sid, settings.twilio_auth_token, sid,
                                    api_base=settings.twilio_api_base,
                                    stand_in=settings.twilio_stand_in),
        root.messages.lookup,
        now,
    )  # fmt: skip
    if report.transcribed or report.failed:
        root.request_deletions(now)  # the audio goes at once, not at the next run
    return report


def local_transcriptions(
    root: Services, now: datetime, backend: transcribers.Transcriber | None = None
) -> transcribers.Report:
    """The worker's ``local`` job: transcribe, then tell the doctor on call of an urgent one now."""
    report = transcribe_local(root, now, backend)
    root.send_notices(now)
    return report
