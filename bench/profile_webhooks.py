"""Where one webhook's CPU goes: recorded journeys replayed in-process, by part.

Run: ``.venv/bin/python bench/profile_webhooks.py [sqlite|postgresql] [--cprofile]``.

The journeys of ``bench/recorded.py`` are replayed through the WSGI app
itself (no server, no client, no network), each as a new caller's call and
each request signed as Twilio signs it.  It prints the CPU microseconds per
webhook, then the same replay with the parts of the stack timed one by one
(each part's own time: a part called inside another is counted once, in the
inner one): Flask's dispatch (the rest), form parsing, the signature check,
logging, the flow engine, the database (SQLAlchemy), TwiML, encryption and
phone-number parsing.  ``--cprofile`` adds the functions with the most own
time, to find what a request recomputes.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator
from werkzeug.test import EnvironBuilder

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.recorded import Request, fresh, instance, quiet, record_journeys
from callcenter.config.settings import load_settings
from callcenter.web.app import create_app

BASE = "https://bench.test"
CALLS = int(os.environ.get("PROFILE_CALLS", "150"))


class Parts:
    """Own time per part: a stack of active parts, the inner one owns the time."""

    def __init__(self) -> None:
        self.own: dict[str, float] = defaultdict(float)
        self.stack: list[list[Any]] = []

    def wrap(self, part: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            frame = [time.perf_counter(), 0.0]
            self.stack.append(frame)
            try:
                return fn(*args, **kwargs)
            finally:
                self.stack.pop()
                total = time.perf_counter() - frame[0]
                self.own[part] += total - frame[1]
                if self.stack:
                    self.stack[-1][1] += total

        return timed

    def patch(self, part: str, owner: Any, *names: str) -> None:
        for name in names:
            setattr(owner, name, self.wrap(part, getattr(owner, name)))


def instrument(parts: Parts) -> None:
    import phonenumbers
    import structlog._base
    from flask import Flask
    from sqlalchemy.orm import Session
    from werkzeug.wrappers.request import Request as WRequest

    from callcenter.ivr import engine, twiml
    from callcenter.security import crypto
    from callcenter.web.twilio import signature

    parts.patch("Flask dispatch (the rest)", Flask, "wsgi_app")
    parts.patch("form parsing", WRequest, "_load_form_data")
    parts.patch("signature check", signature, "is_valid_signature")
    parts.patch("logging", structlog._base.BoundLoggerBase, "_proxy_to_logger")
    parts.patch("flow engine", engine.CallEngine, "incoming", "step", "status", "whisper")
    parts.patch("database (SQLAlchemy)", Session, "execute", "scalar", "scalars", "get",
                "flush", "commit", "close", "rollback")  # fmt: skip
    twiml_names = [n for n, v in vars(twiml.Reply).items() if callable(v) and n != "__init__"]
    parts.patch("TwiML", twiml.Reply, *twiml_names)
    parts.patch("TwiML", twiml, "empty")
    parts.patch("encryption", crypto.FieldCipher, "encrypt", "decrypt", "blind_index",
                "blind_index_all")  # fmt: skip
    parts.patch("phone numbers", phonenumbers, "parse", "is_valid_number", "format_number")


def environs(journeys: list[list[Request]], token: str, calls: int) -> list[dict[str, Any]]:
    """Signed WSGI environs for ``calls`` journeys, built before anything is timed."""
    validator = RequestValidator(token)
    out = []
    for i in range(calls):
        for path, form in fresh(journeys[i % len(journeys)]):
            signature = validator.compute_signature(BASE + path, form)
            builder = EnvironBuilder(
                path=path.split("?")[0], query_string=path.partition("?")[2], method="POST",
                data=urlencode(form), content_type="application/x-www-form-urlencoded",
                headers={"X-Twilio-Signature": signature},
            )  # fmt: skip
            out.append(builder.get_environ())
    return out


def replay(app: Any, requests: list[dict[str, Any]]) -> None:
    def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
        if status[0] == "5" or status[:3] == "403":
            raise SystemExit(f"the app answered {status}")

    for environ in requests:
        body = app(environ, start_response)
        for _ in body:
            pass
        body.close()


def main() -> None:
    database = next((a for a in sys.argv[1:] if not a.startswith("-")), "sqlite")
    with instance(database, BASE):
        journeys = record_journeys(BASE)
        settings = load_settings()
        app = create_app(settings)
        quiet()
        token = settings.twilio_auth_token
        replay(app, environs(journeys, token, 30))  # warm-up: caches, connections
        rounds = []
        for _ in range(3):
            requests = environs(journeys, token, CALLS)
            started = time.process_time()
            replay(app, requests)
            rounds.append((time.process_time() - started) / len(requests) * 1e6)
        n = len(requests)
        print(f"{database}: {statistics.median(rounds):.0f} µs CPU per webhook "
              f"(median of 3 rounds of {n} webhooks; rounds: "
              f"{', '.join(f'{r:.0f}' for r in rounds)})")  # fmt: skip
        if "--cprofile" in sys.argv:
            requests = environs(journeys, token, CALLS)
            profile = cProfile.Profile()
            profile.runcall(replay, app, requests)
            out = io.StringIO()
            stats = pstats.Stats(profile, stream=out)
            stats.sort_stats("tottime").print_stats(40)
            stats.sort_stats("cumulative").print_stats("callcenter|holidays", 60)
            print(out.getvalue())
        parts = Parts()
        instrument(parts)
        requests = environs(journeys, token, CALLS)
        started = time.perf_counter()
        replay(app, requests)
        wall = (time.perf_counter() - started) / n * 1e6
        print(f"\nown time per webhook, instrumented (wall µs, total {wall:.0f}):")
        for part, seconds in sorted(parts.own.items(), key=lambda kv: -kv[1]):
            print(f"  {part:<28} {seconds / n * 1e6:7.0f}")
        app.extensions["callcenter"].db.dispose()


if __name__ == "__main__":
    main()
