"""A year of a large tele-secretariat in the database: calls, their steps, patients.

``seed(url, home)`` fills the demo instance's database with PATIENTS patients
and CALLS ended calls (STEPS steps each) spread over the year before the
bench's frozen clock.  Values are what the app stores: patients' phone, name
and date of birth, and the callers' numbers, encrypted under the instance's
key ring with their blind indexes (lookups and counts by caller meet real
buckets); a step's TwiML, never read back for an ended call, is random bytes
of a stored answer's size.  Rows, keyed by database column names, go straight
to the driver in batches: executemany on SQLite, COPY on PostgreSQL (a new
NOT NULL column in these tables needs a value here).
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


def _sqlite_value(value: Any) -> Any:
    """As SQLAlchemy stores it on SQLite: naive UTC text, JSON text, 0/1."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(" ", "microseconds")  # all UTC already
    if isinstance(value, dict):
        return json.dumps(value)
    return int(value) if isinstance(value, bool) else value


def _copy_value(value: Any) -> str:
    """COPY's text format (our texts hold no tab, newline or backslash)."""
    if value is None:
        return "\\N"
    if isinstance(value, bytes):
        return "\\\\x" + value.hex()
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)  # a datetime's str() is what COPY reads


def _insert(engine: Any, table: str, rows: Iterator[dict]) -> None:
    """Batches straight to the driver: COPY on PostgreSQL, executemany on SQLite."""
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        cur = driver.cursor()
        if engine.dialect.name == "sqlite":
            cur.execute("PRAGMA synchronous=OFF")
        for batch in _batches(rows):
            names = ", ".join(batch[0])
            if engine.dialect.name == "postgresql":
                lines = ("\t".join(_copy_value(v) for v in row.values()) for row in batch)
                with cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    copy.write("\n".join(lines) + "\n")
            else:
                marks = ", ".join("?" * len(batch[0]))
                cur.executemany(
                    f"INSERT INTO {table} ({names}) VALUES ({marks})",
                    [tuple(_sqlite_value(v) for v in row.values()) for row in batch],
                )
            driver.commit()
        cur.close()
    finally:
        raw.close()


def seed(url: str, home: Path) -> None:
    """Fill the (created, empty) database at ``url`` of the instance at ``home``."""
    started = time.time()
    cipher = FieldCipher(load_keyring(home, os.environ))
    rng = random.Random(20261124)
    numbers = _numbers(rng)
    engine = create_engine(url)
    work = [
        (Patient.__tablename__, _patients(cipher, numbers, rng)),
        (Call.__tablename__, _calls(cipher, numbers, rng)),
        (CallStep.__tablename__, _steps(rng)),
    ]
    for table, rows in work:
        _insert(engine, table, rows)
        print(f"  seeded {table} ({time.time() - started:.0f} s)", file=sys.stderr)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()
