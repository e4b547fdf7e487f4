"""The engine's storage of a call: what each webhook costs in statements, and two workers
answering the same request at once (Twilio's retry racing the first) store it once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, select

from callcenter.calls.models import Call, CallStep
from callcenter.ivr.engine import Answer
from callcenter.ivr.nodes.basic import Menu
from callcenter.phone.emulator import TwilioEmulator
from tests.conftest import CALLER, services

#: Statements per webhook, on (SQLite, PostgreSQL): the hot path of docs/development/benchmarks.md.
BUDGET = {
    "incoming": (3, 2),  # the caller's recent calls (throttle); the call and its answer
    "withheld": (3, 2),  # the practice's withheld calls (throttle); the call and its answer
    "step": (3, 2),  # the call with any answer stored under seq; the call and the answer
    "retry": (1, 1),  # the call with the answer stored under seq: replayed
    "status": (2, 1),  # the call closed (RETURNING its outcome); its queue entry
}


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """The SQL of every statement the app sends while the block runs."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        seen.append(sql)

    engine = services(app).db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def budget(app: Flask, kind: str) -> int:
    sqlite, postgresql = BUDGET[kind]
    return postgresql if services(app).db.engine.dialect.name == "postgresql" else sqlite


def test_each_webhook_sends_at_most_its_statements(app, twilio: TwilioEmulator, practice_number):
    with statements(app) as incoming:
        call = twilio.place_call(CALLER, practice_number)
    with statements(app) as step:
        call.press("7")  # a wrong key: the menu again
    with statements(app) as retry:
        status, _ = twilio.replay()
    assert status == 200
    with statements(app) as withheld:
        twilio.place_call("anonymous", practice_number)
    with statements(app) as closing:
        twilio.post(twilio.url("/twilio/status"), twilio.call_params(call, {
            "CallStatus": "completed", "CallDuration": "30"}))  # fmt: skip
    counted = {"incoming": incoming, "withheld": withheld, "step": step, "retry": retry,
               "status": closing}  # fmt: skip
    for kind, sent in counted.items():
        assert len(sent) <= budget(app, kind), (kind, sent)


def _race(app: Flask, work: Callable[[Any], Answer]) -> list[Answer]:
    """Run ``work`` in two units of work at once, as two workers would."""
    answers: list[Answer] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with services(app).unit_of_work() as uow:
                answer = work(uow.session)
            answers.append(answer)
        except BaseException as exc:  # the test reports it
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    return answers


def both_inside_the_node(monkeypatch: pytest.MonkeyPatch) -> threading.Barrier:
    """Hold each worker in the menu until both have read the call: a true race."""
    barrier = threading.Barrier(2, timeout=20)
    enter, resume = Menu.enter, Menu.resume

    def waiting(real: Callable[..., Any]) -> Callable[..., Any]:
        def node(self: Menu, ctx: Any, reply: Any) -> Any:
            barrier.wait()
            return real(self, ctx, reply)

        return node

    monkeypatch.setattr(Menu, "enter", waiting(enter))
    monkeypatch.setattr(Menu, "resume", waiting(resume))
    return barrier


def test_the_same_step_answered_by_two_workers_at_once_moves_the_call_once(
    app, twilio: TwilioEmulator, practice_number, monkeypatch: pytest.MonkeyPatch
):
    call = twilio.place_call(CALLER, practice_number)
    svc = services(app)
    params = twilio.call_params(call, {"Digits": "7"})  # a wrong key counts one attempt
    both_inside_the_node(monkeypatch)
    first, second = _race(app, lambda s: svc.engine.step(s, params, 1, svc.clock.now()))
    assert first.twiml == second.twiml
    assert sorted([first.outcome, second.outcome]) == ["", "replayed"]
    with svc.db.session() as session:
        stored = session.scalars(select(Call).where(Call.call_sid == call.sid)).one()
        assert stored.seq == 2 and stored.state["attempts"] == {"main.menu_open": 1}
        steps = select(func.count()).where(CallStep.call_id == stored.id, CallStep.seq == 1)
        assert session.scalar(steps) == 1


def test_the_same_new_call_answered_by_two_workers_at_once_is_stored_once(
    app, twilio: TwilioEmulator, practice_number, monkeypatch: pytest.MonkeyPatch
):
    svc = services(app)
    params = {"CallSid": "CA" + "5" * 32, "From": CALLER, "To": practice_number}
    both_inside_the_node(monkeypatch)
    first, second = _race(app, lambda s: svc.engine.incoming(s, params, svc.clock.now()))
    assert first.twiml == second.twiml
    assert sorted([first.outcome, second.outcome]) == ["", "replayed"]
    with svc.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Call)) == 1
        assert session.scalar(select(func.count()).select_from(CallStep)) == 1
