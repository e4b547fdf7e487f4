"""Scheduled work: purge, deletions at Twilio, audit checkpoints.

Each job takes ``now`` and opens its own sessions, so the worker, the CLI
and the tests run exactly the same code.  Two workers may run at once: the
purge serialises itself (advisory lock on PostgreSQL) and each Twilio
deletion is claimed with a conditional update before it is sent.
"""

from __future__ import annotations

from datetime import datetime

from callcenter.audit import trail as audit
from callcenter.config.policy import Policy
from callcenter.config.settings import Settings
from callcenter.core.twilio_rest import close_client, fetch_recording, make_client
from callcenter.messages import transcribers
from callcenter.messages.desk import PracticeLookup
from callcenter.notify import deletions
from callcenter.retention import purge as retention
from callcenter.security.keyring import KeyRing
from callcenter.storage.db import Database

CHECKPOINT_FILE = "audit-checkpoints.jsonl"


def purge(
    db: Database,
    policy: Policy,
    now: datetime,
    *,
    dry_run: bool = False,
    actor: str = "system:purge",
) -> retention.PurgeReport:
    """Delete what the policy says is past its time; queue what Twilio must delete."""
    with db.session() as session:
        return retention.purge(session, policy, now, dry_run=dry_run, actor=actor)


def remote_deletions(
    db: Database, settings: Settings, policy: Policy, now: datetime
) -> deletions.DeletionReport:
    """Send the due deletions to Twilio (recordings, transcriptions, call logs)."""
    client = make_client(
        settings.twilio_account_sid, settings.twilio_auth_token, api_base=settings.twilio_api_base
    )
    try:
        with db.session() as session:
            return deletions.process_remote_deletions(
                session, client, now,
                retry_minutes=policy.retention.remote_deletion_retry_minutes,
            )  # fmt: skip
    finally:
        close_client(client)


def transcribe_local(
    db: Database,
    settings: Settings,
    policy: Policy,
    lookup: PracticeLookup,
    now: datetime,
    backend: transcribers.Transcriber | None = None,
) -> transcribers.Report:
    """The ``local`` engine: transcribe waiting recordings here, then delete them at Twilio."""
    backend = backend or transcribers.load_transcriber(policy.local_backend, policy.local_model)
    report = transcribers.transcribe_pending(
        db,
        backend,
        lambda sid: fetch_recording(settings.twilio_account_sid, settings.twilio_auth_token, sid,
                                    api_base=settings.twilio_api_base),
        lookup,
        now,
    )  # fmt: skip
    if report.transcribed or report.failed:
        remote_deletions(db, settings, policy, now)  # the audio goes at once, not at the next run
    return report


def checkpoint(db: Database, keyring: KeyRing, settings: Settings, now: datetime) -> None:
    """Sign the audit chain's head into the checkpoint file, outside the database."""
    with db.session() as session:
        audit.write_checkpoint(session, settings.home / CHECKPOINT_FILE, keyring.signing_key(), now)
