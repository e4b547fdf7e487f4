"""Requests without Flask: captured once per call, encrypted, handled once, counted by kind."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from callcenter.calls.models import Call
from callcenter.config.practice import Practice
from callcenter.patient_requests import desk
from callcenter.patient_requests.models import PatientRequest, RequestSms
from callcenter.patients.models import Patient
from callcenter.storage.db import Database
from callcenter.waitlist.models import WaitingEntry

pytestmark = pytest.mark.usefixtures("cipher")

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
CALLER = "+33612345678"
DETAIL = "du Ventolin  et du Doliprane"
_sids = itertools.count(1)


def a_call(session: Session, practice: str = "p1") -> Call:
    call = Call(practice_id=practice, call_sid=f"CA{next(_sids):032x}", caller=CALLER,
                caller_index=7, started_at=NOW, flow="request", node="detail")  # fmt: skip
    session.add(call)
    session.flush()
    return call


def a_request(session: Session, kind: str = "prescription", doctor_id: str | None = None,
              at: datetime = NOW, practice: str = "p1") -> PatientRequest:  # fmt: skip
    request = desk.capture(session, a_call(session, practice), kind, DETAIL, at,
                           doctor_id=doctor_id)  # fmt: skip
    session.flush()
    return request


def test_a_request_is_captured_once_per_call_with_its_detail_encrypted(db: Database) -> None:
    with db.session() as session:
        call = a_call(session)
        first = desk.capture(session, call, "results", DETAIL, NOW)
        again = desk.capture(session, call, "results", "autre chose", NOW)  # a replayed step
        assert again is first
        assert first.detail == "du Ventolin et du Doliprane"  # spaces as said, once
        assert first.callback_number == CALLER and first.callback_index == 7
        session.flush()
        raw = session.execute(text("SELECT detail, callback_number FROM patient_requests")).one()
    assert b"Ventolin" not in raw[0] and CALLER.encode() not in raw[1]


def test_silence_leaves_a_request_without_detail_and_an_unknown_kind_is_refused(
    db: Database,
) -> None:
    with db.session() as session:
        assert desk.capture(session, a_call(session), "certificate", "   ", NOW).detail is None
        with pytest.raises(ValueError):
            desk.capture(session, a_call(session), "late", DETAIL, NOW)


def test_done_moves_an_open_request_once_and_queues_one_sms(db: Database) -> None:
    with db.session() as session:
        request = a_request(session)
        first = desk.handle(session, request, desk.DONE, "u1", NOW)
        second = desk.handle(session, request, desk.DONE, "u2", NOW + timedelta(seconds=1))
        declined = desk.handle(session, request, desk.DECLINED, "u2", NOW)
        assert (first.changed, second.changed, declined.changed) == (True, False, False)
        assert (request.status, request.handled_by, request.handled_at) == ("done", "u1", NOW)
        assert len(session.scalars(select(RequestSms)).all()) == 1


@pytest.mark.parametrize("outcome", [desk.DECLINED, desk.CONSULTATION])
def test_declined_or_to_be_seen_queues_no_sms(db: Database, outcome: str) -> None:
    with db.session() as session:
        request = a_request(session)
        assert desk.handle(session, request, outcome, "u1", NOW).changed
        assert request.status == outcome
        assert session.scalars(select(RequestSms)).all() == []


def test_to_be_seen_puts_an_identified_caller_with_a_mobile_on_the_waiting_list(
    db: Database,
) -> None:
    """« À voir en consultation »: the next free slot with the request's doctor is offered
    by SMS through the waiting list; a caller never identified is not put on it."""
    with db.session() as session:
        patient = Patient(practice_id="p1", created_at=NOW, last_seen_at=NOW)
        patient.phone = CALLER
        session.add(patient)
        session.flush()
        request = a_request(session, doctor_id="dr-a")
        request.patient_id = patient.id
        anonymous = a_request(session)
        assert desk.handle(session, request, desk.CONSULTATION, "u1", NOW).changed
        assert desk.handle(session, anonymous, desk.CONSULTATION, "u1", NOW).changed
        (entry,) = session.scalars(select(WaitingEntry)).all()
        assert (entry.patient_id, entry.doctor_id, entry.source, entry.period) == (
            patient.id, "dr-a", "request", "any",
        )  # fmt: skip
        assert entry.phone == CALLER and entry.before > NOW.date()


def test_an_unknown_outcome_is_refused(db: Database) -> None:
    with db.session() as session, pytest.raises(ValueError):
        desk.handle(session, a_request(session), "approved", "u1", NOW)


def test_a_doctor_finds_their_requests_and_the_practices_never_another_doctors(
    db: Database,
) -> None:
    with db.session() as session:
        mine = a_request(session, doctor_id="dr-a")
        practice_wide = a_request(session)
        theirs = a_request(session, doctor_id="dr-b")
        elsewhere = a_request(session, practice="p2")
        found = {r.id for r in desk.listed(session, ["p1"], doctor_id="dr-a")}
        assert found == {mine.id, practice_wide.id}
        assert desk.find(session, ["p1"], theirs.id, doctor_id="dr-a") is None
        assert desk.find(session, ["p1"], elsewhere.id) is None
        assert desk.find(session, ["p1"], "no-such-request") is None
        assert desk.find(session, ["p1"], theirs.id) is not None  # a secretary's scope


def test_handled_requests_leave_the_list_after_a_while_open_ones_never(db: Database) -> None:
    with db.session() as session:
        old_open = a_request(session, at=NOW - timedelta(days=60))
        done = a_request(session)
        desk.handle(session, done, desk.DONE, "u1", NOW)
        listed = desk.listed(session, ["p1"], handled_since=NOW + timedelta(days=8))
        assert [r.id for r in listed] == [old_open.id]
        recent = desk.listed(session, ["p1"], handled_since=NOW - timedelta(days=7))
        assert [r.id for r in recent] == [old_open.id, done.id]  # open first
        assert recent[0].detail == "du Ventolin et du Doliprane"


def test_who_handles_is_the_practices_choice() -> None:
    doctors = Practice(id="p1", name="P", number="+33184880000")
    both = replace(doctors, requests_handled_by="secretaries")
    assert desk.may_handle(doctors, "doctor") and not desk.may_handle(doctors, "secretary")
    assert desk.may_handle(both, "secretary") and desk.may_handle(both, "doctor")
    assert not desk.may_handle(both, "admin")


def test_requests_are_counted_by_kind_without_decrypting_and_listed_for_a_digest(
    db: Database,
) -> None:
    with db.session() as session:
        a_request(session, "prescription")
        a_request(session, "prescription", doctor_id="dr-b")
        a_request(session, "results", at=NOW - timedelta(days=2))
        counts = desk.counts_by_kind(session, "p1", NOW - timedelta(days=1), NOW + timedelta(1))
        assert counts == {"prescription": 2, "results": 0, "certificate": 0}
        for_a = desk.for_digest(session, "p1", "dr-a", NOW - timedelta(days=3), NOW)
        assert [r.kind for r in for_a] == ["results", "prescription"]


def test_a_practice_file_with_an_unknown_handler_stops_start_up(tmp_path) -> None:
    from callcenter.config.practice import PracticeError, load_practice
    from tests.conftest import write_practice

    write_practice(tmp_path, requests={"handled_by": "everyone"})
    with pytest.raises(PracticeError, match=r"requests\.handled_by"):
        load_practice(tmp_path / "practices" / "demo.yaml")
    write_practice(tmp_path, requests={"handled_by": "secretaries"})
    assert load_practice(tmp_path / "practices" / "demo.yaml").requests_handled_by == "secretaries"
