"""Everything a process needs, built once from the settings.

Start-up fails here, with one line naming the problem, rather than mid-call:
the key ring, practice files, prompt catalogues and flows are all loaded and
checked now.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from callcenter.clock import Clock
from callcenter.crypto import DecryptionError, FieldCipher
from callcenter.db import Database
from callcenter.encrypted import use_cipher
from callcenter.flow.base import FlowError
from callcenter.flow.engine import CallEngine, PracticeRuntime
from callcenter.flow.loader import load_flows
from callcenter.key_usage import UsageRecorder, stored_counts
from callcenter.keyring import KeyRing, KeyRingError, load_keyring
from callcenter.keyring_watch import KeyRingWatcher, keyring_path
from callcenter.models import KeyCheck
from callcenter.policy import Policy, PolicyError, load_policy
from callcenter.practice import Practice, PracticeDirectory, PracticeError
from callcenter.prompts import Catalogue, CatalogueError
from callcenter.settings import Settings


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


def runtime_for(practice: Practice, settings: Settings, policy: Policy) -> PracticeRuntime:
    flows_dir = practice.flows_dir or settings.flows_dir
    catalogue = Catalogue.load(flows_dir, practice.language, practice.prompts)
    flows = load_flows(flows_dir, catalogue, practice.start_flow)
    return PracticeRuntime(practice, catalogue, flows, policy.notice(practice.language))


def check_keyring(db: Database) -> bool:
    """Prove the key ring opens this database; False when the database is unreachable.

    A wrong key ring must stop start-up: serving with it would store rows no
    one can read beside rows it cannot read.
    """
    try:
        with db.session() as session:
            row = session.scalars(select(KeyCheck)).first()
            if row is not None and row.value != KeyCheck.KNOWN:
                raise DecryptionError("key check value differs")
    except DecryptionError:
        raise StartupError(
            "the key ring cannot decrypt this database (wrong CALLCENTER_KEYRING or keyring.json?)"
        ) from None
    except SQLAlchemyError:
        return False
    return True


def build_services(settings: Settings, db: Database | None = None) -> Services:
    try:
        keyring = load_keyring(settings.home, dict(os.environ))
        policy = load_policy(settings.policy_file)
        practices = PracticeDirectory.load(settings.practices_dir)
        runtimes = {p.id: runtime_for(p, settings, policy) for p in practices}
        default_catalogue = Catalogue.load(settings.flows_dir, "fr-FR")
    except (KeyRingError, PolicyError, PracticeError, CatalogueError, FlowError) as exc:
        raise StartupError(str(exc)) from None
    db = db or Database(settings.database_url)
    cipher = FieldCipher(keyring, counts=_stored_counts(db))
    use_cipher(cipher)
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
    )


def _stored_counts(db: Database) -> dict[int, int]:
    """The encryption totals so far; none when the database is not reachable yet."""
    try:
        with db.session() as session:
            return stored_counts(session)
    except SQLAlchemyError:
        return {}
