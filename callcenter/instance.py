"""Creating an instance folder: settings, database and (with ``--demo``) a practice."""

from __future__ import annotations

import os
import secrets
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import make_url, select
from sqlalchemy.orm import Session

from callcenter import schema  # noqa: F401  (declares every table)
from callcenter.audit import trail as audit
from callcenter.config.settings import SETTINGS_FILE, load_settings
from callcenter.security.crypto import FieldCipher
from callcenter.security.encrypted import using_cipher
from callcenter.security.keyring import KeyRing, load_keyring
from callcenter.security.models import KeyCheck
from callcenter.security.pins import hash_pin
from callcenter.storage.db import Database
from callcenter.storage.migrate import upgrade

KEYRING_WARNING = (
    "IMPORTANT: {path} holds the keys of every stored personal value. Losing it loses the "
    "data; anyone holding it and the database can read them. Back it up now, apart from the "
    "database backups (see docs/security/keyring.md)."
)

DEMO_DOCTORS: list[dict[str, Any]] = [
    {
        "id": "dr-martin",
        "name": "Claire Martin",
        "called": "docteure Martin",
        "email": "dr.martin@example.test",
        "certificate": "../certs/dr-martin.pem",
        "on_call_phone": "+33612000011",
        "digest": {"at": ["12:30", "18:30"], "when_empty": "send"},
    },
    {
        "id": "dr-bernard",
        "name": "Paul Bernard",
        "called": "docteur Bernard",
        "email": "dr.bernard@example.test",
        "certificate": "../certs/dr-bernard.pem",
        "on_call_phone": "+33612000012",
        "digest": {"at": ["18:30"], "when_empty": "skip"},
    },
]

DEMO_PRACTICE = {
    "id": "demo",
    "name": "cabinet médical des Tilleuls",
    "number": "+33184880000",
    "language": "fr-FR",
    "voice": "Polly.Lea-Neural",
    "timezone": "Europe/Paris",
    # Read as written to callers who ask where the practice is.
    "address": "au 12 rue des Tilleuls à Paris, au rez-de-chaussée",
    "holidays": "FR",
    "hours": {
        "monday": ["08:30-12:30", "14:00-19:00"],
        "tuesday": ["08:30-12:30", "14:00-19:00"],
        "wednesday": ["08:30-12:30"],
        "thursday": ["08:30-12:30", "14:00-19:00"],
        "friday": ["08:30-12:30", "14:00-18:00"],
        "saturday": ["09:00-12:00"],
    },
    "doctors": DEMO_DOCTORS,
    # Digests are signed with this (made by `init --demo`, with the doctors' demo keys).
    "signing": {
        "certificate": "../certs/practice-signing.pem",
        "key": "../certs/practice-signing.key",
    },
    # Nights and weekends; office hours go to the secretaries.
    "on_call": [
        {
            "doctor": "dr-martin",
            "days": ["monday", "tuesday", "wednesday", "thursday"],
            "from": "19:00",
            "to": "08:30",
        },
        {"doctor": "dr-bernard", "days": ["friday"], "from": "18:00", "to": "24:00"},
        {"doctor": "dr-bernard", "days": ["saturday", "sunday"], "from": "00:00", "to": "24:00"},
        {"doctor": "dr-martin", "days": ["monday"], "from": "00:00", "to": "08:30"},
    ],
    "secretaries": [
        {
            "id": "sec-lea",
            "name": "Léa",
            "phone": "+33612000001",
            # Her pin_hash (DEMO_PIN) is added by `init --demo`: it is peppered with
            # the instance's own key ring, so no constant could hold it.
        },
    ],
    "instructions": "Urgences : le médecin de garde est prévenu par SMS. Rappeler les "
    "messages avant midi.",
    "transfer": {
        "mode": "simultaneous",
        "ring_seconds": 20,
        "queue": {"size": 10, "minutes_per_caller": 3},
    },
}

# -- appointments: weekly consultations, kinds, horizon, SMS ------------------------
DEMO_APPOINTMENTS = {
    "horizon_days": 30,
    "min_notice_minutes": 120,
    "kinds": {
        "consultation": {"minutes": 20, "label": "Consultation"},
        "premiere-consultation": {
            "minutes": 40,
            "new_patients": True,
            "label": "Première consultation",
        },
    },
    "sms_confirmation": True,
    "sms_reminder": True,
    "reminder_time": "18:00",
    "doctors": {
        "dr-martin": {
            "slot_minutes": 20,
            "week": {
                "monday": ["09:00-12:00", "14:00-18:00"],
                "tuesday": ["09:00-12:00", "14:00-18:00"],
                "thursday": ["09:00-12:00", "14:00-18:00"],
                "friday": ["09:00-12:00"],
            },
            "absences": [{"from": date(2026, 12, 21), "to": date(2027, 1, 3)}],
        },
        "dr-bernard": {
            "slot_minutes": 20,
            "week": {
                "tuesday": ["08:40-12:20"],
                "wednesday": ["08:40-12:20"],
                "friday": ["14:00-18:00"],
                "saturday": ["09:00-12:00"],
            },
        },
    },
}
DEMO_PRACTICE["appointments"] = DEMO_APPOINTMENTS
DEMO_PIN = "246810"  # the demo secretary's PIN for the secretaries' line


def demo_practice(keyring: KeyRing) -> dict[str, Any]:
    """The demo practice with its secretary's PIN hashed under ``keyring``."""
    listed: list[dict[str, Any]] = DEMO_PRACTICE["secretaries"]  # type: ignore[assignment]
    secretaries = [{**s, "pin_hash": hash_pin(DEMO_PIN, keyring)} for s in listed]
    return {**DEMO_PRACTICE, "secretaries": secretaries}


def _write_private(path: Path, text: str) -> None:
    """Write a file readable by its owner only (settings and practice files hold secrets)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


DEMO_ACCOUNTS = (
    ("secretaire", "secretary", None),
    ("dr-martin", "doctor", "dr-martin"),
    ("admin", "admin", None),
)


def init_instance(home: Path, demo: bool = False) -> list[str]:
    """Create what is missing in ``home``; never overwrite what exists.  Returns notes."""
    notes: list[str] = []
    # Owner only: the folder holds the settings, the practice files (PIN hashes),
    # the key ring and the SQLite database.  An existing folder keeps its mode;
    # start-up warns when it is open to others.
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    (home / "practices").mkdir(mode=0o700, exist_ok=True)
    settings_path = home / SETTINGS_FILE
    if not settings_path.exists():
        initial: dict[str, object] = {
            "twilio_account_sid": "AC" + secrets.token_hex(16),
            "twilio_auth_token": secrets.token_hex(16),
            "log_format": "console",
        }
        if demo:  # made-up credentials: its SMS and deletions stay on this machine
            initial["twilio_stand_in"] = True
        header = (
            "# callcenter instance settings.  Environment variables override them:\n"
            "# DATABASE_URL, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, PUBLIC_BASE_URL.\n"
            "# The generated Twilio credentials are for local calls (callcenter call);\n"
            "# put your account's SID and auth token here, or in the environment.\n"
            "# twilio_stand_in: true (the demo) answers REST calls (SMS, deletions) in the\n"
            "# process and records them without content: remove it for a real account.\n"
        )
        _write_private(settings_path, header + yaml.safe_dump(initial, sort_keys=False))
        notes.append(f"created {settings_path}")
    keyring_path = home / "keyring.json"
    env_ring = os.environ.get("CALLCENTER_KEYRING") or os.environ.get("CALLCENTER_KEYRING_FILE")
    if not keyring_path.exists() and not env_ring:
        KeyRing.generate().save(keyring_path)
        notes.append(f"created {keyring_path}")
        notes.append(KEYRING_WARNING.format(path=keyring_path))
    keyring = load_keyring(home, dict(os.environ))
    if demo:
        practice_path = home / "practices" / "demo.yaml"
        if not practice_path.exists():
            _write_private(
                practice_path,
                "# The demo practice: edit it, or add one file per practice beside it.\n"
                + yaml.safe_dump(demo_practice(keyring), sort_keys=False, allow_unicode=True),
            )
            notes.append(f"created {practice_path}")
        from callcenter.security.demo_certs import write_demo_certificates

        doctors = [(str(d["id"]), str(d["email"])) for d in DEMO_DOCTORS]
        # Valid from a month back, so `callcenter call --at` a recent past moment works too.
        write_demo_certificates(home / "certs", str(DEMO_PRACTICE["name"]),
                                "secretariat@example.test", doctors,
                                now=datetime.now(UTC) - timedelta(days=30))  # fmt: skip
        notes.append(f"demo certificates and the doctors' demo keys in {home / 'certs'}")
    settings = load_settings({**os.environ, "CALLCENTER_HOME": str(home)})
    # No statement timeout: a migration may rewrite a large table.
    _create_private_sqlite(settings.database_url)
    database = Database(settings.database_url, statement_timeout_ms=None)
    try:
        notes += upgrade(database.engine)  # a database made before migrations is stamped
        with using_cipher(FieldCipher(keyring)), database.session() as session:
            if session.scalars(select(KeyCheck)).first() is None:
                session.add(KeyCheck(practice_id="-", value=KeyCheck.KNOWN))
                audit.append(
                    session, actor="cli:init", action="instance.init", now=datetime.now(UTC)
                )
            accounts = _demo_accounts(session) if demo else []
    finally:
        database.dispose()
    notes.append("database ready")
    return notes + accounts  # the passwords last, just above what `make run` prints next


def _create_private_sqlite(url: str) -> None:
    """Create a missing SQLite database file 0600 before the engine does (it would use 0644).

    SQLite gives its journal and WAL files the database file's mode.
    """
    parsed = make_url(url)
    if (
        parsed.get_backend_name() != "sqlite"
        or not parsed.database
        or parsed.database == ":memory:"
    ):
        return
    path = Path(parsed.database)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _demo_accounts(session: Session) -> list[str]:
    """Console accounts for the demo practice, when there are none yet (passwords shown once)."""
    from callcenter.accounts import accounts

    if accounts.list_users(session):
        return []
    notes = [
        "console accounts for the demo (http://127.0.0.1:5000/console/), passwords shown once:"
    ]
    now = datetime.now(UTC)
    for username, role, doctor in DEMO_ACCOUNTS:
        practices = [] if role == "admin" else [str(DEMO_PRACTICE["id"])]
        _, password = accounts.create_user(
            session, username, role, practices, now=now, doctor_id=doctor, actor="cli:init"
        )
        notes.append(f"  {username} ({role}): {password}")
    return notes
