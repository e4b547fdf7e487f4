"""Every answer and every stored value of the demo's journeys, compared with a golden file.

The journeys of docs/journeys.py run on one instance, in order, each at its
frozen moment, with Twilio SIDs and row ids numbered in order; the TwiML of every request
and a dump of every table (encrypted values decrypted; row ids, SIDs, blind
indexes and ciphertext bytes replaced by stable labels) must equal
``golden/journeys.txt``.  A change of how calls are stored or answered (an
optimisation, a refactor) keeps this file unchanged; a change of what callers
hear or what is kept regenerates it on purpose:
``CALLCENTER_GOLDEN=write .venv/bin/pytest tests/ivr/test_replay_golden.py``.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from uuid import UUID

import pytest
from flask import Flask
from sqlalchemy import LargeBinary, select

from callcenter.phone import emulator
from callcenter.phone.emulator import FlaskTransport, TwilioEmulator
from callcenter.phone.terminal import apply
from callcenter.schema import metadata
from callcenter.security.encrypted import encrypted_fields
from callcenter.storage import db as db_module
from callcenter.storage.db import Base
from tests.conftest import services
from tests.test_journeys_doc import load_script

GOLDEN = Path(__file__).parent / "golden" / "journeys.txt"
HEX_ID = re.compile(r"\b(?:[A-Z]{2})?[0-9a-f]{32}\b")  # a row id, or a SID the fake Twilio made up
# Tables whose rows are the server's own bookkeeping (hash chains over random ids, work-queue
# leases): what they hold is tested where they are built, not here.
SKIPPED_TABLES = frozenset({"audit_log", "audit_events", "alembic_version"})


@pytest.fixture
def transcription_engine() -> str:
    """The demo's shipped policy (speech), as docs/journeys.md hears it."""
    return "speech"


class Recorder(FlaskTransport):
    """Flask's test client, keeping each request's path and the TwiML it got back."""

    def __init__(self, client: object, log: list[str]) -> None:
        super().__init__(client)
        self.log = log

    def post(self, path: str, data: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        status, body = super().post(path, data, headers)
        asked = {k: v for k, v in sorted(data.items()) if k not in ("AccountSid", "ApiVersion")}
        self.log += [f"POST {path} {json.dumps(asked, ensure_ascii=False)}", f"{status} {body}"]
        return status, body


class Labels:
    """Random identifiers replaced by labels in order of first appearance (stable runs)."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        return HEX_ID.sub(self._label, text)

    def _label(self, match: re.Match[str]) -> str:
        value = match.group(0)
        return self.seen.setdefault(value, f"<id{len(self.seen) + 1}>")


def _value(row: Any, name: str, column: Any, secret: dict[str, Any]) -> Any:
    if name in secret:
        return secret[name].__get__(row, type(row))
    value = getattr(row, name)
    if isinstance(column.type, LargeBinary) and value is not None:
        return "<bytes>"
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def dump_tables(app: Flask) -> list[str]:
    """Every row of every table, encrypted values in clear, sorted without the random ids."""
    mapped = {m.local_table.name: m for m in Base.registry.mappers}
    lines: list[str] = []
    with services(app).db.session() as session:
        for table in sorted(metadata.tables):
            if table in SKIPPED_TABLES or table not in mapped:
                continue
            mapper = mapped[table]
            cls = mapper.class_
            secret = encrypted_fields(cls)
            by_ct = {field.column_attr: name for name, field in secret.items()}
            index = getattr(cls, "blind_index", None)
            index_columns = {index.index} if index is not None else set()
            rows = []
            for row in session.scalars(select(cls)):
                values: dict[str, Any] = {}
                for attr in mapper.column_attrs:
                    name = attr.key
                    if name in index_columns or name == "key_id":  # keyed: new keys each run
                        values[name] = "<index>" if getattr(row, name) is not None else None
                    elif name in by_ct:
                        values[by_ct[name]] = _value(row, by_ct[name], attr.columns[0], secret)
                    else:
                        values[name] = _value(row, name, attr.columns[0], {})
                rows.append(json.dumps(values, sort_keys=True, ensure_ascii=False, default=str))
            without_ids = sorted(rows, key=lambda text: (HEX_ID.sub("", text), text))
            lines += [f"## {table} ({len(rows)})", *without_ids]
    return lines


def run_journeys(app: Flask, monkeypatch: pytest.MonkeyPatch) -> str:
    journeys = load_script()
    sids, ids = itertools.count(1), itertools.count(1)
    monkeypatch.setattr(emulator, "new_sid", lambda prefix: f"{prefix}{next(sids):032x}")
    # Row ids numbered in the order rows are made: sorting rows never depends on chance.
    monkeypatch.setattr(db_module, "uuid", SimpleNamespace(uuid4=lambda: UUID(int=next(ids))))
    svc = services(app)
    log: list[str] = []
    for journey in journeys.JOURNEYS:
        svc.clock.frozen = datetime.fromisoformat(journey.at)
        phone = TwilioEmulator(
            Recorder(app.test_client(), log),
            svc.settings.twilio_auth_token,
            svc.settings.public_base_url or "http://localhost",
            account_sid=svc.settings.twilio_account_sid,
        )
        log.append(f"# {journey.title}")
        call = phone.place_call(journey.caller, journeys.NUMBER)
        steps = list(journey.script)
        while not call.ended:
            kind, value = steps.pop(0) if steps else ("hangup", "")
            apply(call, kind, value)
        assert not steps, f"{journey.title}: the call ended with {steps} left"
    labels = Labels()
    return "\n".join(labels(line) for line in [*log, *dump_tables(app)]) + "\n"


def test_the_journeys_answer_and_store_what_the_golden_file_says(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    got = run_journeys(app, monkeypatch)
    if os.environ.get("CALLCENTER_GOLDEN") == "write":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(got, encoding="utf-8")
    want = GOLDEN.read_text(encoding="utf-8")
    assert got.splitlines() == want.splitlines()
