"""Retention with a frozen clock, here and at Twilio (docs/security/retention.md).

Twilio is the local fake of ``tests/fake_twilio.py``; the database is SQLite,
and PostgreSQL too when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from twilio.rest import Client

from callcenter.appointments.models import Appointment
from callcenter.audit import trail as audit
from callcenter.audit.models import AuditEntry
from callcenter.calls.models import Call, CallStep
from callcenter.config.policy import Policy, Recording, Retention
from callcenter.core.twilio_rest import close_client, make_client
from callcenter.messages.models import Message
from callcenter.notify.deletions import DeletionReport, process_remote_deletions
from callcenter.notify.models import RemoteDeletion
from callcenter.patients.models import Patient
from callcenter.retention.purge import PurgeReport, expired
from callcenter.retention.purge import purge as purge_with
from callcenter.storage.db import Database
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.notify.test_deletions import path, queued, sid, together

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
PRACTICE = "p1"
CANARY = "Zoé Canary-Martin"
PERSONAL = (Patient, Call, CallStep, Message, Appointment)


def policy(**days: int) -> Policy:
    values = dict(recordings=1, transcripts=30, messages=90, calls=180, appointments_after=365)
    values.update(audit=200, remote_deletion_retry_minutes=15)
    values.update(days)
    return Policy(
        recording=Recording(messages=True, messages_purpose="x"), retention=Retention(**values)
    )


SIGNING_KEY = Ed25519PrivateKey.generate()
_SIGNERS: list[audit.Signer] = []


@pytest.fixture(autouse=True)
def signer(tmp_path: Path) -> Iterator[audit.Signer]:
    """A purge signs its audit anchor with the key ring's key, beside the checkpoints."""
    _SIGNERS.append(audit.Signer(tmp_path / "checkpoints.jsonl", SIGNING_KEY))
    yield _SIGNERS[-1]
    _SIGNERS.pop()


def purge(*args: Any, **kwargs: Any) -> PurgeReport:
    """The purge as the worker runs it: with the audit signer."""
    return purge_with(*args, signer=_SIGNERS[-1], **kwargs)


ZERO = policy(recordings=0, transcripts=0, messages=0, calls=0, appointments_after=0, audit=180)


# Every test here encrypts or decrypts: a fresh cipher is bound for each (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("cipher")


@pytest.fixture
def client(fake_twilio: FakeTwilio) -> Iterator[Client]:
    twilio = make_client(ACCOUNT_SID, AUTH_TOKEN, api_base=fake_twilio.base_url)
    yield twilio
    close_client(twilio)


class Rows:
    """Builds rows with chosen timestamps; ids are kept to check what survived."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: Any) -> Any:
        self.session.add(row)
        self.session.flush()
        return row

    def patient(self, last_seen: datetime) -> Patient:
        personal = {"name": CANARY, "phone": "+33612345678", "birth_date": "1980-02-29"}
        times = {"created_at": last_seen, "last_seen_at": last_seen}
        return self.add(Patient(practice_id=PRACTICE, **personal, **times))

    def call(self, n: int, started: datetime, *, ended: bool = True, **kw: Any) -> Call:
        kw.update(flow="main", node="menu", caller="+33612345678", started_at=started)
        kw["ended_at"] = started + SECOND if ended else None
        call = self.add(Call(practice_id=PRACTICE, call_sid=sid("CA", n), **kw))
        for seq in (1, 2):
            self.add(CallStep(practice_id=PRACTICE, call_id=call.id, seq=seq, node="menu",
                              twiml=f"<Say>{CANARY}</Say>", created_at=started))  # fmt: skip
        return call

    def message(self, created: datetime, recording: int | None = None, **kw: Any) -> Message:
        return self.add(
            Message(practice_id=PRACTICE, transcript=f"Ici {CANARY}", created_at=created,
                    recording_sid=sid("RE", recording) if recording else None, **kw)
        )  # fmt: skip

    def appointment(self, ends: datetime, **kw: Any) -> Appointment:
        kw.update(starts_at=ends - timedelta(minutes=20), created_at=ends - timedelta(days=400))
        return self.add(Appointment(practice_id=PRACTICE, doctor_id="d1", ends_at=ends, **kw))


def ids(session: Session, model: Any) -> set[str]:
    return set(session.execute(select(model.id)).scalars())


def boundary_rows(db: Database) -> dict[str, Any]:
    """One row exactly at each cutoff (goes) and one a second younger (stays), per kind."""
    cut = expired(policy(), NOW)
    with db.session() as s:
        rows = Rows(s)
        r: dict[str, Any] = {}
        r["p_gone"] = rows.patient(cut["patients"])
        r["p_recent"] = rows.patient(cut["patients"] + SECOND)
        r["p_booked"] = rows.patient(cut["patients"] - SECOND)
        r["p_old_call"] = rows.patient(cut["patients"])
        r["p_kept_msg"] = rows.patient(cut["patients"])
        r["m_gone"] = rows.message(cut["messages"], recording=1)
        r["m_kept"] = rows.message(cut["messages"] + SECOND, patient_id=r["p_kept_msg"].id)
        r["m_blank"] = rows.message(cut["transcripts"])
        r["m_text"] = rows.message(cut["transcripts"] + SECOND)
        r["m_rec_due"] = rows.message(cut["recordings"], recording=2)
        r["m_rec_fresh"] = rows.message(cut["recordings"] + SECOND, recording=3)
        r["c_gone"] = rows.call(1, cut["calls"], state={"dial": sid("CA", 2)},
                                patient_id=r["p_old_call"].id)  # fmt: skip
        r["c_kept"] = rows.call(3, cut["calls"] + SECOND)
        r["a_gone"] = rows.appointment(cut["appointments"], patient_id=r["p_gone"].id)
        r["a_kept"] = rows.appointment(cut["appointments"] + SECOND, patient_id=r["p_booked"].id)
        for ts in (cut["audit"] - timedelta(days=1), cut["audit"], cut["audit"] + SECOND):
            audit.append(s, actor="cli:admin", action="data.read", object_ref="x", now=ts)
        return {name: row.id for name, row in r.items()}


EXPECTED = PurgeReport(
    messages=1, transcripts=2, calls=1, call_steps=2, appointments=1, patients=2,
    remote_deletions=4, audit=2,
)  # fmt: skip


def test_expired_gives_one_cutoff_per_kind() -> None:
    cut = expired(policy(), NOW)
    assert cut["recordings"] == NOW - timedelta(days=1)
    assert cut["messages"] == NOW - timedelta(days=90)
    assert cut["appointments"] == NOW - timedelta(days=365)
    assert cut["patients"] == cut["calls"] == NOW - timedelta(days=180)
    with pytest.raises(ValueError, match="timezone-aware"):
        expired(policy(), NOW.replace(tzinfo=None))


def test_purge_removes_exactly_the_expired_rows(db: Database) -> None:
    """Rows at the cutoff go, rows a second younger stay; SIDs are queued, due now."""
    r = boundary_rows(db)
    with db.session() as s:
        report = purge(s, policy(), NOW)
    assert report == EXPECTED
    with db.session() as s:
        assert ids(s, Message) == {r[k] for k in ("m_kept", "m_blank", "m_text", "m_rec_due",
                                                  "m_rec_fresh")}  # fmt: skip
        assert ids(s, Call) == {r["c_kept"]}
        assert {st.call_id for st in s.execute(select(CallStep)).scalars()} == {r["c_kept"]}
        assert ids(s, Appointment) == {r["a_kept"]}
        assert ids(s, Patient) == {r["p_recent"], r["p_booked"], r["p_kept_msg"]}
        transcripts = {m.id: m.transcript for m in s.execute(select(Message)).scalars()}
        assert transcripts[r["m_kept"]] is None and transcripts[r["m_blank"]] is None
        assert transcripts[r["m_text"]] == transcripts[r["m_rec_due"]] == f"Ici {CANARY}"
        jobs = queued(s)
        assert set(jobs) == {sid("RE", 1), sid("RE", 2), sid("CA", 1), sid("CA", 2)}
        assert {(j.due_at, j.done_at, j.kind[:2].upper()) for j in jobs.values()} == {
            (NOW, None, "RE"), (NOW, None, "CA")
        }  # fmt: skip
        assert audit.verify(s).ok
        runs = s.execute(select(AuditEntry).where(AuditEntry.action == "purge.run")).scalars()
        (run,) = list(runs)
        assert run.actor == "system:purge" and CANARY not in (run.details or "")
        assert '"messages":1' in (run.details or "")


def test_purge_never_commits(db: Database) -> None:
    boundary_rows(db)
    with db.session() as s:
        purge(s, policy(), NOW)
        s.rollback()
        assert len(ids(s, Message)) == 6 and not queued(s)


def test_an_open_call_is_kept_until_it_is_a_day_old(db: Database) -> None:
    """A live call's state is never deleted; one whose end was never reported goes after 24 h."""
    with db.session() as s:
        live = Rows(s).call(1, NOW - timedelta(hours=1), ended=False).id
        Rows(s).call(2, NOW - timedelta(hours=25), ended=False)
        Rows(s).call(3, NOW - timedelta(hours=1))
    with db.session() as s:
        assert purge(s, ZERO, NOW).calls == 2
    with db.session() as s:
        assert ids(s, Call) == {live}


def zero_day_rows(db: Database) -> set[str]:
    """Everything a few journeys leave behind; returns every Twilio SID involved."""
    with db.session() as s:
        rows = Rows(s)
        for n in (1, 2):
            patient = rows.patient(NOW - timedelta(minutes=n))
            state = {"transfer": {"legs": [sid("CA", 10 + n)]}, "recording": sid("RE", 10 + n)}
            call = rows.call(n, NOW - timedelta(minutes=10), state=state, patient_id=patient.id)
            rows.message(NOW - timedelta(minutes=5), recording=n, patient_id=patient.id,
                         call_id=call.id, callback_number="+33612345678")  # fmt: skip
            rows.appointment(NOW - timedelta(minutes=1), patient_id=patient.id)
        rows.message(NOW - timedelta(minutes=5), recording=3)
    return {sid(p, n) for p in ("CA", "RE") for n in (1, 2, 11, 12)} | {sid("RE", 3)}


def test_a_zero_day_policy_leaves_nothing_personal_here_or_at_twilio(
    db: Database, client: Client, fake_twilio: FakeTwilio
) -> None:
    sids = zero_day_rows(db)
    with db.session() as s:
        report = purge(s, ZERO, NOW)
        assert report.remote_deletions == len(sids) == 9
    with db.session() as s:
        assert process_remote_deletions(s, client, NOW, retry_minutes=15).deleted == 9
    with db.session() as s:
        for model in PERSONAL:
            assert s.execute(select(func.count()).select_from(model)).scalar_one() == 0
        assert all(job.done_at == NOW for job in queued(s).values())
    deletes = fake_twilio.deletes()
    assert sorted(r.path for r in deletes) == sorted(path(x) for x in sids)
    assert all(r.user == ACCOUNT_SID and r.authenticated for r in deletes)


def test_running_purge_and_deletions_twice_is_a_no_op(
    db: Database, client: Client, fake_twilio: FakeTwilio
) -> None:
    zero_day_rows(db)
    reports: list[Any] = []
    for _ in range(2):
        with db.session() as s:
            reports.append(purge(s, ZERO, NOW))
        with db.session() as s:
            reports.append(process_remote_deletions(s, client, NOW, retry_minutes=15))
    assert reports[1] == DeletionReport(deleted=9)
    assert reports[2:] == [PurgeReport(), DeletionReport()]
    assert len(fake_twilio.requests) == 9


def snapshot(db: Database) -> dict[str, Any]:
    with db.session() as s:
        rows: dict[str, Any] = {m.__name__: sorted(ids(s, m)) for m in (*PERSONAL, RemoteDeletion)}
        rows["transcripts"] = sorted(
            m.transcript or "" for m in s.execute(select(Message)).scalars()
        )
        rows["audit"] = s.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
        return rows


def test_a_dry_run_counts_what_a_real_run_deletes_and_changes_nothing(db: Database) -> None:
    boundary_rows(db)
    before = snapshot(db)
    with db.session() as s:
        dry = purge(s, policy(), NOW, dry_run=True)
    assert snapshot(db) == before
    with db.session() as s:
        real = purge(s, policy(), NOW)
    assert dry.dry_run and dry.counts() == real.counts() == EXPECTED.counts()


def test_two_purges_at_once_delete_and_queue_everything_once(db: Database) -> None:
    boundary_rows(db)
    start, reports = threading.Barrier(2), []

    def worker() -> None:
        start.wait()
        with db.session() as s:
            reports.append(purge(s, policy(), NOW))

    together(worker)
    assert len(reports) == 2
    for field in ("messages", "calls", "appointments", "patients", "remote_deletions", "audit"):
        assert sum(getattr(r, field) for r in reports) == getattr(EXPECTED, field)
    with db.session() as s:
        assert len(queued(s)) == 4 and audit.verify(s).ok


def test_sent_or_failed_notices_go_with_the_calls_period_pending_ones_stay(db: Database) -> None:
    from callcenter.notify.models import Notice

    cut = NOW - timedelta(days=180)
    rows = {
        "sent_old": ("sent", cut),
        "failed_old": ("failed", cut),
        "pending_old": ("pending", cut),
        "sent_fresh": ("sent", cut + SECOND),
    }
    with db.session() as s:
        for ref, (status, due) in rows.items():
            s.add(Notice(id=ref, practice_id=PRACTICE, kind="urgent-call", doctor_id="dr",
                         reference=ref[:16], status=status, due_at=due))  # fmt: skip
    with db.session() as s:
        assert purge(s, policy(), NOW).notices == 2
    with db.session() as s:
        assert set(s.scalars(select(Notice.id))) == {"pending_old", "sent_fresh"}


def test_console_sessions_and_login_throttles_are_purged_once_done(db):
    from callcenter.accounts import accounts, throttle
    from callcenter.accounts.models import ConsoleSession, LoginThrottle

    with db.session() as session:
        user, _ = accounts.create_user(session, "lea", "secretary", [PRACTICE], now=NOW)
        old, recent = NOW - timedelta(days=181), NOW - timedelta(days=1)
        for token, start, ended in (("a", old, old), ("b", old, None), ("c", recent, recent)):
            times = {"created_at": start, "last_seen_at": start, "ended_at": ended}
            session.add(ConsoleSession(token_hash=token, user_id=user.id, stage="full", **times))
        limit = throttle.ACCOUNT_AT_ADDRESS
        throttle.attempt(session, "stale", limit, NOW - timedelta(days=2))
        throttle.attempt(session, "fresh", limit, NOW)
    with db.session() as session:
        report = purge(session, policy(calls=180), NOW)
    assert report.console_sessions == 2
    with db.session() as session:
        assert set(session.scalars(select(ConsoleSession.token_hash))) == {"c"}
        assert set(session.scalars(select(LoginThrottle.key_hash))) == {"fresh"}


def test_pending_mail_older_than_the_transcripts_expires_with_them(db: Database) -> None:
    """Without SMTP a digest waits forever: past the transcripts' period it goes all the same."""
    from callcenter.notify.models import OutboxMail

    cut = NOW - timedelta(days=30)  # the transcripts' period in policy()
    rows = {"pending_old": ("pending", cut), "pending_fresh": ("pending", cut + SECOND),
            "failed_old": ("failed", cut)}  # fmt: skip
    with db.session() as s:
        for ref, (status, created) in rows.items():
            mail = OutboxMail(id=ref, practice_id=PRACTICE, doctor_id="dr", kind="digest", ref=ref,
                              status=status, due_at=created, created_at=created)  # fmt: skip
            mail.body = f"sealed digest naming {CANARY}"
            s.add(mail)
    with db.session() as s:
        assert purge(s, policy(), NOW, dry_run=True).mails == 2
        assert purge(s, policy(), NOW).mails == 2
    with db.session() as s:
        assert set(s.scalars(select(OutboxMail.id))) == {"pending_fresh"}


def test_sms_reply_sids_go_once_twilio_can_no_longer_retry(db: Database) -> None:
    from callcenter.replies.models import RETENTION, SmsReply

    with db.session() as session:
        for sid, age in (("SMold", RETENTION), ("SMnew", RETENTION - timedelta(minutes=1))):
            session.add(SmsReply(message_sid=sid, practice_id=PRACTICE, keyword="STOP",
                                 outcome="opted-out", received_at=NOW - age))  # fmt: skip
    with db.session() as session:
        purge(session, policy(), NOW)
    with db.session() as session:
        assert list(session.scalars(select(SmsReply.message_sid))) == ["SMnew"]
