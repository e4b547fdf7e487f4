"""callcenter.backoffice.lookup without Flask: everything held for one number, identified
or not, through the blind indexes and an exact match of the decrypted number."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import count

from flask import Flask
from sqlalchemy.orm import Session

from callcenter.appointments.models import Appointment
from callcenter.backoffice import lookup
from callcenter.calls.models import Call
from callcenter.messages.models import Message
from callcenter.patient_requests.models import PatientRequest
from callcenter.waitlist.models import WaitingEntry
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


def request(session: Session, practice: str = "demo", **values: object) -> str:
    values.setdefault("created_at", OPEN_HOURS)
    values.setdefault("callback_number", CALLER)
    values.setdefault("status", "open")
    row = PatientRequest(practice_id=practice, kind="prescription", **values)
    session.add(row)
    session.flush()
    return row.id


def entry(session: Session, patient_id: str, practice: str = "demo", **values: object) -> str:
    values.setdefault("phone", CALLER)
    values.setdefault("status", "open")
    values.setdefault("before", date(2026, 12, 24))
    row = WaitingEntry(practice_id=practice, patient_id=patient_id, period="morning",
                       source="phone", created_at=OPEN_HOURS, **values)  # fmt: skip
    session.add(row)
    session.flush()
    return row.id


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


def test_a_numbers_requests_and_open_waiting_entries_are_found(app):
    with session_of(app) as session:
        someone = patient(app, session, OTHER)  # another patient, waiting at this number
        left = request(session, callback_index=index(app, CALLER), detail="Doliprane",
                       doctor_id="dr-martin")  # fmt: skip
        done = request(session, callback_index=index(app, CALLER), status="consultation",
                       created_at=OPEN_HOURS - timedelta(days=1))  # fmt: skip
        request(session, callback_number=OTHER, callback_index=index(app, OTHER))
        waits = entry(session, someone, phone_index=index(app, CALLER), doctor_id="dr-martin")
        entry(session, someone, phone_index=index(app, CALLER), status="ended")
        entry(session, someone, phone=OTHER, phone_index=index(app, OTHER))
        found = find(app, session, "06 12 34 56 78")
    assert found.patients == [] and found
    assert [(r.id, r.status, r.detail, r.doctor_id) for r in found.requests] == [
        (left, "open", "Doliprane", "dr-martin"), (done, "consultation", None, None),
    ]  # fmt: skip
    assert [(w.id, w.doctor_id, w.period) for w in found.waiting] == [
        (waits, "dr-martin", "morning")
    ]


def test_a_patients_requests_and_entries_come_from_any_number(app):
    with session_of(app) as session:
        mine = patient(app, session, CALLER)
        # Left from another phone; the entry texts another phone, with an index of
        # another width than the practice's (the list's own search covers them all).
        theirs = request(session, patient_id=mine, callback_number=OTHER,
                         callback_index=index(app, OTHER))  # fmt: skip
        waits = entry(session, mine, phone=OTHER, phone_index=index(app, OTHER))
        by_number = entry(session, mine, phone_index=index(app, CALLER, bits=16))
        found = find(app, session, CALLER)
    assert [r.id for r in found.requests] == [theirs]
    assert sorted(w.id for w in found.waiting) == sorted([waits, by_number])


def test_requests_and_entries_keep_to_the_practices_and_the_exact_number(app):
    target = index(app, CALLER, bits=8)
    twin = next(
        number for n in range(10_000)
        if (number := f"+336{n:08d}") != CALLER and index(app, number, bits=8) == target
    )  # fmt: skip
    with session_of(app) as session:
        request(session, callback_number=twin, callback_index=target)  # the same bucket
        entry(session, patient(app, session, twin), phone=twin, phone_index=target)
        portside = patient(app, session, OTHER, practice="port")
        at_port = request(session, practice="port", callback_index=index(app, CALLER, "port", 8))
        waits_at_port = entry(session, portside, practice="port",
                              phone_index=index(app, CALLER, "port", 8))  # fmt: skip
        bits = {"demo": 8, "port": 8}
        assert not find(app, session, CALLER, bits=bits)
        both = find(app, session, CALLER, ("demo", "port"), bits)
    assert [r.id for r in both.requests] == [at_port]
    assert [w.id for w in both.waiting] == [waits_at_port]
