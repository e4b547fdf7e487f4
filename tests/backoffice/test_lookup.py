"""callcenter.backoffice.lookup without Flask: everything held for one number, identified
or not, through the blind indexes and an exact match of the decrypted number."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

from flask import Flask
from sqlalchemy.orm import Session

from callcenter.appointments.models import Appointment
from callcenter.backoffice import lookup
from callcenter.calls.models import Call
from callcenter.messages.models import Message
from tests.backoffice.test_inbox import patient, session_of
from tests.conftest import CALLER, OPEN_HOURS, services

OTHER = "+33698765432"
BITS = {"demo": 12, "port": 12}
_sids = count(10_000)


def message(session: Session, practice: str = "demo", **values: object) -> str:
    values.setdefault("created_at", OPEN_HOURS)
    values.setdefault("callback_number", CALLER)
    row = Message(practice_id=practice, transcript="un message", status="transcribed", **values)
    session.add(row)
    session.flush()
    return row.id


def call(session: Session, **values: object) -> Call:
    values.setdefault("started_at", OPEN_HOURS - timedelta(minutes=5))
    values.setdefault("caller", CALLER)
    row = Call(practice_id="demo", call_sid=f"CA{next(_sids):032x}", state={}, flow="main",
               node="menu", **values)  # fmt: skip
    session.add(row)
    session.flush()
    return row


def index(app: Flask, number: str, practice: str = "demo", bits: int = 12) -> int:
    return services(app).cipher.phone_index(number, practice=practice, bits=bits)


def find(app: Flask, session: Session, number: str, practices=("demo",), bits=BITS):
    svc = services(app)
    return lookup.by_number(session, svc.cipher, list(practices), number, bits, OPEN_HOURS)


def test_an_unidentified_callers_messages_and_calls_are_found_by_the_number(app):
    with session_of(app) as session:
        urgent = call(session, caller=OTHER, caller_index=index(app, OTHER), urgent=True)
        left = message(session, callback_number=OTHER, callback_index=index(app, OTHER),
                       urgent=True, call_id=urgent.id)  # fmt: skip
        message(session, callback_index=index(app, CALLER))  # another number
        call(session, caller_index=index(app, CALLER))
        found = find(app, session, "06 98 76 54 32")
    assert found.patients == [] and found.upcoming == []
    assert [m.id for m in found.messages] == [left]
    assert [(c.id, c.urgent, c.identified) for c in found.calls] == [(urgent.id, True, False)]
    assert found


def test_a_patients_rows_come_with_the_rows_of_the_number_newest_first(app):
    with session_of(app) as session:
        mine = patient(app, session, CALLER)
        # Left from another phone by the identified patient, then one from the number.
        by_patient = message(session, callback_number=OTHER, patient_id=mine,
                             created_at=OPEN_HOURS - timedelta(days=2))  # fmt: skip
        by_number = message(session, callback_index=index(app, CALLER))
        booked_on = call(session, caller_index=index(app, CALLER))
        identified = call(session, caller=OTHER, patient_id=mine,
                          started_at=OPEN_HOURS - timedelta(days=3))  # fmt: skip
        session.add(Appointment(practice_id="demo", doctor_id="dr-martin", call_id=booked_on.id,
                                starts_at=OPEN_HOURS + timedelta(days=1),
                                ends_at=OPEN_HOURS + timedelta(days=1, minutes=20),
                                created_at=OPEN_HOURS))  # fmt: skip
        session.flush()
        found = find(app, session, "+33 6 12 34 56 78")
    assert [p.id for p in found.patients] == [mine]
    assert [m.id for m in found.messages] == [by_number, by_patient]
    assert [c.id for c in found.calls] == [booked_on.id, identified.id]
    assert [a.doctor_id for a in found.upcoming] == ["dr-martin"]  # booked on the number's call


def test_the_search_keeps_to_the_practices_given_and_to_the_exact_number(app):
    svc = services(app)
    target = index(app, CALLER, bits=8)
    twin = next(
        number for n in range(10_000)
        if (number := f"+336{n:08d}") != CALLER and index(app, number, bits=8) == target
    )  # fmt: skip
    with session_of(app) as session:
        message(session, callback_number=twin, callback_index=target)  # the same bucket
        call(session, caller=twin, caller_index=target)
        theirs = message(session, practice="port", callback_index=index(app, CALLER, "port", 8))
        bits = {"demo": 8, "port": 8}
        assert not find(app, session, CALLER, bits=bits)
        both = find(app, session, CALLER, ("demo", "port"), bits)
        assert [m.id for m in both.messages] == [theirs]
        nothing = lookup.by_number(session, svc.cipher, ["demo"], "n'importe", BITS, OPEN_HOURS)
    assert not nothing and nothing.messages == []
