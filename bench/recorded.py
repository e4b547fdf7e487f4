"""Recorded call journeys, replayed by ``bench_webhooks.py`` and ``profile_webhooks.py``.

A demo instance is created in a temporary folder (SQLite, or PostgreSQL in a
schema of its own), and the requests Twilio sends for three journeys are
recorded through the Twilio emulator against an in-process app: a new patient
registers and leaves a message, a new patient books the first free slot, a
caller is put through to the secretary; each ends with the status callback.
The requests are deterministic, so :func:`fresh` replays a journey as another
caller's call (new CallSid, caller number, RecordingSid).
"""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from callcenter.config.settings import load_settings
from callcenter.instance import DEMO_PRACTICE, init_instance
from callcenter.phone.emulator import FlaskTransport, TwilioEmulator, new_sid
from callcenter.web.app import create_app

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NOW = "2026-11-24T10:00:00+01:00"  # a Tuesday, office hours

Request = tuple[str, dict[str, str]]  # path with query, form


def quiet() -> None:
    """Log lines go nowhere (a server's go to its stderr, which the bench drops too)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115


def postgres_answers() -> bool:
    try:
        engine = create_engine(PG, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


@contextmanager
def instance(
    database: str, public_base: str, folder: Path | None = None, schema: str | None = None
) -> Iterator[dict[str, str]]:
    """A demo instance; yields the environment a server for it needs.

    With ``folder`` (and, on PostgreSQL, ``schema``) the instance is kept for the
    next run, and reused when it is there; else it lasts for the block.
    """
    with tempfile.TemporaryDirectory() as scratch:
        home = (folder or Path(scratch)) / "instance"
        env = {**os.environ, "CALLCENTER_HOME": str(home), "CALLCENTER_NOW": NOW,
               "CALLCENTER_LOG_FORMAT": "json", "PUBLIC_BASE_URL": public_base}  # fmt: skip
        admin = create_engine(PG) if database == "postgresql" else None
        temporary = schema is None
        if admin is not None:
            schema = schema or "bench_" + secrets.token_hex(4)
            with admin.begin() as conn:
                conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
            env["DATABASE_URL"] = f"{PG}?options=-csearch_path%3D{schema}"
        saved = dict(os.environ)
        os.environ.update({k: v for k, v in env.items() if k != "PATH"})
        try:
            if not (home / "settings.yaml").exists():
                init_instance(home, demo=True)
            yield env
        finally:
            os.environ.clear()
            os.environ.update(saved)
            if admin is not None:
                if temporary:
                    with admin.begin() as conn:
                        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                admin.dispose()


def new_caller() -> str:
    """A mobile number no one called from before (bench/seed.py seeds 068 numbers)."""
    return f"+3367{secrets.randbelow(10**7):07d}"


def record_journeys(public_base: str) -> list[list[Request]]:
    """The requests Twilio sends for each journey, recorded against an in-process app."""
    settings = load_settings()
    app = create_app(settings)
    quiet()
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
        call = twilio.place_call(new_caller(), number)  # a new caller each
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
    ids = {journey[0][1]["CallSid"]: new_sid("CA"), caller: new_caller()}
    out = []
    for path, form in journey:
        for key in ("RecordingSid", "DialCallSid"):
            if key in form and form[key] not in ids:
                ids[form[key]] = new_sid(form[key][:2])
        out.append((path, {k: ids.get(v, v) for k, v in form.items()}))
    return out
