"""Webhooks under load: the real server against a bare Flask app, same gunicorn workers.

Run: ``make bench-webhooks`` (or ``.venv/bin/python bench/bench_webhooks.py``); about
5 minutes, plus 3 to 6 the first time, while a million calls are seeded (then cached).
The load generator is ``wrk`` (Debian: ``apt-get install -y wrk``); without it the
bench stops and says so.

1. A demo instance (SQLite, then PostgreSQL when it answers on 127.0.0.1:5432, in a
   schema of its own); the journeys of ``bench/recorded.py`` are recorded on it.
2. Requests are written in advance, each signed as Twilio signs it, one file per
   connection: whole journeys, each a new caller's call (new CallSid, number,
   RecordingSid), or the incoming call alone (``/twilio/voice`` of a new call).
3. ``gunicorn -w WORKERS`` (sync) serves the app; after a warm-up with requests of
   their own (gunicorn binds its port before its workers have built the app),
   ``wrk`` replays the requests over CONNECTIONS connections, one wrk thread each
   so that a journey's requests stay in order, for SECONDS.
4. The same journeys go to ``bench/bare_app.py`` (static TwiML, no signature check,
   no database) under the same gunicorn settings: the ceiling of the stack, and
   the proof that the client is not the bottleneck; and, on each database, to
   ``bench/floor_app.py``: the least any webhook of ours must do (one HMAC, one
   keyed read, one write and commit, one AES-GCM), the floor of the design.
5. The journeys again on a database holding a year of a large tele-secretariat
   (``bench/seed.py``: a million calls with their steps, 100,000 patients), kept
   under BENCH_CACHE between runs (rebuilt when the schema changes).

It prints, as a Markdown table, requests per second, p50 / p95 / p99 latency (ms),
the resident memory of the largest web worker and the share of the bare app's rate.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import create_engine, text
from sqlalchemy.schema import CreateIndex, CreateTable
from twilio.request_validator import RequestValidator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import seed
from bench.recorded import (
    PG,
    Request,
    fresh,
    instance,
    postgres_answers,
    record_journeys,
)
from callcenter.config.settings import load_settings
from callcenter.schema import Base

WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "15"))
WARM_UP = int(os.environ.get("BENCH_WARM_UP", "3"))
# Requests written per run: enough for this rate; past it a connection starts over.
MAX_RATE = int(os.environ.get("BENCH_MAX_RATE", "2500"))
CACHE = Path(os.environ.get("BENCH_CACHE", Path(tempfile.gettempdir()) / "callcenter-bench"))
BASE = "https://bench.test"  # PUBLIC_BASE_URL: what Twilio signs, whatever the port
ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).resolve().parent / "webhooks.lua"

Stream = Callable[[], list[Request]]  # the next requests of one connection


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_requests(folder: Path, token: str, next_requests: Stream, seconds: float) -> Path:
    """One file per connection, each request signed: path, signature, body."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    validator = RequestValidator(token)
    per_connection = int(MAX_RATE * seconds / CONNECTIONS) + 1
    for n in range(CONNECTIONS):
        lines: list[str] = []
        while len(lines) < per_connection:
            for path, form in next_requests():
                signature = validator.compute_signature(BASE + path, form)
                lines.append(f"{path}\t{signature}\t{urlencode(form)}\n")
        (folder / f"requests-{n}.txt").write_text("".join(lines))
    return folder


def journeys_of(recorded: list[list[Request]]) -> Stream:
    turn = iter(range(10**9))
    return lambda: fresh(recorded[next(turn) % len(recorded)])


def incoming_of(recorded: list[list[Request]]) -> Stream:
    """The first request of a journey (``/twilio/voice``) as a new caller's call."""
    return lambda: fresh(recorded[0])[:1]


def wrk(port: int, folder: Path, seconds: float) -> dict[str, float]:
    command = ["wrk", "-t", str(CONNECTIONS), "-c", str(CONNECTIONS), "-d", f"{round(seconds)}s",
               "--timeout", "10s", "-s", str(LUA), f"http://127.0.0.1:{port}",
               "--", str(folder)]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    result: dict[str, float] = json.loads(line.removeprefix("RESULT "))
    result["rps"] = result["requests"] / result["seconds"]
    return result


@contextmanager
def gunicorn(app: str, env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = _free_port()
    ready = CACHE / "ready"
    shutil.rmtree(ready, ignore_errors=True)
    ready.mkdir(parents=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--worker-class", "sync",
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
         "--config", str(Path(__file__).with_name("gunicorn_ready.py")), app],
        cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT), "BENCH_READY": str(ready)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _booted(ready, process)
        yield process, port
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def _booted(ready: Path, process: subprocess.Popen[bytes]) -> None:
    """Every worker has built the app (bench/gunicorn_ready.py leaves one file each)."""
    deadline = time.time() + 120
    while len(list(ready.iterdir())) < WORKERS:
        if process.poll() is not None or time.time() > deadline:
            raise SystemExit("gunicorn's workers did not start (run the app by hand to see why)")
        time.sleep(0.1)


def worker_memory_mb(master: int) -> float:
    """Resident memory of the largest gunicorn worker (a child of the master)."""
    sizes = [0.0]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == str(master) and "VmRSS" in fields:
            sizes.append(int(fields["VmRSS"].split()[0]) / 1024)
    return max(sizes)


def measure(app: str, env: dict[str, str], token: str, stream: Stream) -> dict[str, float]:
    """Warm up, then replay for SECONDS; the rate, latencies and memory of one server."""
    work = CACHE / "requests"
    warm = write_requests(work / "warm", token, stream, WARM_UP)
    timed = write_requests(work / "timed", token, stream, SECONDS)
    with gunicorn(app, env) as (server, port):
        wrk(port, warm, WARM_UP)
        result = wrk(port, timed, SECONDS)
        result["mb"] = worker_memory_mb(server.pid)
    if result["wrapped"] and "callcenter" in app:
        print(f"{app}: BENCH_MAX_RATE={MAX_RATE} was too low, calls were replayed (retries): "
              "raise it", file=sys.stderr)  # fmt: skip
    if result["errors"] or result["status_errors"]:
        raise SystemExit(f"{app}: {result['errors']} failed requests, "
                         f"{result['status_errors']} answered 4xx/5xx")  # fmt: skip
    return result


def fingerprint() -> str:
    """What the seeded database depends on: the schema and the seeding script."""
    ddl = [str(CreateTable(t)) for t in Base.metadata.sorted_tables]
    ddl += sorted(str(CreateIndex(i)) for t in Base.metadata.sorted_tables for i in t.indexes)
    ddl.append(Path(seed.__file__).read_text())
    ddl.append(str(seed.CALLS))
    return hashlib.sha256("\n".join(ddl).encode()).hexdigest()[:12]


@contextmanager
def seeded(database: str) -> Iterator[dict[str, str]]:
    """The demo instance holding a year of calls, from the cache or seeded now."""
    stamp = fingerprint()
    folder = CACHE / f"seeded-{database}-{stamp}"
    schema = f"bench_seeded_{stamp}" if database == "postgresql" else None
    ready = (folder / "seeded").exists()
    if database == "postgresql":
        ready = _drop_schemas(keep=schema if ready else None)
    if not ready:  # never seeded, cut short, or its schema gone: start afresh
        shutil.rmtree(folder, ignore_errors=True)
    for old in CACHE.glob(f"seeded-{database}-*"):
        if old != folder:
            shutil.rmtree(old)
    folder.mkdir(parents=True, exist_ok=True)
    with instance(database, BASE, folder=folder, schema=schema) as env:
        if not (folder / "seeded").exists():
            print(f"seeding {seed.CALLS:,} calls on {database} (cached in {folder})...",
                  file=sys.stderr)  # fmt: skip
            seed.seed(load_settings().database_url, folder / "instance")
            (folder / "seeded").touch()
        yield env


def _drop_schemas(keep: str | None) -> bool:
    """Every seeded schema but ``keep`` goes (one is kept at a time); is ``keep`` there?"""
    engine = create_engine(PG)
    with engine.begin() as conn:
        names = list(
            conn.scalars(
                text("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'bench\\_seeded\\_%'")
            )
        )
        for name in [n for n in names if n != keep]:
            conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
    engine.dispose()
    return keep in names


def row(database: str, load: str, result: dict[str, float], bare: float) -> str:
    figures = " | ".join(f"{result[k]:.1f}" for k in ("p50", "p95", "p99"))
    return (f"| {database} | {load} | {result['rps']:,.0f} | {figures} | {result['mb']:.0f} "
            f"| {result['rps'] / bare:.0%} |")  # fmt: skip


def main() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("bench-webhooks needs wrk, the HTTP load generator: "
                         "apt-get install -y wrk (Debian and Ubuntu package 'wrk')")  # fmt: skip
    CACHE.mkdir(parents=True, exist_ok=True)
    databases = ["sqlite"] + (["postgresql"] if postgres_answers() else [])
    rows: list[str] = []
    bare: dict[str, float] = {}
    app = "callcenter.web.app:wsgi()"
    floor = "bench.floor_app:wsgi()"
    for database in databases:
        with instance(database, BASE) as env:
            journeys = record_journeys(BASE)
            token = load_settings().twilio_auth_token
            if not bare:
                bare = measure("bench.bare_app:wsgi()", env, token, journeys_of(journeys))
            results = {
                "floor of the design, journeys": measure(floor, env, token, journeys_of(journeys)),
                "journeys": measure(app, env, token, journeys_of(journeys)),
                "incoming call": measure(app, env, token, incoming_of(journeys)),
            }
        with seeded(database) as env:
            journeys = record_journeys(BASE)
            token = load_settings().twilio_auth_token
            stored = f"journeys, {seed.CALLS:,} stored calls"
            results[stored] = measure(app, env, token, journeys_of(journeys))
        rows += [row(database, load, result, bare["rps"]) for load, result in results.items()]
    cpu = platform.processor() or platform.machine()
    print(f"gunicorn {WORKERS} sync workers, {CONNECTIONS} connections (wrk), {SECONDS:.0f} s "
          f"per row after a {WARM_UP:.0f} s warm-up, {os.cpu_count()} cores ({cpu}), "
          f"Python {platform.python_version()}\n")  # fmt: skip
    print("| database | load | req/s | p50 ms | p95 ms | p99 ms | MB per worker | of bare |")
    print("|---|---|---|---|---|---|---|---|")
    print(row("—", "bare Flask, journeys", bare, bare["rps"]))
    print("\n".join(rows))


if __name__ == "__main__":
    main()
