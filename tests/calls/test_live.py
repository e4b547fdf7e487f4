"""A webhook's call read and written by Core statements is the row the ORM reads and writes:
the same columns, the same encrypted bytes' place, either side reading the other's."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from callcenter.calls import live
from callcenter.calls.models import Call, CallStep
from callcenter.security.crypto import FieldCipher
from callcenter.storage.db import Database

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
pytestmark = pytest.mark.usefixtures("cipher")


def test_a_call_written_by_statements_is_read_by_the_orm(db: Database, cipher: FieldCipher):
    call = live.LiveCall.start(practice_id="demo", call_sid="CA" + "1" * 32, caller="+33612345678",
                               caller_index=7, started_at=NOW, flow="main", node="menu", seq=0,
                               state={"withheld": True})  # fmt: skip
    with db.session() as session:
        assert live.store_step(session, call, 0, "main.menu", "<Response/>", NOW, cipher)
    with db.session() as session:
        row = session.scalars(select(Call)).one()
        step = session.scalars(select(CallStep)).one()
        assert (row.id, row.caller, row.caller_index, row.seq) == (call.id, "+33612345678", 7, 1)
        assert (row.state, row.started_at, row.status, row.urgent) == (
            {"withheld": True}, NOW, "in-progress", False)  # fmt: skip
        assert (step.call_id, step.seq, step.node, step.twiml) == (
            call.id, 0, "main.menu", "<Response/>")  # fmt: skip


def test_a_call_written_by_the_orm_is_read_and_moved_on_by_statements(
    db: Database, cipher: FieldCipher
):
    with db.session() as session:
        orm = Call(practice_id="demo", call_sid="CA" + "2" * 32, caller="+33612345678",
                   started_at=NOW, flow="main", node="menu", seq=1, state={})  # fmt: skip
        session.add(orm)
        session.add(CallStep(practice_id="demo", call=orm, seq=0, node="main.menu",
                             twiml="<Response/>", created_at=NOW))  # fmt: skip
    with db.session() as session:
        call, stored = live.load(session, orm.call_sid, 0, cipher)
        assert call is not None and stored is not None and stored.twiml == "<Response/>"
        assert (call.caller, call.seq, call.state) == ("+33612345678", 1, {})
        call.caller, call.outcome, call.state = "+33698765432", "message", {"phase": "x"}
        assert live.store_step(session, call, 1, "main.done", "<Response/>", NOW, cipher)
        stale, _ = live.load(session, orm.call_sid, 1, cipher)
        assert stale is not None
        stale.seq = 1  # read before the move: its version no longer matches
        assert not live.store_step(session, stale, 1, "main.done", "<Response/>", NOW, cipher)
    with db.session() as session:
        row = session.scalars(select(Call)).one()
        assert (row.caller, row.outcome, row.state, row.seq) == (
            "+33698765432", "message", {"phase": "x"}, 2)  # fmt: skip


def test_closing_a_call_returns_its_outcome_once(db: Database, cipher: FieldCipher):
    call = live.LiveCall.start(practice_id="demo", call_sid="CA" + "3" * 32, caller=None,
                               caller_index=None, started_at=NOW, flow="main", node="menu",
                               seq=0, state={})  # fmt: skip
    with db.session() as session:
        live.store_step(session, call, 0, "main.menu", "<Response/>", NOW, cipher)
    with db.session() as session:
        assert live.close(session, call.call_sid, "completed", 30, NOW) == "hung-up"
        assert live.close(session, call.call_sid, "completed", 30, NOW) is None
        assert live.close(session, "CA" + "4" * 32, "completed", 30, NOW) is None
