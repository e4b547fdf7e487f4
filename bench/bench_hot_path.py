"""The database side of a webhook, in process: CPU µs and statements per incoming call,
step, retried step and status callback, on the demo practice.

Run: ``.venv/bin/python bench/bench_hot_path.py [DATABASE_URL] [CALLS]``
(default: a SQLite file in a temporary folder; a PostgreSQL URL must name an
empty database or schema, e.g. ``...?options=-csearch_path%3Dbench``).

No Flask, no signature, no HTTP: the engine inside its unit of work, as a
webhook runs it, so the numbers are what storage and the flows cost.  CPU is
the process's time (``time.process_time``): the database server's own time
and the wait for it are not in it, the client library's work is.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event

from callcenter.config.settings import load_settings
from callcenter.instance import DEMO_PRACTICE, init_instance
from callcenter.services import Services, build_services

NUMBER = str(DEMO_PRACTICE["number"])


def _services(folder: Path, url: str | None) -> Services:
    home = folder / "instance"
    init_instance(home, demo=True)
    env = {"CALLCENTER_HOME": str(home), "CALLCENTER_NOW": "2026-12-08T10:00:00+01:00",
           "TWILIO_API_BASE": "http://127.0.0.1:9"}  # fmt: skip
    if url:
        env["DATABASE_URL"] = url
    svc = build_services(load_settings(env))
    svc.db.create_all()
    return svc


def measure(svc: Services, calls: int, first: int = 0) -> dict[str, tuple[float, float, float]]:
    """(µs of CPU, µs of wall time, statements) per webhook kind, averaged over ``calls`` calls."""
    statements = [0]

    def count(*_args: Any) -> None:
        statements[0] += 1

    event.listen(svc.db.engine, "before_cursor_execute", count)
    totals: dict[str, list[float]] = {}

    def run(kind: str, work: Callable[[Any], object]) -> None:
        before, started, wall = statements[0], time.process_time(), time.perf_counter()
        with svc.unit_of_work() as uow:
            work(uow.session)
        total = totals.setdefault(kind, [0.0, 0.0, 0.0])
        total[0] += time.process_time() - started
        total[1] += time.perf_counter() - wall
        total[2] += statements[0] - before

    now = svc.clock.now()
    engine = svc.engine
    for i in range(first, first + calls):
        sid = f"CA{i:032x}"
        caller = f"+3361{i:07d}" if i % 4 else "anonymous"  # one in four withheld
        base = {"CallSid": sid, "From": caller, "To": NUMBER}
        pressed = {**base, "Digits": "1"}
        ended = {**base, "CallStatus": "completed", "CallDuration": "42"}
        run("incoming", lambda s, p=base: engine.incoming(s, p, now))
        run("step", lambda s, p=pressed: engine.step(s, p, 1, now))
        run("retry", lambda s, p=pressed: engine.step(s, p, 1, now))
        run("status", lambda s, p=ended: engine.status(s, p, now))
    return {kind: (t[0] / calls * 1e6, t[1] / calls * 1e6, t[2] / calls)
            for kind, t in totals.items()}  # fmt: skip


def main(argv: list[str]) -> None:
    url = argv[1] if len(argv) > 1 else None
    calls = int(argv[2]) if len(argv) > 2 else 300
    with tempfile.TemporaryDirectory() as folder:
        for name in ("DATABASE_URL", "CALLCENTER_KEYRING", "CALLCENTER_NOW"):
            os.environ.pop(name, None)
        svc = _services(Path(folder), url)
        measure(svc, 20)  # warm up: statements compiled, caches filled
        result = measure(svc, calls, first=20)
        svc.db.dispose()
    print(f"{'webhook':<10} {'CPU µs':>8} {'wall µs':>8} {'statements':>10}")
    for kind, (cpu, wall, count) in result.items():
        print(f"{kind:<10} {cpu:>8.0f} {wall:>8.0f} {count:>10.1f}")


if __name__ == "__main__":
    main(sys.argv)
