"""What field encryption costs: per webhook, and re-encryption rows per second.

Run: ``make bench-crypto`` (or ``.venv/bin/python bench/bench_crypto.py``).
Uses SQLite in a temporary folder, and PostgreSQL when it answers on
127.0.0.1:5432 (a schema of its own, dropped at the end).  Prints a Markdown
table for docs/development/benchmarks.md.
"""

from __future__ import annotations

import os
import platform
import secrets
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml
from sqlalchemy import create_engine, text

from callcenter.calls.models import Call, CallStep
from callcenter.config.settings import DEFAULT_FLOWS_DIR, Settings
from callcenter.instance import DEMO_PRACTICE
from callcenter.phone.emulator import FlaskTransport, TwilioEmulator
from callcenter.security.crypto import FieldCipher
from callcenter.security.encrypted import using_cipher
from callcenter.security.keyring import KeyRing
from callcenter.security.rotation import reencrypt_batch
from callcenter.storage.db import Database
from callcenter.web.app import create_app

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ROWS = 5000
TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="/twilio/step?seq=1" '
    'input="dtmf speech" language="fr-FR" numDigits="1"><Say language="fr-FR" '
    'voice="Polly.Lea-Neural">' + "Pour prendre rendez-vous, tapez 1. " * 8 + "</Say></Gather>"
    "</Response>"
)


def pg_available() -> bool:
    try:
        import psycopg

        psycopg.connect("host=127.0.0.1 user=postgres dbname=test", connect_timeout=2).close()
    except Exception:
        return False
    return True


def per_webhook_cost(n: int = 20_000) -> tuple[float, float]:
    """Microseconds to encrypt what one step stores, and to decrypt it back."""
    cipher = FieldCipher(KeyRing.generate())
    place = {"practice": "demo", "table": "call_steps", "column": "twiml", "row": "r" * 32}
    start = time.perf_counter()
    blobs = [cipher.encrypt(TWIML, **place) for _ in range(n)]
    enc = (time.perf_counter() - start) / n * 1e6
    start = time.perf_counter()
    for blob in blobs:
        cipher.decrypt(blob, **place)
    dec = (time.perf_counter() - start) / n * 1e6
    return enc, dec


def webhook_latency(url: str, home: Path, calls: int = 200) -> float:
    """Median milliseconds per webhook over whole journeys (greeting, menu, transfer)."""
    settings = Settings(
        home=home,
        database_url=url,
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token="bench",
        public_base_url="https://bench.test",
        flows_dir=DEFAULT_FLOWS_DIR,
        now=datetime.fromisoformat("2026-11-24T10:00:00+01:00"),
    )
    import logging

    app = create_app(settings)
    logging.getLogger().setLevel(logging.WARNING)
    app.extensions["callcenter"].db.create_all()
    twilio = TwilioEmulator(FlaskTransport(app.test_client()), "bench", "https://bench.test")
    timings: list[float] = []
    for i in range(calls):
        start = time.perf_counter()
        call = twilio.place_call(f"+336{i:08d}", DEMO_PRACTICE["number"]).press("3").answer()
        timings.append((time.perf_counter() - start) * 1000 / len(call.requests))
    app.extensions["callcenter"].db.dispose()
    return statistics.median(timings)


def reencrypt_rate(url: str, home: Path) -> float:
    """Rows per second moved to a new key by ``keys reencrypt`` batches."""
    ring = KeyRing.load(home / "keyring.json")
    cipher = FieldCipher(ring)
    db = Database(url)
    db.create_all()
    now = datetime.now(UTC)
    with using_cipher(cipher):
        with db.session() as session:
            for i in range(ROWS):
                call = Call(
                    practice_id="demo",
                    call_sid=f"CA{i:032x}",
                    caller=f"+336{i:08d}",
                    started_at=now,
                    flow="main",
                    node="menu",
                    seq=1,
                    state={},
                )
                session.add(call)
                session.add(
                    CallStep(
                        practice_id="demo",
                        call=call,
                        seq=0,
                        node="main.menu",
                        twiml=TWIML,
                        created_at=now,
                    )
                )
        ring.rotate()
        start = time.perf_counter()
        moved = 0
        for model in (Call, CallStep):
            while True:
                with db.session() as session:
                    count = reencrypt_batch(session, cipher, model, lambda _p: 12, 500)
                moved += count
                if count < 500:
                    break
        elapsed = time.perf_counter() - start
    db.dispose()
    return moved / elapsed


def main() -> None:
    enc, dec = per_webhook_cost()
    rows = [("encrypt one step's TwiML (≈600 B)", f"{enc:.1f} µs"), ("decrypt it", f"{dec:.1f} µs")]
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        (home / "practices").mkdir()
        (home / "practices" / "demo.yaml").write_text(yaml.safe_dump(DEMO_PRACTICE))
        KeyRing.generate().save(home / "keyring.json")
        backends = [("SQLite", f"sqlite:///{home / 'bench.db'}")]
        schema = "bench_" + secrets.token_hex(4)
        if pg_available():
            admin = create_engine(PG)
            with admin.begin() as conn:
                conn.execute(text(f"CREATE SCHEMA {schema}"))
            backends.append(("PostgreSQL", f"{PG}?options=-csearch_path%3D{schema}"))
        try:
            for name, url in backends:
                rows.append(
                    (
                        f"webhook, whole journey, median ({name})",
                        f"{webhook_latency(url, home):.2f} ms",
                    )
                )
                rows.append(
                    (
                        f"re-encryption ({name}, {2 * ROWS}+ rows)",
                        f"{reencrypt_rate(url, home):,.0f} rows/s",
                    )
                )
        finally:
            if len(backends) > 1:
                with admin.begin() as conn:
                    conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                admin.dispose()
    print(
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    print("| measure | result |\n|---|---|")
    for label, value in rows:
        print(f"| {label} | {value} |")


if __name__ == "__main__":
    main()
