"""The audit hash chain, checkpoints and retention (docs/security/audit.md).

Tampering uses plain SQL, as anyone with write access to the database could.
Tests run on SQLite, and also on PostgreSQL when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import create_engine, delete, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from callcenter.audit import trail as audit
from callcenter.audit.models import AuditAnchor, AuditEntry, AuditHead
from callcenter.audit.trail import AuditError, VerifyResult
from callcenter.storage.db import Base, Database

PG_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS: list[Any] = ["sqlite"]
if PG_URL:
    BACKENDS.append(pytest.param("postgresql", marks=pytest.mark.postgres))
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
KEY = Ed25519PrivateKey.generate()


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database holding only the audit tables."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path}/a.db")
        Base.metadata.create_all(database.engine, tables=audit.TABLES)
        yield database
        database.dispose()
        return
    schema, admin = f"audit_{secrets.token_hex(6)}", create_engine(str(PG_URL))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    # Query parameters reach psycopg as connect_args, and survive the trip to a subprocess.
    url = make_url(str(PG_URL)).update_query_dict({"options": f"-csearch_path={schema}"})
    database = Database(url.render_as_string(hide_password=False))
    try:
        Base.metadata.create_all(database.engine, tables=audit.TABLES)
        yield database
    finally:
        database.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def cp(tmp_path: Path) -> Path:
    """Where checkpoints go: a file outside the database."""
    return tmp_path / "checkpoints.jsonl"


def record(session: Session, i: int, actor: str = "cli:admin") -> AuditEntry:
    """An ordinary entry: a read of pseudonymous patient ``i``."""
    return audit.append(
        session,
        actor=actor,
        action="data.read",
        practice_id="p1",
        object_ref=f"patient:{i}",
        details={"rows": i},
        now=T0 + timedelta(minutes=i),
    )


def fill(db: Database, count: int = 6) -> list[str]:
    """Append ``count`` entries and return their hashes, seq 1 first."""
    with db.session() as session:
        return [record(session, i).hash for i in range(count)]


def run_verify(db: Database, checkpoints: Path | None = None) -> VerifyResult:
    key = KEY.public_key() if checkpoints else None
    with db.session() as session:
        return audit.verify(session, checkpoint_path=checkpoints, verify_key=key)


def checkpoint(db: Database, path: Path) -> dict[str, Any]:
    with db.session() as session:
        return audit.write_checkpoint(session, path, KEY, T0 + timedelta(hours=1))


def tamper(db: Database, *statements: Any) -> None:
    with db.session() as session:
        for statement in statements:
            session.execute(statement)


def rewrite_chain(db: Database, seq: int, **changes: Any) -> None:
    """Edit one entry, then recompute every later hash and the head, as an insider could."""
    tamper(db, update(AuditEntry).where(at(seq)).values(changes))
    with db.session() as session:
        prev = None
        for row in session.scalars(select(AuditEntry).order_by(AuditEntry.seq)):
            row.prev_hash = prev or row.prev_hash
            row.hash = prev = audit.entry_hash(row)
        session.execute(update(AuditHead).values(hash=prev))


def at(seq: int) -> Any:
    return AuditEntry.seq == seq


def test_a_clean_chain_verifies(db: Database, cp: Path) -> None:
    """Untouched entries verify, with or without a checkpoint."""
    fill(db)
    checkpoint(db, cp)
    assert run_verify(db) == VerifyResult(True, 6, None, "6 entries verified")
    assert run_verify(db, cp).reason == "6 entries verified; checkpoint at seq 6 matches"


def test_an_empty_log_verifies(db: Database, cp: Path) -> None:
    """A log nobody wrote to yet is consistent, and its checkpoint is seq 0."""
    assert checkpoint(db, cp)["seq"] == 0
    assert run_verify(db, cp).ok


def test_each_entry_hashes_its_predecessor_and_its_canonical_fields(db: Database) -> None:
    """The hash is SHA-256(0x00 ‖ prev ‖ canonical JSON), with ts in UTC, from 64 zeros."""
    paris = timezone(timedelta(hours=1))
    with db.session() as session:
        first = audit.append(
            session,
            actor="user:0a1b",
            action="patient.export",
            practice_id="p1",
            object_ref="patient:9",
            details={"b": 2, "a": 1},
            now=T0.astimezone(paris),
        )
        second = audit.append(session, actor="system:purge", action="purge.run", now=T0)
    fields = {
        "seq": 1,
        "ts": "2025-03-01T09:00:00.000000+00:00",
        "actor": "user:0a1b",
        "action": "patient.export",
        "practice_id": "p1",
        "object_ref": "patient:9",
        "details": '{"a":1,"b":2}',
        "prev_hash": "0" * 64,
    }
    body = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
    assert first.hash == hashlib.sha256(b"\x00" + bytes(32) + body).hexdigest()
    assert (second.seq, second.prev_hash) == (2, first.hash)


def test_append_leaves_the_commit_to_the_caller(db: Database) -> None:
    """An append in a transaction that is rolled back leaves no entry and no head."""
    with Session(db.engine) as session:
        audit.append(session, actor="cli:admin", action="keys.rotate", now=T0)
        session.rollback()
    with db.session() as session:
        assert session.scalar(select(AuditEntry.seq)) is None
    assert run_verify(db).ok


@pytest.mark.parametrize(
    "changes",
    [
        {"actor": ""},
        {"actor": "Jean Dupont"},
        {"action": ""},
        {"object_ref": "+33612345678"},
        {"practice_id": "cabinet Dupont"},
        {"details": {"email": "jean.dupont@example.fr"}},
        {"details": {"note": "Jean Dupont"}},
        {"details": {"nested": {"a": 1}}},
        {"now": datetime(2025, 3, 1, 9, 0)},
    ],
)
def test_append_refuses_free_text_and_naive_times(db: Database, changes: dict[str, Any]) -> None:
    """Only id-like tokens and counts get in, and errors never echo the value."""
    kwargs: dict[str, Any] = {"actor": "cli:admin", "action": "data.read", "now": T0} | changes
    with db.session() as session, pytest.raises(ValueError) as caught:
        audit.append(session, **kwargs)
    assert "Dupont" not in str(caught.value) and "336" not in str(caught.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ts", T0 + timedelta(days=1)),
        ("actor", "cli:intruder"),
        ("action", "keys.rotate"),
        ("practice_id", "p2"),
        ("object_ref", None),
        ("details", '{"rows":99}'),
        ("prev_hash", "f" * 64),
        ("hash", "e" * 64),
        ("seq", 1000),
    ],
)
def test_editing_any_field_of_a_middle_row_names_that_row(
    db: Database, field: str, value: Any
) -> None:
    """Changing one column of entry 3 makes verification fail at seq 3."""
    fill(db)
    tamper(db, update(AuditEntry).where(at(3)).values({field: value}))
    result = run_verify(db)
    assert (result.ok, result.first_bad_seq, result.entries) == (False, 3, 2)


def test_deleting_a_middle_row_names_the_missing_seq(db: Database) -> None:
    """A gap in seq is reported at the first missing number."""
    fill(db)
    tamper(db, delete(AuditEntry).where(at(3)))
    assert run_verify(db).first_bad_seq == 3


def test_the_head_catches_a_row_added_or_dropped_at_the_tip(db: Database) -> None:
    """A well-formed entry added past the head, or the last entry deleted, is reported."""
    hashes = fill(db)
    forged = AuditEntry(seq=7, ts=T0, actor="cli:admin", action="data.read", prev_hash=hashes[5])
    forged.hash = audit.entry_hash(forged)
    with db.session() as session:
        session.add(forged)
    assert run_verify(db).first_bad_seq == 7
    tamper(db, delete(AuditEntry).where(AuditEntry.seq >= 6))
    assert run_verify(db).first_bad_seq == 6


def test_inserting_a_forged_row_names_the_first_row_after_it(db: Database) -> None:
    """A well-formed forged entry at 3, later rows shifted, breaks the link at 4."""
    hashes = fill(db)
    shift_out = update(AuditEntry).where(AuditEntry.seq >= 3).values(seq=-(AuditEntry.seq + 1))
    shift_back = update(AuditEntry).where(AuditEntry.seq < 0).values(seq=-AuditEntry.seq)
    tamper(db, shift_out, shift_back)
    forged = AuditEntry(seq=3, ts=T0, actor="cli:admin", action="data.read", prev_hash=hashes[1])
    forged.hash = audit.entry_hash(forged)
    with db.session() as session:
        session.add(forged)
        session.execute(update(AuditHead).values(seq=7))
    assert run_verify(db).first_bad_seq == 4


def test_swapping_two_rows_seq_names_the_lower_one(db: Database) -> None:
    """Reordering entries 3 and 4 breaks the chain at 3."""
    fill(db)
    tamper(
        db,
        update(AuditEntry).where(at(3)).values(seq=-1),
        update(AuditEntry).where(at(4)).values(seq=3),
        update(AuditEntry).where(at(-1)).values(seq=4),
    )
    assert run_verify(db).first_bad_seq == 3


def test_truncating_after_a_checkpoint_is_caught_only_by_the_checkpoint(
    db: Database, cp: Path
) -> None:
    """Dropping entries 5-6 and moving the head back fools the chain, not the signature."""
    hashes = fill(db)
    checkpoint(db, cp)
    tamper(
        db,
        delete(AuditEntry).where(AuditEntry.seq >= 5),
        update(AuditHead).values(seq=4, hash=hashes[3]),
    )
    assert run_verify(db).ok
    result = run_verify(db, cp)
    assert (result.ok, result.first_bad_seq) == (False, 5)
    assert "truncated" in result.reason


def test_a_consistent_rewrite_is_caught_only_by_the_checkpoint(db: Database, cp: Path) -> None:
    """A recomputed chain verifies alone; its entry at the checkpoint seq differs."""
    fill(db)
    checkpoint(db, cp)
    rewrite_chain(db, 2, actor="cli:intruder")
    assert run_verify(db).ok
    result = run_verify(db, cp)
    assert (result.ok, result.first_bad_seq) == (False, 6)


def test_an_older_checkpoint_catches_a_rewrite_that_was_signed_later(
    db: Database, cp: Path
) -> None:
    """Every checkpoint in the file is checked, not only the latest."""
    fill(db, 3)
    checkpoint(db, cp)
    fill(db, 3)
    rewrite_chain(db, 2, object_ref="patient:42")
    checkpoint(db, cp)
    assert run_verify(db, cp).first_bad_seq == 3


def test_a_checkpoint_with_a_bad_signature_fails_verification(db: Database, cp: Path) -> None:
    """An edited line, or one signed by another key, is refused naming the seq it claims."""
    fill(db)
    line = checkpoint(db, cp)
    with pytest.raises(AuditError, match="bad signature") as caught:
        audit.read_latest_checkpoint(cp, Ed25519PrivateKey.generate().public_key())
    assert caught.value.seq == 6
    cp.write_text(json.dumps(line | {"hash": "a" * 64}) + "\n")
    with pytest.raises(AuditError, match="bad signature"):
        audit.read_latest_checkpoint(cp, KEY.public_key())
    result = run_verify(db, cp)
    assert (result.ok, result.first_bad_seq) == (False, 6)


def test_checkpoints_append_private_lines_outside_the_database(
    db: Database, tmp_path: Path
) -> None:
    """The file (0600) and its folder are created, one signed line per checkpoint."""
    path = tmp_path / "keys" / "audit" / "checkpoints.jsonl"
    assert audit.read_latest_checkpoint(path, KEY.public_key()) is None
    fill(db, 2)
    checkpoint(db, path)
    fill(db, 1)
    checkpoint(db, path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(path.read_text().splitlines()) == 2
    latest = audit.read_latest_checkpoint(path, KEY.public_key())
    assert latest is not None and latest["seq"] == 3
    assert set(latest) == {"seq", "hash", "ts", "sig"}


def test_purge_before_keeps_the_chain_verifiable_and_records_an_anchor(
    db: Database, cp: Path
) -> None:
    """Deleting entries 1-3 leaves an anchor, an audit.purge entry and a clean chain."""
    hashes = fill(db)
    checkpoint(db, cp)
    with db.session() as session:
        entry = audit.purge_before(session, 4, now=T0, actor="system:purge", signer=signer(cp))
    assert (entry.seq, entry.action, entry.prev_hash) == (7, "audit.purge", hashes[5])
    details = json.loads(entry.details or "")
    assert details == {"before_seq": 4, "deleted": 3, "anchor_seq": 3, "anchor_hash": hashes[2]}
    with db.session() as session:
        anchor = session.get(AuditAnchor, 1)
        assert anchor is not None and (anchor.seq, anchor.hash) == (3, hashes[2])
        assert session.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)).all() == [
            4,
            5,
            6,
            7,
        ]
    assert run_verify(db, cp) == VerifyResult(
        True, 4, None, "4 entries verified; checkpoint at seq 6 matches"
    )
    with db.session() as session:
        audit.purge_before(session, 8, now=T0, actor="system:purge", signer=signer(cp))
    assert run_verify(db, cp).entries == 1
    with db.session() as session, pytest.raises(ValueError, match=r"1\.\.9"):
        audit.purge_before(session, 10, now=T0, actor="system:purge", signer=signer(cp))


def test_deleting_the_oldest_rows_takes_a_purge_not_just_an_anchor(db: Database) -> None:
    """Without an anchor the chain starts at 1; a hand-made anchor lacks its purge entry."""
    hashes = fill(db)
    tamper(db, delete(AuditEntry).where(AuditEntry.seq < 4))
    assert run_verify(db).first_bad_seq == 1
    with db.session() as session:
        session.add(AuditAnchor(id=1, seq=3, hash=hashes[2]))
    result = run_verify(db)
    assert (result.ok, result.first_bad_seq) == (False, 4)
    assert "anchor" in result.reason


def append_many(url: str, worker: int, count: int, start: Any) -> None:
    """Subprocess body: ``count`` appends, one transaction each, after a common start."""
    database = Database(url)
    try:
        start.wait(timeout=30)
        for i in range(count):
            with database.session() as session:
                record(session, i, actor=f"system:worker{worker}")
    finally:
        database.dispose()


def test_two_processes_appending_at_once_build_one_consecutive_chain(db: Database) -> None:
    """Two OS processes x 200 appends give seq 1..400 in a single verified chain."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    url = db.engine.url.render_as_string(hide_password=False)
    workers = [context.Process(target=append_many, args=(url, w, 200, start)) for w in (1, 2)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=60)
    assert [process.exitcode for process in workers] == [0, 0]
    with db.session() as session:
        rows = session.execute(select(AuditEntry.seq, AuditEntry.actor).order_by(AuditEntry.seq))
        seqs, actors = zip(*rows, strict=True)
    assert list(seqs) == list(range(1, 401))
    assert actors.count("system:worker1") == actors.count("system:worker2") == 200
    assert run_verify(db) == VerifyResult(True, 400, None, "400 entries verified")


# -- signed retention anchors (a purge signs its anchor beside the checkpoints) ----


def signer(path: Path) -> audit.Signer:
    return audit.Signer(path, KEY)


def test_wiping_the_whole_log_behind_a_forged_purge_entry_fails_verification(
    db: Database, cp: Path
) -> None:
    """With write access and no key: delete all, anchor at the signed head, forge a purge.

    Every hash is right and the anchor sits exactly at the signed checkpoint,
    but no purge signed that anchor, so the wiped log does not verify.
    """
    hashes = fill(db)
    checkpoint(db, cp)
    tamper(db, delete(AuditEntry))
    with db.session() as session:
        session.add(AuditAnchor(id=1, seq=6, hash=hashes[5]))
        session.flush()
        details = {"before_seq": 7, "deleted": 6, "anchor_seq": 6, "anchor_hash": hashes[5]}
        audit.append(
            session, actor="system:purge", action=audit.PURGE_ACTION, details=details, now=T0
        )
    assert run_verify(db).ok  # the chain alone cannot tell
    result = run_verify(db, cp)
    assert (result.ok, result.first_bad_seq) == (False, 7)
    assert "not signed" in result.reason


def test_a_signed_purge_verifies_and_its_anchor_record_sits_beside_the_checkpoints(
    db: Database, cp: Path
) -> None:
    hashes = fill(db)
    checkpoint(db, cp)
    with db.session() as session:
        audit.purge_before(session, 4, now=T0 + timedelta(days=200), actor="system:purge",
                           signer=signer(cp))  # fmt: skip
    records = [json.loads(line) for line in cp.read_text().splitlines()]
    assert records[-1]["kind"] == "anchor"
    assert (records[-1]["seq"], records[-1]["hash"]) == (3, hashes[2])
    assert audit.read_latest_checkpoint(cp, KEY.public_key())["seq"] == 6  # type: ignore[index]
    assert run_verify(db, cp).ok
    with db.session() as session:
        result = audit.verify(session, checkpoint_path=cp, verify_key=KEY.public_key(),
                              retention=timedelta(days=180))  # fmt: skip
    assert result.ok, result.reason


def test_a_forged_anchor_record_fails_verification(db: Database, cp: Path) -> None:
    """An anchor line written without the key is refused like a forged checkpoint."""
    fill(db)
    with db.session() as session:
        audit.purge_before(session, 4, now=T0, actor="system:purge", signer=signer(cp))
    line = json.loads(cp.read_text().splitlines()[-1])
    line["seq"] = 5
    cp.write_text(json.dumps(line) + "\n")
    result = run_verify(db, cp)
    assert not result.ok and "bad signature" in result.reason


def test_a_purge_of_entries_younger_than_the_audit_retention_fails_verification(
    db: Database, cp: Path
) -> None:
    """Even signed, an anchor over entries younger than the retention is reported."""
    fill(db)
    with db.session() as session:
        audit.purge_before(session, 4, now=T0 + timedelta(days=1), actor="cli:admin",
                           signer=signer(cp))  # fmt: skip
    assert run_verify(db, cp).ok
    with db.session() as session:
        result = audit.verify(session, checkpoint_path=cp, verify_key=KEY.public_key(),
                              retention=timedelta(days=180))  # fmt: skip
    assert (result.ok, result.first_bad_seq) == (False, 4)
    assert "younger than the audit retention" in result.reason


def test_checkpoint_if_moved_signs_only_a_head_not_signed_yet(db: Database, cp: Path) -> None:
    """The minutely job adds a line only when the chain has grown."""
    fill(db, 2)
    with db.session() as session:
        assert audit.checkpoint_if_moved(session, cp, KEY, T0) is not None
        assert audit.checkpoint_if_moved(session, cp, KEY, T0) is None
        record(session, 9)
    with db.session() as session:
        assert audit.checkpoint_if_moved(session, cp, KEY, T0)["seq"] == 3  # type: ignore[index]
    assert len(cp.read_text().splitlines()) == 2
