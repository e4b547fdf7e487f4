"""GDPR export and erasure by phone number (docs/security/rights.md).

Two practices, a family sharing one number, and a number that collides with
it on an 8-bit blind index: the collision must be filtered out by decryption,
and nothing of practice A must surface when searching practice B.
Runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.appointments.models import Appointment
from callcenter.audit import trail as audit
from callcenter.audit.models import AuditEntry
from callcenter.calls.models import Call, CallStep
from callcenter.messages.models import Message
from callcenter.notify.models import FAILED, PENDING, SENT, OutboxMail, RemoteDeletion
from callcenter.patients.models import Patient
from callcenter.rights import gdpr
from callcenter.security.crypto import DecryptionError, FieldCipher
from callcenter.storage.db import Database

BITS = 8
A, B = "cabinet-a", "cabinet-b"
NUMBER = "+33612345678"
OTHER = "+33698765432"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=30)
ACTOR = "admin-1"
SEEN = {"created_at": T0, "last_seen_at": T0 + timedelta(days=1)}


def sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def colliding_number(cipher: FieldCipher, practice: str) -> str:
    """A different valid mobile number with the same 8-bit index as NUMBER in ``practice``."""

    def index(number: str) -> int | None:
        return cipher.phone_index(number, practice=practice, bits=BITS)

    numbers = (f"+3361{n:07d}" for n in range(100_000))  # ~256 tries expected
    return next(n for n in numbers if n != NUMBER and index(n) == index(NUMBER))


@dataclass
class World:
    """What was stored for NUMBER: ids by table in A and in B, Twilio SIDs in A."""

    collision: str
    subject: dict[str, set[str]] = field(default_factory=dict)
    subject_b: dict[str, set[str]] = field(default_factory=dict)
    recordings: set[str] = field(default_factory=set)
    call_sids: set[str] = field(default_factory=set)


class Builder:
    def __init__(self, session: Session, cipher: FieldCipher) -> None:
        self.session, self.cipher = session, cipher
        self.calls = 0

    def index(self, number: str, practice: str) -> int | None:
        return self.cipher.phone_index(number, practice=practice, bits=BITS)

    def patient(self, practice: str, number: str, name: str, born: str) -> Patient:
        row = Patient(practice_id=practice, phone=number, name=name, birth_date=born, **SEEN)
        row.phone_index = self.index(number, practice)
        self.session.add(row)
        return row

    def call(
        self, practice: str, number: str | None, patient: Patient | None, steps: int, **kw: object
    ) -> Call:
        self.calls += 1
        started = T0 + timedelta(hours=self.calls)
        row = Call(
            practice_id=practice, call_sid=sid("CA"), started_at=started, flow="main", node="menu",
            seq=steps, state=kw.pop("state", {}), patient_id=patient.id if patient else None,
            ended_at=started + timedelta(minutes=3), outcome="message", **kw,
        )  # fmt: skip
        if number is not None:
            row.caller = number
            row.caller_index = self.index(number, practice)
        self.session.add(row)
        step = {"practice_id": practice, "twiml": "<Response/>", "created_at": T0}
        self.session.add_all(CallStep(call=row, seq=n, node=f"n{n}", **step) for n in range(steps))
        return row

    def message(
        self, practice: str, callback: str | None, text: str, *, patient: Patient | None = None,
        call: Call | None = None
    ) -> Message:  # fmt: skip
        row = Message(
            practice_id=practice, call_id=call.id if call else None, transcript=text,
            patient_id=patient.id if patient else None, callback_number=callback,
            callback_index=self.index(callback, practice) if callback else None,
            callback_requested=callback is not None, recording_sid=sid("RE"),
            recording_duration=12, created_at=T0,
        )  # fmt: skip
        self.session.add(row)
        return row

    def appointment(self, practice: str, patient: Patient) -> Appointment:
        starts = T0 + timedelta(days=3)
        row = Appointment(
            practice_id=practice, doctor_id="dr-martin", patient_id=patient.id, starts_at=starts,
            ends_at=starts + timedelta(minutes=20), created_at=T0,
        )  # fmt: skip
        self.session.add(row)
        return row


def build(session: Session, cipher: FieldCipher) -> World:
    b = Builder(session, cipher)
    world = World(collision=colliding_number(cipher, A))
    # Practice A: a family on NUMBER, a neighbour whose number collides, someone else.
    mother = b.patient(A, NUMBER, "Alice Dupont", "1980-05-17")
    child = b.patient(A, "06 12 34 56 78", "Léo Dupont", "2012-01-09")
    neighbour = b.patient(A, world.collision, "Zoé Collision", "1975-11-30")
    stranger = b.patient(A, OTHER, "Paul Autre", "1990-02-02")
    session.flush()  # no ORM relationship orders patients before the rows pointing at them
    recording_leg = sid("RE")
    call1 = b.call(A, NUMBER, mother, 3, state={"legs": [{"recording": recording_leg}]})
    call2 = b.call(A, None, child, 1)  # withheld number, identified by date of birth
    call3 = b.call(A, world.collision, neighbour, 2)
    call4 = b.call(A, OTHER, stranger, 2)
    call5 = b.call(A, NUMBER, None, 1, urgent=True)  # unidentified call from the number
    session.flush()
    m1 = b.message(A, NUMBER, "Rappelez-moi pour Léo", patient=mother, call=call1)
    m2 = b.message(A, None, "Message de Léo", patient=child)
    m3 = b.message(A, OTHER, "Laissé depuis le téléphone familial", call=call5)
    b.message(A, world.collision, "Message de la voisine", patient=neighbour, call=call3)
    b.message(A, OTHER, "Message de Paul", patient=stranger, call=call4)
    m6 = b.message(A, NUMBER, "Rappel sans dossier")
    a1, a2 = b.appointment(A, mother), b.appointment(A, child)
    b.appointment(A, neighbour)
    b.appointment(A, stranger)
    # Practice B: the same number, encrypted and indexed for B.
    mother_b = b.patient(B, NUMBER, "Alice Dupont", "1980-05-17")
    session.flush()
    call_b = b.call(B, NUMBER, mother_b, 2)
    session.flush()
    m_b = b.message(B, NUMBER, "Message au cabinet B", patient=mother_b, call=call_b)
    a_b = b.appointment(B, mother_b)
    # A Twilio deletion already queued (by the retention purge): not queued twice.
    session.add(RemoteDeletion(practice_id=A, kind="recording", sid=m1.recording_sid, due_at=T0))
    session.flush()
    world.subject = {
        "patients": {mother.id, child.id},
        "calls": {call1.id, call2.id, call5.id},
        "messages": {m1.id, m2.id, m3.id, m6.id},
        "appointments": {a1.id, a2.id},
    }
    world.subject_b = dict(
        patients={mother_b.id}, calls={call_b.id}, messages={m_b.id}, appointments={a_b.id}
    )
    world.recordings = {m.recording_sid or "" for m in (m1, m2, m3, m6)} | {recording_leg}
    world.call_sids = {call1.call_sid, call2.call_sid, call5.call_sid}
    return world


# Every test here encrypts or decrypts: a fresh cipher is bound for each (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("cipher")


@pytest.fixture
def world(db: Database, cipher: FieldCipher) -> World:
    with db.session() as session:
        return build(session, cipher)


def find(session: Session, cipher: FieldCipher, phone: str, *practices: str) -> gdpr.Subject:
    return gdpr.find_subject(
        session, cipher, phone, practice_ids=list(practices or (A, B)), bits=BITS
    )


def ids(rows: list[dict[str, object]]) -> set[object]:
    return {row["id"] for row in rows}


TABLES: dict[str, Any] = {
    "patients": Patient, "calls": Call, "messages": Message, "appointments": Appointment,
    "call_steps": CallStep,
}  # fmt: skip


def all_ids(session: Session) -> dict[str, set[str]]:
    return {name: set(session.scalars(select(model.id))) for name, model in TABLES.items()}


def audit_rows(session: Session, action: str) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
    return list(session.scalars(query))


def assert_no_number(entries: list[AuditEntry], patient_ids: set[str]) -> None:
    """Counts in the details, a patient id (or "subject") as reference: no trace of the number."""
    for entry in entries:
        assert entry.object_ref in patient_ids | {"subject"}
        assert all(isinstance(v, int) for v in json.loads(entry.details or "").values())
        for part in ("612345678", "0612", "3361", "5678", "12 34", "+33"):
            assert part not in (entry.details or "")


def test_export_returns_exactly_the_subjects_rows(
    db: Database, cipher: FieldCipher, world: World
) -> None:
    # The neighbour's number is a candidate by index: filtering it out is the code's job.
    assert cipher.phone_index(world.collision, practice=A, bits=BITS) == (
        cipher.phone_index(NUMBER, practice=A, bits=BITS)
    )
    with db.session() as session:
        subject = find(session, cipher, NUMBER)
        result = gdpr.export_subject(session, subject, actor=ACTOR, now=NOW)
    result = json.loads(json.dumps(result))  # JSON-serialisable as is
    assert result["generated_at"] == NOW.isoformat()
    assert set(result["about"]) == {"fr", "en"}
    assert set(result["practices"]) == {A, B}
    a, b = result["practices"][A], result["practices"][B]
    for table in ("patients", "calls", "messages", "appointments"):
        assert ids(a[table]) == world.subject[table], table
        assert ids(b[table]) == world.subject_b[table], table
    names = {p["name"]: p for p in a["patients"]}
    assert set(names) == {"Alice Dupont", "Léo Dupont"}
    assert names["Alice Dupont"]["phone"] == NUMBER
    assert names["Léo Dupont"]["birth_date"] == "2012-01-09"
    assert names["Alice Dupont"]["created_at"] == T0.isoformat()
    assert {m["transcript"] for m in a["messages"]} == {
        "Rappelez-moi pour Léo", "Message de Léo", "Laissé depuis le téléphone familial",
        "Rappel sans dossier",
    }  # fmt: skip
    assert {c["answers_stored"] for c in a["calls"]} == {3, 1}
    assert sum(c["answers_stored"] for c in a["calls"]) == 5
    assert {c["caller"] for c in a["calls"]} == {NUMBER, None}
    assert b["messages"][0]["transcript"] == "Message au cabinet B"
    assert a["appointments"][0]["doctor_id"] == "dr-martin"
    assert "Zoé Collision" not in json.dumps(result, ensure_ascii=False)
    assert world.collision not in json.dumps(result)

    with db.session() as session:
        entries = audit_rows(session, gdpr.EXPORT_ACTION)
        assert [(e.practice_id, e.actor) for e in entries] == [(A, ACTOR), (B, ACTOR)]
        counts = {"patients": 2, "calls": 3, "messages": 4, "appointments": 2, "requests": 0,
                  "sms_opt_outs": 0, "waiting_list": 0}  # fmt: skip
        assert json.loads(entries[0].details or "") == counts
        assert entries[0].object_ref in world.subject["patients"]
        assert_no_number(entries, world.subject["patients"] | world.subject_b["patients"])
        assert audit.verify(session).ok


@pytest.mark.parametrize(
    "spelling", ["06 12 34 56 78", "0612345678", "+33 6 12 34 56 78", "0033612345678"]
)
def test_other_formats_find_the_same_rows(
    db: Database, cipher: FieldCipher, world: World, spelling: str
) -> None:
    with db.session() as session:
        canonical = find(session, cipher, NUMBER)
        other = find(session, cipher, spelling)
        for practice in (A, B):
            assert other.practices[practice].counts() == canonical.practices[practice].counts()
            mine, theirs = other.practices[practice], canonical.practices[practice]
            assert {p.id for p in mine.patients} == {p.id for p in theirs.patients}
            assert {m.id for m in mine.messages} == {m.id for m in theirs.messages}


def test_erase_removes_exactly_the_subjects_rows(
    db: Database, cipher: FieldCipher, world: World
) -> None:
    with db.session() as session:
        before = all_ids(session)
        calls = world.subject["calls"] | world.subject_b["calls"]
        steps = set(session.scalars(select(CallStep.id).where(CallStep.call_id.in_(calls))))
        report = gdpr.erase_subject(session, find(session, cipher, NUMBER), actor=ACTOR, now=NOW)

    # Remote deletions: in A 4 recordings + 1 found in call state + 3 calls, minus the one
    # already queued; in B 1 recording + 1 call.
    counts = {"patients": 3, "calls": 4, "call_steps": 7, "messages": 5, "appointments": 3}
    assert report.as_dict() == {
        **counts,
        "requests": 0,
        "waiting_list": 0,
        "remote_deletions": 9,
        "mails": 0,
    }
    assert report.by_practice[B]["patients"] == 1
    with db.session() as session:
        after = all_ids(session)
        for table in ("patients", "calls", "messages", "appointments"):
            gone = world.subject[table] | world.subject_b[table]
            assert after[table] == before[table] - gone, table
        assert after["call_steps"] == before["call_steps"] - steps
        # What is left still decrypts, the neighbour whose index collides included.
        left = {p.name: p.phone for p in session.scalars(select(Patient))}
        assert left == {"Zoé Collision": world.collision, "Paul Autre": OTHER}
        transcripts = {m.transcript for m in session.scalars(select(Message))}
        assert transcripts == {"Message de la voisine", "Message de Paul"}
        assert {c.caller for c in session.scalars(select(Call))} == {world.collision, OTHER}
        assert all(s.twiml == "<Response/>" for s in session.scalars(select(CallStep)))

        queued = {(r.kind, r.sid) for r in session.scalars(select(RemoteDeletion))}
        assert {("recording", s) for s in world.recordings} <= queued
        assert {("call", s) for s in world.call_sids} <= queued
        assert len(queued) == 10  # the 9 new ones and the one queued before
        entries = audit_rows(session, gdpr.ERASE_ACTION)
        assert [e.practice_id for e in entries] == [A, B]
        assert json.loads(entries[1].details or "")["messages"] == 1
        assert_no_number(entries, world.subject["patients"] | world.subject_b["patients"])
        assert audit.verify(session).ok
        assert not find(session, cipher, NUMBER).found


def test_unknown_number_exports_and_erases_nothing(
    db: Database, cipher: FieldCipher, world: World
) -> None:
    with db.session() as session:
        before = all_ids(session)
        subject = find(session, cipher, "+33611223344")
        assert not subject.found
        exported = gdpr.export_subject(session, subject, actor=ACTOR, now=NOW)
        report = gdpr.erase_subject(session, subject, actor=ACTOR, now=NOW)
    assert exported["practices"] == {}
    assert set(report.as_dict().values()) == {0}
    with db.session() as session:
        assert all_ids(session) == before
        for action in (gdpr.EXPORT_ACTION, gdpr.ERASE_ACTION):
            entries = audit_rows(session, action)
            refs = [(e.practice_id, e.object_ref) for e in entries]
            assert refs == [(A, "subject"), (B, "subject")]
            assert set(json.loads(entries[0].details or "").values()) == {0}


@pytest.mark.parametrize("phone", ["", "12", "anonymous", "+33 1", "not a number", "+" + "9" * 50])
def test_invalid_number_raises(db: Database, cipher: FieldCipher, phone: str) -> None:
    with db.session() as session, pytest.raises(ValueError, match="not a valid phone number"):
        find(session, cipher, phone)


def test_practice_b_search_never_reaches_practice_a(
    db: Database, cipher: FieldCipher, world: World
) -> None:
    with db.session() as session:
        only_b = find(session, cipher, NUMBER, B)
        assert list(only_b.practices) == [B]
        assert {p.id for p in only_b.practices[B].patients} == world.subject_b["patients"]
        # Even a row of A carrying B's index value stays out: lookups are per practice.
        stray = Builder(session, cipher).patient(A, NUMBER, "Alice Dupont", "1980-05-17")
        stray.phone_index = cipher.phone_index(NUMBER, practice=B, bits=BITS)
        session.flush()
        again = find(session, cipher, NUMBER, B)
        assert stray.id not in {p.id for p in again.practices[B].patients}
        report = gdpr.erase_subject(session, again, actor=ACTOR, now=NOW)
        assert report.patients == 1
        assert session.get(Patient, stray.id) is not None
    with db.session() as session:
        assert world.subject["patients"] <= all_ids(session)["patients"]
        assert [e.practice_id for e in audit_rows(session, gdpr.ERASE_ACTION)] == [B]


def test_rows_indexed_under_an_older_key_are_found(
    db: Database, cipher: FieldCipher, world: World
) -> None:
    """During a rotation rows still carry the old key's index: lookups try every key."""
    cipher.keyring.rotate()
    with db.session() as session:
        newer = Builder(session, cipher).patient(A, NUMBER, "Nina Dupont", "2015-06-06")
        session.flush()
        subject = find(session, cipher, NUMBER, A)
        found = {p.id for p in subject.practices[A].patients}
        assert found == world.subject["patients"] | {newer.id}


def test_unreadable_candidate_is_an_error_not_a_skip(
    db: Database, cipher: FieldCipher, world: World
) -> None:
    """A candidate that does not decrypt might be the subject's: erasure must not skip it."""
    with db.session() as session:
        rows = {p.name: p for p in session.scalars(select(Patient).where(Patient.practice_id == A))}
        # The neighbour's row (same index) now holds a ciphertext moved from another row.
        rows["Zoé Collision"].phone_ct = rows["Paul Autre"].phone_ct
        session.flush()
        with pytest.raises(DecryptionError):
            find(session, cipher, NUMBER, A)
        session.rollback()


def outbox_mail(practice: str, status: str, kind: str = "digest") -> OutboxMail:
    mail = OutboxMail(id=secrets.token_hex(16), practice_id=practice, doctor_id="dr-martin",
                      kind=kind, ref=secrets.token_hex(8), status=status, due_at=T0,
                      created_at=T0)  # fmt: skip
    mail.body = None if status == SENT else "sealed digest: Alice Dupont, Rappelez-moi pour Léo"
    return mail


def test_erase_drops_the_unsent_mail_of_the_practices_the_subject_was_in(
    db: Database, cipher: FieldCipher, world: World
) -> None:
    """A digest waiting for SMTP may name the subject: it goes (rebuilt from what is left)."""
    with db.session() as session:
        mails = {
            "pending_a": outbox_mail(A, PENDING), "urgent_a": outbox_mail(A, PENDING, "urgent"),
            "failed_a": outbox_mail(A, FAILED), "sent_a": outbox_mail(A, SENT),
            "pending_b": outbox_mail(B, PENDING), "elsewhere": outbox_mail("c", PENDING),
        }  # fmt: skip
        session.add_all(mails.values())
        ids_of = {name: mail.id for name, mail in mails.items()}
    with db.session() as session:
        report = gdpr.erase_subject(session, find(session, cipher, NUMBER), actor=ACTOR, now=NOW)
    assert (report.mails, report.by_practice[A]["mails"], report.by_practice[B]["mails"]) == (
        4,
        3,
        1,
    )
    with db.session() as session:
        left = {m.id: m for m in session.scalars(select(OutboxMail))}
        assert set(left) == {ids_of["failed_a"], ids_of["sent_a"], ids_of["elsewhere"]}
        assert left[ids_of["failed_a"]].body is None  # given up: kept as a status, emptied
        assert left[ids_of["elsewhere"]].body is not None
        [entry, _] = audit_rows(session, gdpr.ERASE_ACTION)
        assert json.loads(entry.details or "")["mails"] == 3


def test_a_stop_is_exported_and_outlives_the_erasure(db: Database, cipher: FieldCipher) -> None:
    """The subject's own choice, holding only their number: erasing it would restart SMS."""
    from callcenter.notify import optout

    neighbour = colliding_number(cipher, A)
    with db.session() as session:
        assert optout.opt_out(session, cipher, A, NUMBER, BITS, T0)
        assert optout.opt_out(session, cipher, A, neighbour, BITS, T0)
    with db.session() as session:
        exported = gdpr.export_subject(session, find(session, cipher, NUMBER), actor=ACTOR,
                                       now=NOW)  # fmt: skip
        assert exported["practices"][A]["sms_opt_outs"] == [
            {"phone": NUMBER, "created_at": T0.isoformat()}
        ]
        gdpr.erase_subject(session, find(session, cipher, NUMBER), actor=ACTOR, now=NOW)
    with db.session() as session:
        assert optout.is_opted_out(session, cipher, A, NUMBER, BITS)
        assert optout.is_opted_out(session, cipher, A, neighbour, BITS)
