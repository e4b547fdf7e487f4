"""Tamper-evident audit log: a hash chain with signed checkpoints (docs/security/audit.md).

Each entry stores ``hash = SHA-256(0x00 ‖ prev_hash ‖ canonical_json(fields))``,
``prev_hash`` being the 32 raw bytes of the previous entry's hash (64 zeros
for the first), so editing, deleting, inserting or reordering a row breaks
the chain.  Anyone with write access to the database can recompute a whole
chain, hence checkpoints: ``(seq, hash, ts)`` signed with Ed25519 by a key
kept beside the key ring and written to a file outside the database.

Rows hold pseudonymous ids and counts only, never a name, number or other
personal value (the CNIL's logging recommendation).  ``append`` refuses any
string that is not an id-like token, which keeps free text (spaces, ``@``,
``+33…``) out; it cannot tell an id from a bare number, so callers must pass
ids only.

Retention: ``purge_before`` deletes the oldest entries and keeps the hash of
the last one deleted in ``audit_anchor``.  Anyone with write access to the
database could write such an anchor and a matching ``audit.purge`` entry, so
the purge also signs its anchor into the checkpoint file (an ``anchor``
record); with the key, the verifier trusts only a signed anchor, and one over
entries younger than the audit retention is reported too.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from callcenter.audit.models import AuditAnchor, AuditEntry, AuditHead
from callcenter.storage.db import Base

GENESIS = "0" * 64
PURGE_ACTION = "audit.purge"
ANCHOR = "anchor"  # the ``kind`` of a signed anchor record in the checkpoint file
APPENDED = "audit_appended"  # set in ``session.info`` once an entry is appended: sign the head
# Ids, actor names and action names: no spaces, no "@", no "+", bounded length.
_TOKEN = re.compile(r"[A-Za-z0-9_.:\-]{1,128}")
_HEX64 = re.compile(r"[0-9a-f]{64}")


class AuditError(Exception):
    """The log or a checkpoint cannot be trusted; ``seq`` names the entry concerned."""

    def __init__(self, message: str, *, seq: int | None = None) -> None:
        super().__init__(message)
        self.seq = seq


# What to create where ``Database.create_all`` is not used (tests, migrations).
TABLES = [Base.metadata.tables[name] for name in ("audit_log", "audit_head", "audit_anchor")]


@dataclass(frozen=True)
class Signer:
    """Where signed records go and the key that signs them (the key ring's signing key)."""

    path: Path
    key: Ed25519PrivateKey


@dataclass(frozen=True)
class VerifyResult:
    """What ``verify`` found; ``first_bad_seq`` is None when ``ok``."""

    ok: bool
    entries: int
    first_bad_seq: int | None
    reason: str


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(row: Any) -> str:
    """The chained hash of an entry (an ``AuditEntry`` or a row with the same names)."""
    fields = {
        "seq": row.seq,
        "ts": _iso(row.ts),
        "actor": row.actor,
        "action": row.action,
        "practice_id": row.practice_id,
        "object_ref": row.object_ref,
        "details": row.details,
        "prev_hash": row.prev_hash,
    }
    data = b"\x00" + bytes.fromhex(row.prev_hash) + canonical_json(fields)
    return hashlib.sha256(data).hexdigest()


def _token(name: str, value: object, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not _TOKEN.fullmatch(value):
        # Never echo the value: it might be the personal data we are keeping out.
        raise ValueError(f"audit {name} must be an id-like token ([A-Za-z0-9_.:-], 1-128)")


def _details_json(details: Mapping[str, Any] | None) -> str | None:
    """Canonical JSON of a flat mapping of ids, counts, booleans (or lists of them)."""
    if details is None:
        return None
    for key, value in details.items():
        _token("details key", key)
        for item in value if isinstance(value, list) else [value]:
            if item is None or isinstance(item, bool | int):
                continue
            _token(f"details[{key}]", item)
    return canonical_json(dict(details)).decode()


def _lock_head(session: Session) -> AuditHead:
    """Create the head row if missing, then lock it until the caller's transaction ends.

    The upsert is a write, so it is also what serialises appends on SQLite: it
    takes the database's write lock (waiting up to the busy timeout) before the
    head is read, as ``BEGIN IMMEDIATE`` would.  This holds when the append is
    the transaction's first statement or the transaction has already written;
    on an engine that opens transactions on reads, a concurrent commit since
    that read makes SQLite answer "database is locked" (an error, never a fork).
    On PostgreSQL ``FOR UPDATE`` makes the other appenders wait.
    """
    name = session.get_bind().dialect.name
    if name not in ("postgresql", "sqlite"):
        raise AuditError(f"audit log: unsupported database {name}")
    insert = postgresql.insert if name == "postgresql" else sqlite.insert
    session.execute(insert(AuditHead).values(id=1, seq=0, hash=GENESIS).on_conflict_do_nothing())
    query = select(AuditHead).where(AuditHead.id == 1).with_for_update()
    return session.execute(query.execution_options(populate_existing=True)).scalar_one()


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    practice_id: str | None = None,
    object_ref: str | None = None,
    details: Mapping[str, Any] | None = None,
    now: datetime,
) -> AuditEntry:
    """Add one entry to the chain, inside the caller's transaction (no commit).

    Raises ``ValueError`` for an empty or free-text actor, action, id or
    detail, or a naive ``now``.
    """
    _token("actor", actor)
    _token("action", action)
    _token("practice_id", practice_id, optional=True)
    _token("object_ref", object_ref, optional=True)
    details_json = _details_json(details)
    if now.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    head = _lock_head(session)
    entry = AuditEntry(
        seq=head.seq + 1,
        ts=now.astimezone(UTC),
        actor=actor,
        action=action,
        practice_id=practice_id,
        object_ref=object_ref,
        details=details_json,
        prev_hash=head.hash,
    )
    entry.hash = entry_hash(entry)
    session.add(entry)
    head.seq, head.hash = entry.seq, entry.hash
    session.flush()
    session.info[APPENDED] = True
    return entry


def appended(session: Session) -> bool:
    """Whether ``session`` appended an entry (its head is worth signing once committed)."""
    return bool(session.info.get(APPENDED))


def purge_before(
    session: Session, seq: int, *, now: datetime, actor: str, signer: Signer
) -> AuditEntry:
    """Delete entries with a seq below ``seq``, anchor the chain, sign the anchor, audit the purge.

    Retention limits are the caller's decision.  Run ``verify`` first: a purge
    removes whatever evidence the deleted rows held.  The anchor record is
    signed before the caller commits: a purge rolled back after it leaves a
    signed anchor that no database row uses, which verifies all the same
    (the other way round, a committed anchor nobody signed, would not).
    Raises ``ValueError`` for a seq beyond the next one to be written.
    """
    head = _lock_head(session)
    if not 1 <= seq <= head.seq + 1:
        raise ValueError(f"purge_before: seq must lie in 1..{head.seq + 1}")
    last = session.execute(
        select(AuditEntry.hash, AuditEntry.ts).where(AuditEntry.seq == seq - 1)
    ).first()
    deleted, anchor = 0, session.get(AuditAnchor, 1, populate_existing=True)
    if last is not None:  # else everything below seq is gone already
        result = session.execute(delete(AuditEntry).where(AuditEntry.seq < seq))
        deleted = result.rowcount  # type: ignore[attr-defined]
        if anchor is None:
            anchor = AuditAnchor(id=1)
            session.add(anchor)
        anchor.seq, anchor.hash = seq - 1, last.hash
        write_anchor(signer, seq=seq - 1, hash_=last.hash, entry_ts=last.ts, now=now)
    details = {
        "before_seq": seq,
        "deleted": deleted,
        "anchor_seq": anchor.seq if anchor else None,
        "anchor_hash": anchor.hash if anchor else None,
    }
    return append(session, actor=actor, action=PURGE_ACTION, details=details, now=now)


def _append_signed(
    path: Path, signing_key: Ed25519PrivateKey, payload: dict[str, Any]
) -> dict[str, Any]:
    """Sign ``payload`` and append it as one JSON line to ``path`` (mode 0600, synced)."""
    signature = signing_key.sign(canonical_json(payload))
    line = {**payload, "sig": base64.b64encode(signature).decode()}
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, canonical_json(line) + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    return line


def write_checkpoint(
    session: Session, path: Path, signing_key: Ed25519PrivateKey, now: datetime
) -> dict[str, Any]:
    """Sign the current head and append it as one JSON line to ``path`` (mode 0600).

    Sign committed state only (a fresh session), ideally right after a clean
    ``verify``: a checkpoint of a rolled-back entry reads later as truncation.
    """
    seq, hash_ = _head(session)
    return _append_signed(path, signing_key, {"seq": seq, "hash": hash_, "ts": _iso(now)})


def checkpoint_if_moved(
    session: Session, path: Path, signing_key: Ed25519PrivateKey, now: datetime
) -> dict[str, Any] | None:
    """Sign the head unless the file's last checkpoint already holds it (None then).

    What lets the head be signed every minute, and after every console write,
    without a line a minute when nothing happens.
    """
    seq, hash_ = _head(session)
    last = _last_record(path) or {"kind": None}
    if "kind" not in last and (last.get("seq"), last.get("hash")) == (seq, hash_):
        return None
    return _append_signed(path, signing_key, {"seq": seq, "hash": hash_, "ts": _iso(now)})


def write_anchor(
    signer: Signer, *, seq: int, hash_: str, entry_ts: datetime, now: datetime
) -> dict[str, Any]:
    """Sign a purge's retention anchor: seq, hash and time of the last entry deleted."""
    payload = {"kind": ANCHOR, "seq": seq, "hash": hash_, "entry_ts": _iso(entry_ts),
               "ts": _iso(now)}  # fmt: skip
    return _append_signed(signer.path, signer.key, payload)


def _head(session: Session) -> tuple[int, str]:
    query = select(AuditHead).where(AuditHead.id == 1)
    head = session.execute(query.execution_options(populate_existing=True)).scalar()
    return (head.seq, head.hash) if head else (0, GENESIS)


def _last_record(path: Path) -> dict[str, Any] | None:
    """The file's last line, parsed (unverified: it only decides whether to sign again)."""
    try:
        with path.open("rb") as file:
            file.seek(0, os.SEEK_END)
            file.seek(max(0, file.tell() - 4096))
            lines = file.read().splitlines()
    except FileNotFoundError:
        return None
    try:
        last = json.loads(lines[-1]) if lines else None
    except ValueError:
        return None
    return last if isinstance(last, dict) else None


def read_records(path: Path, verify_key: Ed25519PublicKey) -> list[dict[str, Any]]:
    """Every signed record in the file (checkpoints and anchors), oldest first.

    The signature covers every field but ``sig``.  Raises ``AuditError`` on a
    malformed or badly signed line.
    """
    if not path.exists():
        return []
    records = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
            seq, hash_, ts = line["seq"], line["hash"], line["ts"]
            signature = base64.b64decode(line["sig"], validate=True)
        except (ValueError, KeyError, TypeError) as exc:
            raise AuditError(f"{path} line {number}: malformed checkpoint") from exc
        claimed = seq if isinstance(seq, int) else None
        if claimed is None or not isinstance(hash_, str) or not isinstance(ts, str):
            raise AuditError(f"{path} line {number}: malformed checkpoint", seq=claimed)
        kind = line.get("kind")
        if kind is not None and (kind != ANCHOR or not isinstance(line.get("entry_ts"), str)):
            raise AuditError(f"{path} line {number}: malformed anchor record", seq=claimed)
        payload = {name: value for name, value in line.items() if name != "sig"}
        try:
            verify_key.verify(signature, canonical_json(payload))
        except InvalidSignature as exc:
            raise AuditError(f"{path} line {number}: bad signature", seq=seq) from exc
        records.append(line)
    return records


def read_checkpoints(path: Path, verify_key: Ed25519PublicKey) -> list[dict[str, Any]]:
    """Every checkpoint in the file, oldest first; raises ``AuditError`` on a bad line."""
    return [line for line in read_records(path, verify_key) if "kind" not in line]


def read_latest_checkpoint(path: Path, verify_key: Ed25519PublicKey) -> dict[str, Any] | None:
    """The last checkpoint in the file, or None if there is none yet."""
    checkpoints = read_checkpoints(path, verify_key)
    return checkpoints[-1] if checkpoints else None


def verify(
    session: Session,
    *,
    checkpoint_path: Path | None = None,
    verify_key: Ed25519PublicKey | None = None,
    retention: timedelta | None = None,
) -> VerifyResult:
    """Recompute the chain and check it against the head, the anchor and every checkpoint.

    With the key, the retention anchor must be one a purge signed, every
    checkpoint below it must be covered by a signed anchor, and with
    ``retention`` no signed anchor may cover entries younger than it.
    Without the key only an ``audit.purge`` entry vouches for the anchor,
    which anyone who can write to the database can forge.

    Lock-free: the head and anchor are read in one statement, then only
    entries up to that head are streamed, so appends running meanwhile cause
    no false alarm (a concurrent purge may).  ``first_bad_seq`` is the first
    entry that cannot be trusted; for a rewrite caught by a checkpoint it is
    the checkpoint's seq.  Raises ``ValueError`` if only one of
    ``checkpoint_path`` and ``verify_key`` is given.
    """
    if (checkpoint_path is None) != (verify_key is None):
        raise ValueError("verify: checkpoint_path and verify_key go together")
    signed: dict[int, str] = {}
    anchors: dict[int, dict[str, Any]] = {}
    keyed = checkpoint_path is not None and verify_key is not None
    if checkpoint_path is not None and verify_key is not None:
        # Read before the database, so no checkpoint is newer than the snapshot.
        try:
            records = read_records(checkpoint_path, verify_key)
        except AuditError as exc:
            return VerifyResult(False, 0, exc.seq, str(exc))
        for cp in records:
            if cp.get("kind") == ANCHOR:
                if anchors.setdefault(cp["seq"], cp)["hash"] != cp["hash"]:
                    return VerifyResult(False, 0, cp["seq"], "two signed anchors disagree")
            elif signed.setdefault(cp["seq"], cp["hash"]) != cp["hash"]:
                return VerifyResult(False, 0, cp["seq"], "two signed checkpoints disagree")

    def one(column: Any, model: Any) -> Any:
        return select(column).where(model.id == 1).scalar_subquery()

    head_seq, head_hash, max_seq, anchor_seq, anchor_hash = session.execute(
        select(
            one(AuditHead.seq, AuditHead),
            one(AuditHead.hash, AuditHead),
            select(func.max(AuditEntry.seq)).scalar_subquery(),
            one(AuditAnchor.seq, AuditAnchor),
            one(AuditAnchor.hash, AuditAnchor),
        )
    ).one()
    if head_seq is None:
        head_seq, head_hash = 0, GENESIS
    floor_seq, floor_hash = (0, GENESIS) if anchor_seq is None else (anchor_seq, anchor_hash)
    if not isinstance(floor_hash, str) or not _HEX64.fullmatch(floor_hash):
        return VerifyResult(False, 0, floor_seq + 1, "malformed retention anchor")

    count, expected_seq, expected_prev = 0, floor_seq + 1, floor_hash

    def fail(seq: int, reason: str) -> VerifyResult:
        return VerifyResult(False, count, seq, reason)

    vouched = anchor_seq is None
    table = AuditEntry.__table__
    query = select(table).where(table.c.seq <= head_seq).order_by(table.c.seq)
    rows = session.execute(query.execution_options(yield_per=1000))
    try:
        for row in rows:
            if row.seq < expected_seq:
                return fail(row.seq, "entry at or below the retention anchor")
            if row.seq > expected_seq:
                return fail(expected_seq, "entry missing (seq gap)")
            if row.prev_hash != expected_prev:
                return fail(row.seq, "prev_hash does not link to the previous entry")
            if entry_hash(row) != row.hash:
                return fail(row.seq, "hash mismatch: entry altered")
            if signed.get(row.seq, row.hash) != row.hash:
                return fail(row.seq, "entry differs from the signed checkpoint")
            if not vouched and row.action == PURGE_ACTION:
                vouched = _records_anchor(row.details, anchor_seq, anchor_hash)
            count, expected_seq, expected_prev = count + 1, row.seq + 1, row.hash
    finally:
        rows.close()

    # Post-stream checks, lowest seq first so the first bad seq is the one named.
    last_seq = expected_seq - 1
    if keyed:
        unsigned = _unsigned_anchor(anchors, signed, anchor_seq, anchor_hash, retention)
        if unsigned:
            return fail(floor_seq + 1, unsigned)
    if not vouched:
        return fail(floor_seq + 1, "retention anchor not recorded by an audit.purge entry")
    if signed.get(floor_seq, floor_hash) != floor_hash:
        return fail(floor_seq + 1, "retention anchor differs from the signed checkpoint")
    if head_seq != last_seq:
        return fail(last_seq + 1, f"entries missing before the head (seq {head_seq})")
    if head_hash != expected_prev:
        return fail(head_seq, "head hash does not match the last entry")
    if max_seq is not None and max_seq > head_seq:
        return fail(head_seq + 1, "entry beyond the head")
    if signed and max(signed) > last_seq:
        return fail(last_seq + 1, f"truncated: signed checkpoint at seq {max(signed)}")
    checked = f"; checkpoint at seq {max(signed)} matches" if signed else ""
    return VerifyResult(True, count, None, f"{count} entries verified{checked}")


def _unsigned_anchor(
    anchors: Mapping[int, Mapping[str, Any]],
    signed: Mapping[int, str],
    anchor_seq: int | None,
    anchor_hash: str | None,
    retention: timedelta | None,
) -> str | None:
    """Why the signed records do not vouch for the database's anchor (None when they do)."""
    if anchor_seq is not None:
        record = anchors.get(anchor_seq)
        if record is None or record["hash"] != anchor_hash:
            return "retention anchor not signed by a purge"
    # Entries a checkpoint signed may only be gone through a signed purge covering them.
    covered = max(anchors, default=0)
    floor = anchor_seq or 0
    if any(covered < seq < floor for seq in signed):
        return "a signed checkpoint below the anchor is not covered by a signed purge"
    if retention is not None:
        for record in anchors.values():
            deleted_up_to = datetime.fromisoformat(record["entry_ts"])
            if deleted_up_to > datetime.fromisoformat(record["ts"]) - retention:
                return "a signed purge deleted entries younger than the audit retention"
    return None


def _records_anchor(details: str | None, seq: int, hash_: str) -> bool:
    """Whether an audit.purge entry's details name this anchor."""
    try:
        data = json.loads(details or "{}")
    except ValueError:
        return False
    if not isinstance(data, dict):
        return False
    return (data.get("anchor_seq"), data.get("anchor_hash")) == (seq, hash_)
