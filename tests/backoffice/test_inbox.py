"""callcenter.backoffice.inbox without Flask: what the messages, calls and search pages
query, always limited to the practices given."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import timedelta
from itertools import count

from flask import Flask
from sqlalchemy.orm import Session

from callcenter.backoffice import inbox
from callcenter.calls.models import Call, QueueEntry
from callcenter.messages.models import Message
from callcenter.patients.models import Patient
from tests.conftest import CALLER, OPEN_HOURS, services

HOUR = timedelta(hours=1)
_sids = count(1)


def session_of(app: Flask) -> AbstractContextManager[Session]:
    return services(app).db.session()


def message(session: Session, practice: str = "demo", **values: object) -> str:
    values.setdefault("created_at", OPEN_HOURS)
    row = Message(practice_id=practice, callback_number=CALLER, transcript="un message",
                  status="transcribed", **values)  # fmt: skip
    session.add(row)
    session.flush()
    return row.id


def patient(
    app: Flask, session: Session, phone: str, practice: str = "demo", name: str = ""
) -> str:
    svc = services(app)
    bits = svc.practices.by_id(practice).blind_index_bits
    row = Patient(
        practice_id=practice, phone=phone, name=name or f"patient {phone}",
        phone_index=svc.cipher.phone_index(phone, practice=practice, bits=bits),
        birth_date="1980-03-15", created_at=OPEN_HOURS, last_seen_at=OPEN_HOURS,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row.id


def call(session: Session, practice: str = "demo", **values: object) -> Call:
    values.setdefault("started_at", OPEN_HOURS - timedelta(minutes=5))
    values.setdefault("state", {})
    row = Call(practice_id=practice, call_sid=f"CA{next(_sids):032d}", caller=CALLER,
               flow="main", node="menu", **values)  # fmt: skip
    session.add(row)
    session.flush()
    return row


# -- messages -----------------------------------------------------------------------


def test_messages_are_urgent_first_then_newest_and_only_of_the_practices_given(app):
    with session_of(app) as session:
        old = message(session, created_at=OPEN_HOURS - 2 * HOUR)
        new = message(session, created_at=OPEN_HOURS - HOUR)
        urgent = message(session, created_at=OPEN_HOURS - 3 * HOUR, urgent=True)
        message(session, practice="port")
        message(session, created_at=OPEN_HOURS - 30 * HOUR)  # before "since"
        found = inbox.messages(session, ["demo"], OPEN_HOURS - 24 * HOUR)
    assert [m.id for m in found] == [urgent, new, old]
    assert found[1].transcript == "un message" and found[1].callback_number == CALLER


def test_messages_can_leave_out_the_handled_ones_and_keep_to_what_a_doctor_sees(app):
    with session_of(app) as session:
        handled = message(session, handled_at=OPEN_HOURS)
        open_ = message(session)
        martins = message(session, doctor_id="dr-martin")
        since = OPEN_HOURS - HOUR
        still_open = inbox.messages(session, ["demo"], since, include_handled=False)
        assert {m.id for m in still_open} == {open_, martins}
        message(session, doctor_id="dr-bernard")
        hers = inbox.messages(session, ["demo"], since, doctor_id="dr-martin")
        assert {m.id for m in hers} == {martins, open_, handled}  # and nobody's
        assert handled in {m.id for m in inbox.messages(session, ["demo"], since)}
        assert inbox.messages(session, [], since) == []


def test_marking_handled_moves_an_open_message_once(app):
    with session_of(app) as session:
        ident = message(session)
        first = inbox.mark_handled(session, ["demo"], ident, "u1", OPEN_HOURS)
        again = inbox.mark_handled(session, ["demo"], ident, "u2", OPEN_HOURS + HOUR)
        row = session.get_one(Message, ident)
        assert first == inbox.Handled("demo", changed=True)
        assert again == inbox.Handled("demo", changed=False)
        assert (row.handled_at, row.handled_by) == (OPEN_HOURS, "u1")


def test_marking_handled_is_refused_outside_the_practices_or_the_doctors_scope(app):
    with session_of(app) as session:
        theirs = message(session, practice="port")
        bernards = message(session, doctor_id="dr-bernard")
        nobodys = message(session)
        assert inbox.mark_handled(session, ["demo"], theirs, "u", OPEN_HOURS) is None
        assert inbox.mark_handled(session, ["demo"], "no-such-id", "u", OPEN_HOURS) is None
        mark = inbox.mark_handled
        assert mark(session, ["demo"], bernards, "u", OPEN_HOURS, doctor_id="dr-martin") is None
        assert mark(session, ["demo"], nobodys, "u", OPEN_HOURS, doctor_id="dr-martin") == (
            inbox.Handled("demo", changed=True)
        )
        assert session.get_one(Message, theirs).handled_at is None
        assert session.get_one(Message, bernards).handled_at is None


# -- live calls ---------------------------------------------------------------------


def test_live_calls_are_the_unended_recent_calls_with_the_whispers_context(app):
    runtimes = services(app).engine.runtimes
    with session_of(app) as session:
        waiting = call(session, state={"transfer_reason": "secretary"})
        session.add(QueueEntry(call_id=waiting.id, practice_id="demo", queue="demo",
                               enqueued_at=OPEN_HOURS))  # fmt: skip
        urgent = call(session, urgent=True, started_at=OPEN_HOURS - HOUR,
                      state={"transfer_reason": "urgent", "identity": "known"})  # fmt: skip
        menu = call(session, started_at=OPEN_HOURS - timedelta(minutes=1))
        call(session, ended_at=OPEN_HOURS)  # over
        call(session, started_at=OPEN_HOURS - 5 * HOUR)  # a lost status callback
        call(session, practice="port")
        found = inbox.live_calls(session, ["demo"], runtimes, OPEN_HOURS)
    assert [c.id for c in found] == [urgent.id, waiting.id, menu.id]
    first, second, third = found
    assert first.context == [
        "Appel pour le cabinet médical des Tilleuls.", "Appel patient, urgence.",
        "Patient identifié.", "Appel urgent.",
    ]  # fmt: skip
    assert first.transferring and not first.waiting and first.urgent
    assert second.waiting and second.transferring
    assert not third.transferring and not third.waiting
    assert third.context[1] == "Appel patient."
    for live in found:
        assert not any("612345678" in line for line in live.context)


def test_live_calls_skip_a_practice_without_a_runtime(app):
    with session_of(app) as session:
        call(session)
        assert inbox.live_calls(session, ["demo"], {}, OPEN_HOURS) == []


# -- by phone -----------------------------------------------------------------------


def test_by_phone_finds_the_exact_number_in_any_format_and_nothing_else(app):
    cipher = services(app).cipher
    with session_of(app) as session:
        mine = patient(app, session, CALLER)
        patient(app, session, "+33612345679")
        patient(app, session, CALLER, practice="port")
        for typed in ("06 12 34 56 78", "+33 6 12 34 56 78", "0033612345678", "06-12-34-56-78"):
            found = inbox.by_phone(session, cipher, ["demo"], typed, {"demo": 12})
            assert [p.id for p in found] == [mine], typed
        for typed in ("06 12 34 56 70", "12345678", "", "anonymous", "+1 202 555 0100"):
            assert inbox.by_phone(session, cipher, ["demo"], typed, {"demo": 12}) == [], typed
        both = inbox.by_phone(session, cipher, ["demo", "port"], CALLER, {"demo": 12, "port": 12})
        assert sorted(p.practice_id for p in both) == ["demo", "port"]


def test_by_phone_filters_out_another_number_in_the_same_index_bucket(app):
    """With a tiny index many numbers share a bucket: only the exact number is listed."""
    svc = services(app)
    target = svc.cipher.phone_index(CALLER, practice="demo", bits=8)
    twin = next(
        number for n in range(10_000)
        if (number := f"+336{n:08d}") != CALLER
        and svc.cipher.phone_index(number, practice="demo", bits=8) == target
    )  # fmt: skip
    with session_of(app) as session:
        for phone in (CALLER, twin):
            session.add(Patient(practice_id="demo", phone=phone, name=phone, phone_index=target,
                                created_at=OPEN_HOURS, last_seen_at=OPEN_HOURS))  # fmt: skip
        session.flush()
        found = inbox.by_phone(session, svc.cipher, ["demo"], CALLER, {"demo": 8})
    assert [p.name for p in found] == [CALLER]


def test_messages_before_a_moment_and_without_a_limit(app):
    with session_of(app) as session:
        for days in range(1, 4):
            message(session, created_at=OPEN_HOURS - timedelta(days=days))
        since = OPEN_HOURS - timedelta(days=10)
        before = OPEN_HOURS - timedelta(days=1, hours=1)
        assert len(inbox.messages(session, ["demo"], since, limit=None, before=before)) == 2
        assert len(inbox.messages(session, ["demo"], since, limit=None)) == 3


def test_by_week_groups_by_the_monday_in_the_practices_time_zone_newest_week_first(app):
    paris = services(app).practices.by_id("demo").tz
    with session_of(app) as session:
        # Tuesday 24 November; Monday 16 November 00:30 in Paris (still Sunday in UTC).
        for moment in (OPEN_HOURS, OPEN_HOURS - timedelta(days=8, hours=9, minutes=30)):
            message(session, created_at=moment)
        shown = inbox.messages(session, ["demo"], OPEN_HOURS - timedelta(days=30))
    weeks = inbox.by_week(shown, paris)
    assert [(str(monday), len(group)) for monday, group in weeks] == [
        ("2026-11-23", 1), ("2026-11-16", 1),
    ]  # fmt: skip
