"""Scheduled work: purge, deletions at Twilio, audit checkpoints.

Each job takes ``now`` and opens its own sessions, so the worker, the CLI
and the tests run exactly the same code.  Two workers may run at once: the
purge serialises itself (advisory lock on PostgreSQL) and each Twilio
deletion is claimed with a conditional update before it is sent.
"""

from __future__ import annotations

from datetime import datetime

from callcenter import audit, retention
from callcenter.db import Database
from callcenter.keyring import KeyRing
from callcenter.policy import Policy
from callcenter.settings import Settings
from callcenter.twilio_rest import close_client, make_client

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
) -> retention.DeletionReport:
    """Send the due deletions to Twilio (recordings, transcriptions, call logs)."""
    client = make_client(
        settings.twilio_account_sid, settings.twilio_auth_token, api_base=settings.twilio_api_base
    )
    try:
        with db.session() as session:
            return retention.process_remote_deletions(
                session, client, now,
                retry_minutes=policy.retention.remote_deletion_retry_minutes,
            )  # fmt: skip
    finally:
        close_client(client)


def checkpoint(db: Database, keyring: KeyRing, settings: Settings, now: datetime) -> None:
    """Sign the audit chain's head into the checkpoint file, outside the database."""
    with db.session() as session:
        audit.write_checkpoint(session, settings.home / CHECKPOINT_FILE, keyring.signing_key(), now)
