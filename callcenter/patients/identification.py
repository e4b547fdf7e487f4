"""Who is calling: lookup by blind index, date-of-birth checks, registration, lockout.

The phone flow (``callcenter.ivr.nodes.identify``) drives these functions; they
know nothing of Flask or TwiML and never commit (the caller's session does).

Lookups follow docs/security/stored-data.md: the number's truncated blind index under every
key of the ring (rows indexed under an older key during a rotation are still
found) selects a few candidates, and decryption keeps the exact matches only.
A date of birth is compared after decryption, never indexed.

The brute-force guard counts wrong dates of birth per (practice, guard key):
:data:`MAX_FAILURES` within :data:`WINDOW` lock identification for that number
for :data:`LOCK`, unless the practice's file sets its own count and lock
(``limits``; the identify node passes them).  Counting is one atomic upsert, so
calls failing at the same moment from several processes cannot lose a count.

The key is :func:`guard_key`, a full-width keyed hash of the number, not the
truncated lookup index: that index is lossy on purpose, and numbers sharing
its bucket shared one counter, so an attacker's failures locked a neighbour
out, and a neighbour's correct date reset the attacker's count.  Two numbers
now share a counter only if 32 keyed bits collide (about one pair in a
practice of 9,000 numbers, against one in a few hundred per bucket before).
The table holds keyed hashes, counts and times: nothing personal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, bindparam, case, delete, insert, literal, or_, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from callcenter.core.phone_numbers import normalize
from callcenter.patients.models import IdentificationGuard, Patient
from callcenter.security.crypto import FieldCipher
from callcenter.storage.db import UTCDateTime

MAX_FAILURES = 5
WINDOW = timedelta(hours=1)
LOCK = timedelta(hours=1)
MAX_AGE_YEARS = 120
MAX_NAME_CHARS = 100


# -- dates of birth -----------------------------------------------------------
def parse_birth_date(digits: str, today: date) -> date | None:
    """The date keyed as DDMMYYYY, if it is a real date, not in the future, age ≤ 120.

    Returns None for anything else (never raises, never echoes the input):
    the caller is simply asked again.
    """
    if len(digits) != 8 or not digits.isascii() or not digits.isdigit():
        return None
    try:
        born = date(int(digits[4:]), int(digits[2:4]), int(digits[:2]))
    except ValueError:  # 31/04, 29/02 of a common year, month 13...
        return None
    if born > today:
        return None
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return born if age <= MAX_AGE_YEARS else None


def clean_name(speech: str) -> str | None:
    """The name as recognised, whitespace collapsed, the recogniser's final period dropped,
    bounded; None when nothing is left."""
    words = " ".join(speech.split()).strip(" .,;:!?")[:MAX_NAME_CHARS].strip()
    return words or None


# -- lookup and registration ----------------------------------------------------
def find_candidates(
    session: Session, cipher: FieldCipher, practice_id: str, e164: str, bits: int
) -> list[Patient]:
    """This practice's patients whose stored number is exactly ``e164``, oldest first.

    The blind index is lossy by design: rows of other numbers in the same
    bucket are dropped after decryption.  A row that does not decrypt raises
    (a :class:`~callcenter.security.crypto.DecryptionError`): it is never read as "no match".
    """
    indexes = cipher.phone_index_all(e164, practice=practice_id, bits=bits)
    if not indexes:
        return []
    params = {"practice": practice_id, "indexes": indexes}
    return [row for row in session.scalars(_BY_INDEX, params) if _same_number(row.phone, e164)]


# Built once: a caller's first step runs both, and building a statement costs
# more than running it on an index.
_BY_INDEX = (
    select(Patient)
    .where(
        Patient.practice_id == bindparam("practice"),
        Patient.phone_index.in_(bindparam("indexes", expanding=True)),
    )
    .order_by(Patient.created_at, Patient.id)
)
_LOCKED_UNTIL = select(IdentificationGuard.locked_until).where(
    IdentificationGuard.practice_id == bindparam("practice"),
    IdentificationGuard.phone_index == bindparam("key"),
)


def _same_number(stored: str | None, e164: str) -> bool:
    return stored is not None and (stored == e164 or normalize(stored) == e164)


def match_birth_date(candidates: Sequence[Patient], born: date) -> Patient | None:
    """The first candidate born on ``born`` (family members sharing a number differ here)."""
    wanted = born.isoformat()
    for patient in candidates:
        if patient.birth_date == wanted:
            return patient
    return None


def register_patient(
    session: Session,
    cipher: FieldCipher,
    *,
    practice_id: str,
    e164: str,
    bits: int,
    born: date,
    now: datetime,
) -> Patient:
    """A new patient with their number and date of birth, encrypted; the name comes later.

    Called from exactly one step of a call, inside that step's transaction, so
    a retried or doubly processed request can never register twice.  The row
    is inserted at once (the call links to it by a plain foreign key, which the
    unit of work does not order), with a statement of its own, so the call's
    pending changes still reach the database with the step, where the engine
    detects a concurrent duplicate.  The returned object is not in the session.
    """
    patient = Patient(
        practice_id=practice_id,
        phone=e164,
        phone_index=cipher.phone_index(e164, practice=practice_id, bits=bits),
        birth_date=born.isoformat(),
        created_at=now,
        last_seen_at=now,
    )
    row = {attr.key: getattr(patient, attr.key) for attr in sa_inspect(Patient).column_attrs}
    with session.no_autoflush:
        session.execute(insert(Patient), [row])
    return patient


# -- the brute-force guard ----------------------------------------------------------
GUARD_PURPOSE = "guard"


def guard_key(cipher: FieldCipher, practice_id: str, number: str) -> int:
    """The guard's key for ``number``: 32 keyed bits under the active key, never truncated.

    Its own HMAC purpose, so it tells nothing about the lookup index.  Signed
    so it fits the 32-bit integer column on PostgreSQL.  After a rotation the
    key changes and counting starts over, as the window does within the hour.
    """
    e164 = normalize(number, "FR") or number
    value = cipher.blind_index(e164, practice=practice_id, purpose=GUARD_PURPOSE, bits=32)
    return value - 2**31


@dataclass(frozen=True)
class Failure:
    """What one more wrong date of birth did to a number's counter."""

    failures: int
    locked: bool  # identification is locked for this number now
    locked_now: bool  # this failure set the lock (audit it once)


def is_locked(session: Session, practice_id: str, phone_index: int, now: datetime) -> bool:
    """Whether identification is locked for this number at ``now``.

    ``phone_index`` here and below is the number's :func:`guard_key`.
    """
    until = session.scalar(_LOCKED_UNTIL, {"practice": practice_id, "key": phone_index})
    return until is not None and until > now


def record_failure(
    session: Session,
    practice_id: str,
    phone_index: int,
    now: datetime,
    *,
    max_failures: int = MAX_FAILURES,
    lock: timedelta = LOCK,
) -> Failure:
    """Count one wrong date of birth, atomically; ``max_failures`` (≥ 1) in the window lock.

    One ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` on SQLite and
    PostgreSQL: concurrent failures each see their own count, and exactly one
    of them sees the count reach the limit (``locked_now``).  A failure while
    locked extends the lock.  Should a practice lower its limit below a count
    already reached in the window, the next failure locks without
    ``locked_now`` (so without its audit row): the lock itself still holds.
    """
    _forget_stale(session, practice_id, now)
    guard = IdentificationGuard.__table__.c
    # A window "started" after now (a frozen clock set back) counts nothing.
    in_window = and_(guard.window_started_at > now - WINDOW, guard.window_started_at <= now)
    failures = case((in_window, guard.failures + 1), else_=1)
    now_value = literal(now, UTCDateTime())
    until_value = literal(now + lock, UTCDateTime())
    dialect = session.get_bind().dialect.name
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        upsert(IdentificationGuard)
        .values(
            practice_id=practice_id,
            phone_index=phone_index,
            failures=1,
            window_started_at=now,
            locked_until=now + lock if max_failures <= 1 else None,  # a limit of 1
        )
        .on_conflict_do_update(
            index_elements=[guard.practice_id, guard.phone_index],
            set_={
                "failures": failures,
                "window_started_at": case((in_window, guard.window_started_at), else_=now_value),
                "locked_until": case(
                    (failures >= max_failures, until_value), else_=guard.locked_until
                ),
            },
        )
        .returning(guard.failures, guard.locked_until)
    )
    count, until = session.execute(statement).one()
    locked = until is not None and until > now
    return Failure(failures=count, locked=locked, locked_now=count == max_failures)


def reset_failures(session: Session, practice_id: str, phone_index: int, now: datetime) -> None:
    """A date of birth matched: forget this number's failures (a running lock stays).

    Only this number's: with the guard keyed by :func:`guard_key`, a patient
    identified in the same lookup bucket never wipes another number's count.
    """
    session.execute(
        delete(IdentificationGuard).where(
            IdentificationGuard.practice_id == practice_id,
            IdentificationGuard.phone_index == phone_index,
            _lock_over(now),
        )
    )


def _lock_over(now: datetime) -> ColumnElement[bool]:
    """No lock, or one that has ended by ``now``."""
    until = IdentificationGuard.locked_until
    return or_(until.is_(None), until <= now)


def _forget_stale(session: Session, practice_id: str, now: datetime) -> None:
    """Drop counters whose window and lock are both over: the table stays small by itself."""
    session.execute(
        delete(IdentificationGuard).where(
            IdentificationGuard.practice_id == practice_id,
            IdentificationGuard.window_started_at <= now - WINDOW,
            _lock_over(now),
        )
    )
