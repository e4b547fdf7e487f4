"""A year of a large tele-secretariat in the database: calls, their steps, patients.

``seed(url, home)`` fills the demo instance's database with PATIENTS patients
and CALLS ended calls (STEPS steps each) spread over the year before the
bench's frozen clock.  Rows are keyed by
database column names.  Values are what the app stores: patients' phone, name
and date of birth, and the callers' numbers, encrypted under the instance's
key ring with their blind indexes (lookups and counts by caller meet real
buckets); a step's TwiML, never read back for an ended call, is random bytes
of a stored answer's size.  Rows go in with Core inserts (SQLite) or COPY
(PostgreSQL), in batches: about two minutes for a million calls.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine

from callcenter.calls.models import Call, CallStep
from callcenter.patients.models import Patient
from callcenter.security.crypto import FieldCipher
from callcenter.security.keyring import load_keyring

CALLS = int(os.environ.get("BENCH_STORED_CALLS", "1000000"))
PATIENTS = CALLS // 10
STEPS = 3  # greeting, the caller's choice, the end: a short call
PRACTICE = "demo"
BITS = 12  # the demo practice's blind index bits
BATCH = 20_000
END = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)  # before the bench's frozen clock
NODES = ["main.menu_open", "message.record", "appointment.slots", "secretary.transfer"]
OUTCOMES = ["message", "booked", "transferred", "abandoned", "urgent"]


def _numbers(rng: random.Random) -> list[str]:
    taken: set[str] = set()
    while len(taken) < PATIENTS:
        taken.add(f"+3368{rng.randrange(10**7):07d}")  # never a bench caller (067)
    return sorted(taken)


def _patients(cipher: FieldCipher, numbers: list[str], rng: random.Random) -> Iterator[dict]:
    for i, number in enumerate(numbers):
        row = f"{i:032x}"
        place = {"practice": PRACTICE, "table": "patients", "row": row}
        seen = END - timedelta(days=rng.randrange(365))
        yield {
            "id": row,
            "practice_id": PRACTICE,
            "phone_index": cipher.phone_index(number, practice=PRACTICE, bits=BITS),
            "phone": cipher.encrypt(number, column="phone", **place),
            "name": cipher.encrypt(f"Patient {i}", column="name", **place),
            "birth_date": cipher.encrypt(
                f"{1940 + i % 70}-{1 + i % 12:02d}-{1 + i % 28:02d}", column="birth_date", **place
            ),
            "created_at": seen - timedelta(days=rng.randrange(365)),
            "last_seen_at": seen,
        }


def _calls(cipher: FieldCipher, numbers: list[str], rng: random.Random) -> Iterator[dict]:
    indexes = {n: cipher.phone_index(n, practice=PRACTICE, bits=BITS) for n in numbers}
    patient_of = {n: f"{i:032x}" for i, n in enumerate(numbers)}
    for i in range(CALLS):
        row = f"c{i:031x}"
        caller = numbers[rng.randrange(len(numbers))]
        started = END - timedelta(seconds=rng.randrange(365 * 86400))
        yield {
            "id": row,
            "practice_id": PRACTICE,
            "call_sid": f"CA{i:032x}",
            "caller_index": indexes[caller],
            "caller": cipher.encrypt(
                caller, practice=PRACTICE, table="calls", column="caller", row=row
            ),
            "patient_id": patient_of[caller] if i % 3 else None,
            "status": "completed",
            "started_at": started,
            "ended_at": started + timedelta(seconds=90),
            "duration": 90,
            "flow": "main",
            "node": NODES[i % len(NODES)],
            "seq": STEPS,
            "state": {},
            "outcome": OUTCOMES[i % len(OUTCOMES)],
            "urgent": i % 50 == 0,
        }


def _steps(rng: random.Random) -> Iterator[dict]:
    blobs = [rng.randbytes(rng.randrange(400, 900)) for _ in range(512)]
    for i in range(CALLS):
        started = END - timedelta(seconds=rng.randrange(365 * 86400))
        for seq in range(STEPS):
            yield {
                "id": f"s{i:023x}{seq:08x}",
                "practice_id": PRACTICE,
                "call_id": f"c{i:031x}",
                "seq": seq,
                "node": NODES[(i + seq) % len(NODES)],
                "twiml": blobs[(i + seq) % len(blobs)],
                "created_at": started + timedelta(seconds=20 * seq),
            }


def _batches(rows: Iterator[dict]) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _copy(raw: Any, table: Any, rows: Iterator[dict]) -> None:
    """PostgreSQL: COPY, one batch at a time."""
    with raw.cursor() as cur:
        for batch in _batches(rows):
            keys = list(batch[0])
            with cur.copy(f"COPY {table.name} ({', '.join(keys)}) FROM STDIN") as copy:
                for row in batch:
                    copy.write_row([json.dumps(row[k]) if k == "state" else row[k] for k in keys])
    raw.commit()


def seed(url: str, home: Path) -> None:
    """Fill the (created, empty) database at ``url`` of the instance at ``home``."""
    started = time.time()
    cipher = FieldCipher(load_keyring(home, os.environ))
    rng = random.Random(20261124)
    numbers = _numbers(rng)
    engine = create_engine(url)
    work = [
        (Patient, _patients(cipher, numbers, rng)),
        (Call, _calls(cipher, numbers, rng)),
        (CallStep, _steps(rng)),
    ]
    for model, rows in work:
        table = model.__table__
        if engine.dialect.name == "postgresql":
            raw = engine.raw_connection()
            try:
                _copy(raw.driver_connection, table, rows)
            finally:
                raw.close()
        else:
            for batch in _batches(rows):
                with engine.begin() as conn:
                    conn.execute(table.insert(), batch)
        print(f"  seeded {table.name} ({time.time() - started:.0f} s)", file=sys.stderr)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()
