"""Shared fixtures: an instance on SQLite (and PostgreSQL when TEST_DATABASE_URL is set),
the app, and the Twilio emulator that drives it."""

from __future__ import annotations

import copy
import functools
import os
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from argon2 import PasswordHasher
from flask import Flask

import callcenter.schema  # noqa: F401  (declares every table)
from callcenter.accounts import accounts
from callcenter.config.settings import DEFAULT_FLOWS_DIR, DEFAULT_POLICY_FILE, Settings
from callcenter.core.twilio_stand_in import StandInHttpClient
from callcenter.instance import DEMO_PRACTICE
from callcenter.phone.emulator import FlaskTransport, TwilioEmulator
from callcenter.security.crypto import FieldCipher
from callcenter.security.encrypted import using_cipher
from callcenter.security.keyring import KeyRing
from callcenter.services import Services
from callcenter.storage.db import Database
from callcenter.web.app import create_app

pytest.register_assert_rewrite("tests.fake_twilio")

from tests import fake_transcriber  # noqa: E402, F401  (registers the text-in-wav backend)
from tests.canary import SMS_CANARIES, sms_leaks  # noqa: E402
from tests.fake_twilio import ACCOUNT_SID as FAKE_ACCOUNT_SID  # noqa: E402
from tests.fake_twilio import AUTH_TOKEN as FAKE_AUTH_TOKEN  # noqa: E402
from tests.fake_twilio import FakeTwilio  # noqa: E402
from tests.schema_template import SchemaTemplates, create_tables, install  # noqa: E402

pytest_plugins = [
    "tests.fake_twilio",
    "tests.smtp_server",
    "tests.caldav_server",
    "tests.db_proxy",
]  # their fixtures

PUBLIC_BASE = "https://cc.example.test"
# The account whose webhooks the emulator signs and whose REST API the fake serves.
AUTH_TOKEN = FAKE_AUTH_TOKEN
ACCOUNT_SID = FAKE_ACCOUNT_SID
# A Tuesday, mid-morning, in Paris: the practice is open.
OPEN_HOURS = datetime.fromisoformat("2026-11-24T10:00:00+01:00")
CALLER = "+33612345678"

# The server's hasher, before the suite swaps in a cheap one (cheap_password_hashes).
SHIPPED_PASSWORD_HASHER = accounts._HASHER

DB_BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes() -> Iterator[None]:
    """Console passwords hashed with Argon2id at its lowest cost, in tests only.

    The shipped parameters (64 MiB, three passes, four lanes) are slow by
    design; nearly every console test creates an account and signs in, which
    made hashing the largest cost of those tests.  The algorithm, the stored
    format and every code path stay the same; tests/accounts checks the
    shipped parameters.
    """
    hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "_HASHER", hasher)
        patch.setattr(accounts, "_DUMMY_HASH", hasher.hash("no-such-account"))
        yield


@pytest.fixture
def sms_canary() -> list[str]:
    """The words no SMS sent during the test may hold (tests/canary.py); a test adds its own."""
    return list(SMS_CANARIES)


@pytest.fixture
def sms_sent() -> list[str]:
    """Every SMS body the test sent, in order (filled by the canary check below)."""
    return []


@pytest.fixture(autouse=True)
def _no_canary_in_sms(
    sms_canary: list[str], sms_sent: list[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """After every test: no SMS body it sent holds a canary word.

    Bodies are read where they leave: the REST fake's and the demo stand-in's
    message sends, and the texts the server answers a patient's SMS with.
    """
    bodies = sms_sent
    send, request, answer = FakeTwilio._send, StandInHttpClient.request, TwilioEmulator.send_sms

    def fake_send(fake: FakeTwilio, sent: Any) -> Any:
        bodies.append(sent.form.get("Body", ""))
        return send(fake, sent)

    def stand_in(client: StandInHttpClient, method: str, url: str, *args: Any, **kw: Any) -> Any:
        data = kw.get("data") if "data" in kw else (args[1] if len(args) > 1 else None)
        if isinstance(data, dict) and "Body" in data:
            bodies.append(str(data["Body"]))
        return request(client, method, url, *args, **kw)

    def emulator(emulator: TwilioEmulator, *args: Any, **kw: Any) -> Any:
        replied = answer(emulator, *args, **kw)
        bodies.extend(replied.messages)
        return replied

    monkeypatch.setattr(FakeTwilio, "_send", fake_send)
    monkeypatch.setattr(StandInHttpClient, "request", stand_in)
    monkeypatch.setattr(TwilioEmulator, "send_sms", emulator)
    yield
    leaked = {word: body for body in bodies for word in sms_leaks(body, sms_canary)}
    assert not leaked, f"canary words in SMS bodies: {leaked}"


@pytest.fixture(scope="session")
def schema_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SchemaTemplates]:
    """The worker's copy of every table (tests/schema_template.py): built once, not per test."""
    templates = SchemaTemplates(
        tmp_path_factory.mktemp("schema"), os.environ.get("TEST_DATABASE_URL")
    )
    install(templates)
    try:
        yield templates
    finally:
        install(None)
        templates.close()


@pytest.fixture(params=DB_BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, schema_templates: SchemaTemplates
) -> Iterator[str]:
    """A fresh empty database: a SQLite file, or a PostgreSQL schema of its own.

    Empty until someone creates the tables (``db`` and ``app`` do, with
    :func:`create_tables`): the migrations tests get it as it is.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'callcenter.db'}"
        return
    assert schema_templates.postgres is not None
    with schema_templates.postgres.schema() as url:
        yield url


@pytest.fixture
def cipher() -> Iterator[FieldCipher]:
    """A fresh key ring's cipher, bound for the test: domain code that encrypts needs one."""
    with using_cipher(FieldCipher(KeyRing.generate())) as installed:
        assert installed is not None
        yield installed


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """The test database with every table, outside any app (domain tests)."""
    database = Database(database_url)
    create_tables(database)
    yield database
    database.dispose()


_DUMPED: dict[str, str] = {}


def _yaml_text(data: object) -> str:
    """``yaml.safe_dump``, remembered: the same few files are written for every test."""
    key = repr(data)  # plain data: equal reprs, equal YAML
    if key not in _DUMPED:
        _DUMPED[key] = yaml.safe_dump(data, allow_unicode=True)
    return _DUMPED[key]


# Léa's PIN 2468 as older versions hashed it (no pepper): tests run with a fixed
# practice file, and such hashes must keep verifying after an upgrade.
LEGACY_PIN_HASH = (
    "scrypt$c487fc32ebbf657684e6df431dc136d8$"
    "e1e8a6431bc929432e73cf6d9c259f6a1cbd8bc2dff87034243ac8d850482f75"
)
_SECRETARIES = [{**s, "pin_hash": LEGACY_PIN_HASH} for s in DEMO_PRACTICE["secretaries"]]  # type: ignore[attr-defined]


def write_practice(home: Path, **overrides: object) -> dict[str, object]:
    practice = {**DEMO_PRACTICE, "secretaries": _SECRETARIES, **overrides}
    folder = home / "practices"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{practice['id']}.yaml").write_text(_yaml_text(practice), encoding="utf-8")
    return practice


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "instance"
    write_practice(path)
    KeyRing.generate().save(path / "keyring.json")
    return path


@pytest.fixture
def transcription_engine() -> str:
    """The recordings policy's engine in a test; a test module overrides this fixture.

    Journeys record (``twilio``) unless a test picks another engine, so the
    consent and ``<Record>`` paths stay covered everywhere; the shipped
    policy's ``speech`` engine has its own tests (tests/web/test_messages.py).
    """
    return "twilio"


@functools.cache
def _shipped_policy() -> dict[str, Any]:
    return yaml.safe_load(DEFAULT_POLICY_FILE.read_text(encoding="utf-8"))


@pytest.fixture
def policy_file(tmp_path: Path, transcription_engine: str) -> Path:
    """The shipped recordings policy with the test's transcription engine."""
    data = copy.deepcopy(_shipped_policy())
    data["transcription"] = {"engine": transcription_engine}
    if transcription_engine == "local":
        data["transcription"]["local_backend"] = "text-in-wav"  # tests/test_transcribers.py
    path = tmp_path / "recordings_policy.yaml"
    path.write_text(_yaml_text(data), encoding="utf-8")
    return path


@pytest.fixture
def settings(home: Path, database_url: str, fake_twilio: FakeTwilio, policy_file: Path) -> Settings:
    """The test instance; Twilio's REST API (SMS, deletions) is the local fake."""
    return Settings(
        home=home,
        database_url=database_url,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        public_base_url=PUBLIC_BASE,
        flows_dir=DEFAULT_FLOWS_DIR,
        now=OPEN_HOURS,
        twilio_api_base=fake_twilio.base_url,
        policy_file=policy_file,
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    app = bound(create_app(settings))  # on the empty database: start-up finds no tables
    create_tables(services(app).db)
    yield app
    services(app).db.dispose()


def services(app: Flask) -> Services:
    return app.extensions["callcenter"]  # type: ignore[no-any-return]


_BOUND: list[ExitStack] = []


def bound(app: Flask) -> Flask:
    """Bind the app's cipher until the test ends: a test reads encrypted attributes
    outside any request, as a request's unit of work does inside one."""
    stack = ExitStack()
    stack.enter_context(services(app).bound())
    _BOUND.append(stack)
    return app


@pytest.fixture(autouse=True)
def _unbind() -> Iterator[None]:
    yield
    while _BOUND:
        _BOUND.pop().close()


def set_clock(app: Flask, moment: str) -> None:
    services(app).clock.frozen = datetime.fromisoformat(moment)


@pytest.fixture
def twilio(app: Flask) -> TwilioEmulator:
    """Twilio, with the demo practice's number pointing at the app."""
    return TwilioEmulator(
        FlaskTransport(app.test_client()), AUTH_TOKEN, PUBLIC_BASE, account_sid=ACCOUNT_SID
    )


@pytest.fixture
def practice_number() -> str:
    return str(DEMO_PRACTICE["number"])


def broken_database() -> Database:
    """A database that cannot be reached: every query raises OperationalError."""
    return Database("sqlite:////nonexistent-folder/callcenter.db")


@pytest.fixture
def database_down(app: Flask) -> Iterator[None]:
    """The app's database becomes unreachable for the test."""
    svc = services(app)
    original = svc.db
    svc.db = broken_database()
    yield
    svc.db.dispose()
    svc.db = original


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The `callcenter` command pointed at the test instance and database."""
    monkeypatch.setenv("CALLCENTER_HOME", str(settings.home))
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", settings.twilio_account_sid)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", settings.twilio_auth_token)
    monkeypatch.setenv("CALLCENTER_NOW", settings.now.isoformat() if settings.now else "")
    (settings.home / "settings.yaml").write_text("log_format: console\n")
    return settings
