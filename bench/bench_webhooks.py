"""Webhooks under load: the real server against a bare Flask app, same gunicorn workers.

Run: ``make bench-webhooks`` (or ``.venv/bin/python bench/bench_webhooks.py``).

1. A demo instance is created in a temporary folder (SQLite, then PostgreSQL
   when it answers on 127.0.0.1:5432, in a schema of its own).
2. One call journey per kind is recorded through the Twilio emulator against
   an in-process app: greeting → menu → identification → message (recorded)
   → status callback, and greeting → menu → secretary → the secretary
   accepts → status callback.  Their requests are deterministic, so each
   can be replayed with a fresh CallSid (and RecordingSid).
3. ``gunicorn -w WORKERS`` serves the real app; CONNECTIONS client threads (in
   two processes, so the client is not the bottleneck) replay journeys with
   distinct CallSids, each request signed as Twilio signs it, for SECONDS.
4. The same load, request for request, goes to ``bench/bare_app.py`` under
   the same gunicorn settings: the ceiling of the stack.

It prints requests per second, p50 / p95 / p99 latency for both and their
ratio, and the resident memory of each web worker, as a Markdown table.
"""

from __future__ import annotations

import http.client
import multiprocessing
import os
import platform
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import create_engine, text
from twilio.request_validator import RequestValidator

from callcenter.config.settings import load_settings
from callcenter.instance import DEMO_PRACTICE, init_instance
from callcenter.phone.emulator import FlaskTransport, TwilioEmulator, new_sid
from callcenter.web.app import create_app

WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NOW = "2026-11-24T10:00:00+01:00"  # a Tuesday, office hours
ROOT = Path(__file__).resolve().parent.parent

Request = tuple[str, dict[str, str]]  # path with query, form


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _postgres_answers() -> bool:
    try:
        engine = create_engine(PG, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


@contextmanager
def instance(database: str) -> Iterator[dict[str, str]]:
    """A demo instance; yields the environment a server for it needs."""
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "instance"
        env = {**os.environ, "CALLCENTER_HOME": str(home), "CALLCENTER_NOW": NOW,
               "CALLCENTER_LOG_FORMAT": "json"}  # fmt: skip
        schema = None
        if database == "postgresql":
            schema = "bench_" + secrets.token_hex(4)
            admin = create_engine(PG)
            with admin.begin() as conn:
                conn.execute(text(f"CREATE SCHEMA {schema}"))
            env["DATABASE_URL"] = f"{PG}?options=-csearch_path%3D{schema}"
        os.environ.update({k: v for k, v in env.items() if k != "PATH"})
        init_instance(home, demo=True)
        try:
            yield env
        finally:
            for name in ("CALLCENTER_HOME", "CALLCENTER_NOW", "DATABASE_URL"):
                os.environ.pop(name, None)
            if schema:
                with admin.begin() as conn:
                    conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                admin.dispose()


def record_journeys(public_base: str) -> list[list[Request]]:
    """The requests Twilio sends for each journey, recorded against an in-process app."""
    settings = load_settings()
    app = create_app(settings)
    app.extensions["callcenter"].db.create_all()
    journeys: list[list[Request]] = []
    number = str(DEMO_PRACTICE["number"])
    for script in ("message", "booking", "secretary"):
        sent: list[Request] = []

        def keep(url: str, params: dict[str, str], sent: list[Request] = sent) -> None:
            sent.append((url.removeprefix(public_base), dict(params)))

        twilio = TwilioEmulator(FlaskTransport(app.test_client()), settings.twilio_auth_token,
                                public_base, account_sid=settings.twilio_account_sid,
                                on_request=keep)  # fmt: skip
        call = twilio.place_call(f"+3361234567{len(journeys)}", number)  # a new caller each
        if script == "message":
            # A new patient registers (date of birth, name), leaves a message, asks a call-back.
            call.press("2").press("01021980").say("Jean Dupont")
            call.say("Je voudrais le renouvellement de mon ordonnance").press("1")
        elif script == "booking":
            # A new patient registers and books the first free slot with the first doctor.
            call.press("1").press("15031980").say("Marie Durand")
            call.press("1").press("1").press("1").press("1")
        else:
            call.press("3").answer(press="1")
        call.hangup()
        journeys.append(sent)
    app.extensions["callcenter"].db.dispose()
    return journeys


def fresh(journey: list[Request]) -> list[Request]:
    """The same journey as another caller's call: new CallSid, number (and RecordingSid)."""
    caller = journey[0][1]["From"]
    ids = {journey[0][1]["CallSid"]: new_sid("CA"), caller: f"+336{secrets.randbelow(10**8):08d}"}
    out = []
    for path, form in journey:
        for key in ("RecordingSid", "DialCallSid"):
            if key in form and form[key] not in ids:
                ids[form[key]] = new_sid(form[key][:2])
        out.append((path, {k: ids.get(v, v) for k, v in form.items()}))
    return out


def _client(args: tuple[int, str, str, list[list[Request]], float, int]) -> list[float]:
    """One client process: ``threads`` connections replaying journeys until the deadline."""
    import threading

    port, token, base, journeys, deadline, threads = args
    validator = RequestValidator(token)
    latencies: list[float] = []
    lock = threading.Lock()

    def run(n: int) -> None:
        mine: list[float] = []
        i = n
        while time.time() < deadline:
            for path, form in fresh(journeys[i % len(journeys)]):
                body = urlencode(form)
                signature = validator.compute_signature(base + path, form)
                headers = {"Content-Type": "application/x-www-form-urlencoded",
                           "X-Twilio-Signature": signature}  # fmt: skip
                started = time.perf_counter()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                conn.close()
                mine.append(time.perf_counter() - started)
                if response.status >= 500:
                    raise SystemExit(f"{path} answered {response.status}")
            i += 1
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return latencies


@contextmanager
def gunicorn(app: str, port: int, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--bind",
         f"127.0.0.1:{port}", "--log-level", "warning", "--access-logfile", "-", app],
        cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.1)
    _warm_up(port)
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def _warm_up(port: int) -> None:
    """Wait until every worker has booted (a worker loads keys, practices and flows once)."""
    deadline = time.time() + 60
    answered = 0
    while answered < 4 * WORKERS and time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            conn.close()
            answered += 1
        except OSError:
            time.sleep(0.2)
    time.sleep(2.0)  # the other workers finish booting too


def worker_memory_mb(master: int) -> list[float]:
    """Resident memory of each gunicorn worker (children of the master)."""
    sizes = []
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
    return sizes


def load(port: int, token: str, base: str, journeys: list[list[Request]]) -> dict[str, float]:
    deadline = time.time() + SECONDS
    per_process = CONNECTIONS // 2
    started = time.time()
    with multiprocessing.get_context("fork").Pool(2) as pool:
        parts = pool.map(_client, [(port, token, base, journeys, deadline, per_process)] * 2)
    elapsed = time.time() - started
    latencies = sorted(x for part in parts for x in part)
    q = statistics.quantiles(latencies, n=100)
    return {"rps": len(latencies) / elapsed, "p50": q[49] * 1000, "p95": q[94] * 1000,
            "p99": q[98] * 1000, "requests": len(latencies)}  # fmt: skip


def bench(database: str) -> list[str]:
    rows = []
    with instance(database) as env:
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        env["PUBLIC_BASE_URL"] = base
        os.environ["PUBLIC_BASE_URL"] = base
        journeys = record_journeys(base)
        token = load_settings().twilio_auth_token
        with gunicorn("callcenter.web.app:wsgi()", port, env) as server:
            real = load(port, token, base, journeys)
            memory = worker_memory_mb(server.pid)
        bare_port = _free_port()
        with gunicorn("bench.bare_app:wsgi()", bare_port, env) as bare_server:
            bare = load(bare_port, token, f"http://127.0.0.1:{bare_port}", journeys)
            bare_memory = worker_memory_mb(bare_server.pid)
        os.environ.pop("PUBLIC_BASE_URL", None)
    ratio = real["rps"] / bare["rps"]
    for name, result, mb, share in (
        ("callcenter", real, max(memory), f"{ratio:.0%}"),
        ("bare Flask", bare, max(bare_memory), "100%"),
    ):
        figures = " | ".join(f"{result[k]:.1f}" for k in ("p50", "p95", "p99"))
        rows.append(
            f"| {database} | {name} | {result['rps']:.0f} | {figures} | {mb:.0f} | {share} |"
        )
    return rows


def main() -> None:
    databases = ["sqlite"] + (["postgresql"] if _postgres_answers() else [])
    rows = [row for database in databases for row in bench(database)]
    cpu = platform.processor() or platform.machine()
    print(f"gunicorn {WORKERS} workers (sync), {CONNECTIONS} connections, {SECONDS:.0f} s, "
          f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}\n")  # fmt: skip
    print("| database | server | req/s | p50 ms | p95 ms | p99 ms | MB per worker | of bare |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
