"""A request's life past the console: the doctors' digest, the statistics, the patient's
export and erasure, and the purge at the end of its own retention."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callcenter.backoffice.stats import call_stats
from callcenter.calls.models import Call
from callcenter.config.policy import Policy, Recording, Retention
from callcenter.config.practice import load_practice
from callcenter.config.prompts import Catalogue
from callcenter.config.settings import DEFAULT_FLOWS_DIR
from callcenter.digests.compose import Period, build
from callcenter.patient_requests import desk
from callcenter.patient_requests.models import PatientRequest, RequestSms
from callcenter.patients.models import Patient
from callcenter.retention.purge import purge
from callcenter.rights import gdpr
from callcenter.security.crypto import FieldCipher
from tests.conftest import DEMO_PRACTICE, write_practice

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
NUMBER = "+33612345678"
NAME, DETAIL = "Zéphyrine Quenouille", "Ventoline, deux boîtes"
BITS = 12
_sids = itertools.count(1)


def left(session: Session, cipher: FieldCipher, at: datetime = NOW, kind: str = "prescription",
         doctor_id: str | None = "dr-martin", number: str = NUMBER) -> PatientRequest:  # fmt: skip
    """A request of a known patient of the demo practice, as the phone leaves it."""
    index = cipher.phone_index(number, practice="demo", bits=BITS)
    patient = Patient(practice_id="demo", phone=number, phone_index=index, name=NAME,
                      birth_date="1980-03-15", created_at=at, last_seen_at=at)  # fmt: skip
    session.add(patient)
    session.flush()
    call = Call(practice_id="demo", call_sid=f"CA{next(_sids):032x}", caller=number,
                caller_index=index, patient_id=patient.id, started_at=at, ended_at=at,
                flow="request", node="thanks", outcome="request")  # fmt: skip
    session.add(call)
    session.flush()
    request = desk.capture(session, call, kind, DETAIL, at, doctor_id=doctor_id)
    session.flush()
    return request


def policy(**days: int) -> Policy:
    values = dict(recordings=1, transcripts=30, messages=90, calls=180, appointments_after=365,
                  audit=200, remote_deletion_retry_minutes=15)  # fmt: skip
    values.update(days)
    return Policy(recording=Recording(), retention=Retention(**values))


def test_the_digest_lists_the_doctors_requests_and_counts_them(db, cipher, tmp_path: Path):
    write_practice(tmp_path)
    practice = load_practice(tmp_path / "practices" / f"{DEMO_PRACTICE['id']}.yaml")
    martin, bernard = (next(d for d in practice.doctors if d.id == i)
                       for i in ("dr-martin", "dr-bernard"))  # fmt: skip
    catalogue = Catalogue.load(DEFAULT_FLOWS_DIR, "fr-FR")
    period = Period(NOW - timedelta(hours=1), NOW + timedelta(hours=1))
    with db.session() as session:
        left(session, cipher)
        mine = build(session, practice, martin, catalogue, period)
        not_mine = build(session, practice, bernard, catalogue, period)
    assert "DEMANDES" in mine.text and "Renouvellement d'ordonnance" in mine.text
    assert f"« {DETAIL} »" in mine.text and NAME in mine.text
    assert mine.counts["requests"] == 1 and "1 demande," in mine.text
    assert DETAIL not in not_mine.text and not_mine.counts["requests"] == 0


def test_statistics_count_requests_by_kind(db, cipher):
    with db.session() as session:
        left(session, cipher, kind="prescription")
        left(session, cipher, kind="certificate")
        left(session, cipher, kind="certificate", at=NOW - timedelta(days=10))
        stats = call_stats(session, "demo", NOW - timedelta(days=1), NOW + timedelta(days=1),
                           ZoneInfo("Europe/Paris"))  # fmt: skip
    assert stats.requests == {"prescription": 1, "results": 0, "certificate": 1}
    assert stats.outcomes.messages == 2  # the calls that left a request


def test_the_export_holds_the_request_and_erasure_removes_it_with_its_sms(db, cipher):
    with db.session() as session:
        request = left(session, cipher)
        desk.handle(session, request, desk.DONE, "u1", NOW)
        left(session, cipher, number="+33698765432")  # someone else's
    with db.session() as session:
        subject = gdpr.find_subject(session, cipher, NUMBER, practice_ids=["demo"], bits=BITS)
        exported = gdpr.export_subject(session, subject, actor="cli:test", now=NOW)
        [row] = exported["practices"]["demo"]["requests"]
        assert (row["kind"], row["detail"], row["status"]) == ("prescription", DETAIL, "done")
        assert row["callback_number"] == NUMBER
        report = gdpr.erase_subject(session, subject, actor="cli:test", now=NOW)
    assert report.requests == 1
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(PatientRequest)) == 1
        assert session.scalars(select(RequestSms)).all() == []


def test_requests_are_purged_at_the_end_of_their_own_retention(db, cipher):
    with db.session() as session:
        old = left(session, cipher, at=NOW - timedelta(days=31))
        desk.handle(session, old, desk.DONE, "u1", NOW - timedelta(days=30))
        kept = left(session, cipher, at=NOW - timedelta(days=29)).id
    rules = policy(requests=30, messages=400, calls=400)
    with db.session() as session:
        assert purge(session, rules, NOW, dry_run=True).requests == 1
        assert purge(session, rules, NOW).requests == 1
    with db.session() as session:
        assert session.scalars(select(PatientRequest.id)).all() == [kept]
        assert session.scalars(select(RequestSms)).all() == []
        # The patient of a live request stays; the other one, unseen and with nothing left, too
        # (the calls period is longer): only the request went.
        assert session.scalar(select(func.count()).select_from(Patient)) == 2
        assert purge(session, rules, NOW).requests == 0  # a second run finds nothing


def test_without_their_own_duration_requests_live_as_long_as_messages(db, cipher):
    rules = policy(messages=10)
    assert rules.retention.requests_days == 10
    with db.session() as session:
        left(session, cipher, at=NOW - timedelta(days=11))
        assert purge(session, rules, NOW).requests == 1


@pytest.mark.parametrize("value", [-1, "ninety", True])
def test_a_wrong_requests_duration_stops_start_up(value: object) -> None:
    from callcenter.config.policy import PolicyError, parse_policy
    from tests.config.test_policy import shipped

    data = shipped()
    data["retention_days"]["requests"] = value
    with pytest.raises(PolicyError, match=r"retention_days\.requests"):
        parse_policy(data)
