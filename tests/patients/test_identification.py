"""The identification domain: dates of birth, lookups by blind index, registration, lockout."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from callcenter.patients import identification as ident
from callcenter.patients.models import IdentificationGuard, Patient
from callcenter.security.crypto import FieldCipher
from callcenter.storage.db import Database

TODAY = date(2026, 11, 24)
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
PRACTICE = "demo"
BITS = 8  # tiny on purpose: index collisions are common


# -- dates of birth -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ("15031980", date(1980, 3, 15)),
        ("29022024", date(2024, 2, 29)),  # a leap year
        ("29022000", date(2000, 2, 29)),  # divisible by 400: leap
        ("24112026", TODAY),  # born today
        ("24111906", date(1906, 11, 24)),  # 120 today
        ("25111905", date(1905, 11, 25)),  # 120 until tomorrow
    ],
)
def test_a_real_past_date_keyed_ddmmyyyy_is_read(keys: str, expected: date):
    assert ident.parse_birth_date(keys, TODAY) == expected


@pytest.mark.parametrize(
    "keys",
    [
        "29022023",  # 29 February of a common year
        "29021900",  # divisible by 100, not by 400: common
        "31042000",  # April has 30 days
        "00011990",
        "15001990",
        "15131990",
        "25112026",  # tomorrow
        "24111905",  # 121 today
        "01011000",
        "1503198",  # seven digits
        "150319800",
        "1503198*",
        "",
        "١٥٠٣١٩٨٠",  # Arabic-Indic digits: isdigit() but not keypad digits
        "15-03-80",
    ],
)
def test_anything_else_is_refused_without_raising(keys: str):
    assert ident.parse_birth_date(keys, TODAY) is None


def test_a_recognised_name_is_tidied_and_bounded():
    assert ident.clean_name("  Jean   Dupont ") == "Jean Dupont"
    assert ident.clean_name("Jean Dupont.") == "Jean Dupont"  # as speech recognition ends it
    assert ident.clean_name(" \t ") is None
    assert len(ident.clean_name("a" * 500) or "") == ident.MAX_NAME_CHARS


# -- a database and a cipher --------------------------------------------------------
# Every test here encrypts or decrypts: a fresh cipher is bound for each (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("cipher")


def add_patient(
    db: Database, cipher: FieldCipher, phone: str, born: str | None, minutes: int = 0
) -> str:
    with db.session() as session:
        at = NOW + timedelta(minutes=minutes)
        patient = Patient(
            practice_id=PRACTICE,
            phone=phone,
            phone_index=cipher.phone_index(phone, practice=PRACTICE, bits=BITS),
            birth_date=born,
            created_at=at,
            last_seen_at=at,
        )
        session.add(patient)
        return patient.id


def colliding_number(cipher: FieldCipher, e164: str) -> str:
    """Another valid number whose 8-bit index is the same as ``e164``'s."""
    target = cipher.phone_index(e164, practice=PRACTICE, bits=BITS)
    for n in itertools.count(10_000_000):
        other = f"+336{n:08d}"
        if other != e164 and cipher.phone_index(other, practice=PRACTICE, bits=BITS) == target:
            return other
    raise AssertionError("unreachable")


MOTHER = "+33612345678"


def test_a_lookup_keeps_exact_numbers_only_despite_index_collisions(db, cipher):
    neighbour = colliding_number(cipher, MOTHER)
    mother = add_patient(db, cipher, MOTHER, "1955-06-02")
    add_patient(db, cipher, neighbour, "1955-06-02", minutes=1)  # same bucket, same birthday
    child = add_patient(db, cipher, MOTHER, "2010-09-01", minutes=2)
    add_patient(db, cipher, "+33698000000", "1990-01-01")
    with db.session() as session:
        found = ident.find_candidates(session, cipher, PRACTICE, MOTHER, BITS)
        assert [p.id for p in found] == [mother, child]  # oldest first
        assert ident.find_candidates(session, cipher, "elsewhere", MOTHER, BITS) == []
        assert ident.find_candidates(session, cipher, PRACTICE, "not a number", BITS) == []


def test_the_date_of_birth_tells_family_members_apart(db, cipher):
    add_patient(db, cipher, MOTHER, None)  # registered without a date: never matched
    mother = add_patient(db, cipher, MOTHER, "1955-06-02", minutes=1)
    child = add_patient(db, cipher, MOTHER, "2010-09-01", minutes=2)
    with db.session() as session:
        found = ident.find_candidates(session, cipher, PRACTICE, MOTHER, BITS)
        assert ident.match_birth_date(found, date(2010, 9, 1)).id == child
        assert ident.match_birth_date(found, date(1955, 6, 2)).id == mother
        assert ident.match_birth_date(found, date(1955, 6, 3)) is None


def test_rows_indexed_under_an_older_key_are_found_during_a_rotation(db, cipher):
    patient = add_patient(db, cipher, MOTHER, "1955-06-02")
    old = cipher.phone_index(MOTHER, practice=PRACTICE, bits=BITS)
    while cipher.phone_index(MOTHER, practice=PRACTICE, bits=BITS) == old:  # 1 in 256
        cipher.keyring.rotate()  # the new key is active; the row keeps its old index
    with db.session() as session:
        found = ident.find_candidates(session, cipher, PRACTICE, MOTHER, BITS)
        assert [p.id for p in found] == [patient]


def test_registration_stores_every_personal_value_encrypted(db, cipher):
    with db.session() as session:
        patient = ident.register_patient(
            session, cipher, practice_id=PRACTICE, e164=MOTHER, bits=BITS,
            born=date(1980, 3, 15), now=NOW,
        )  # fmt: skip
    with db.session() as session:
        row = session.get(Patient, patient.id)
        assert row is not None
        assert (row.phone, row.birth_date, row.name) == (MOTHER, "1980-03-15", None)
        assert row.phone_index == cipher.phone_index(MOTHER, practice=PRACTICE, bits=BITS)
        assert b"1980" not in row.birth_date_ct and b"612345678" not in row.phone_ct
        assert row.created_at == row.last_seen_at == NOW


# -- the brute-force guard ------------------------------------------------------------
INDEX = 42


def fail(
    db: Database,
    at: datetime,
    index: int = INDEX,
    max_failures: int = ident.MAX_FAILURES,
    lock: timedelta = ident.LOCK,
) -> ident.Failure:
    with db.session() as session:
        return ident.record_failure(
            session, PRACTICE, index, at, max_failures=max_failures, lock=lock
        )


def locked(db: Database, at: datetime, index: int = INDEX) -> bool:
    with db.session() as session:
        return ident.is_locked(session, PRACTICE, index, at)


def test_five_failures_within_an_hour_lock_the_number_for_an_hour(db):
    results = [fail(db, NOW + timedelta(minutes=10 * i)) for i in range(5)]
    assert [r.failures for r in results] == [1, 2, 3, 4, 5]
    assert [r.locked_now for r in results] == [False, False, False, False, True]
    assert results[-1].locked and not results[-2].locked
    fifth = NOW + timedelta(minutes=40)
    assert locked(db, fifth + timedelta(minutes=59))
    assert not locked(db, fifth + timedelta(minutes=61))
    assert not locked(db, NOW, index=INDEX + 1)  # another number (bucket) is not locked
    again = fail(db, fifth + timedelta(minutes=30))  # a call still in progress fails again
    assert again.locked and not again.locked_now  # the lock is audited once


def test_a_practices_own_limits_lock_sooner_and_for_as_long_as_it_says(db):
    """A practice's ``limits``: two failures lock for ten minutes."""
    ten = timedelta(minutes=10)
    results = [fail(db, NOW + timedelta(minutes=i), max_failures=2, lock=ten) for i in range(2)]
    assert [(r.locked, r.locked_now) for r in results] == [(False, False), (True, True)]
    assert locked(db, NOW + timedelta(minutes=10))
    assert not locked(db, NOW + timedelta(minutes=12))
    # The count runs for the hour from the first failure: one more within it locks again.
    again = fail(db, NOW + timedelta(minutes=12), max_failures=2, lock=ten)
    assert (again.failures, again.locked) == (3, True)
    assert locked(db, NOW + timedelta(minutes=21))


def test_a_limit_of_one_locks_at_the_first_failure(db):
    """The first failure inserts the counter: it must lock too when the limit is 1."""
    first = fail(db, NOW, max_failures=1, lock=timedelta(minutes=5))
    assert (first.failures, first.locked, first.locked_now) == (1, True, True)
    assert locked(db, NOW + timedelta(minutes=4)) and not locked(db, NOW + timedelta(minutes=6))


def test_failures_outside_the_window_start_a_new_count(db):
    for minutes in (0, 10, 20, 30):
        fail(db, NOW + timedelta(minutes=minutes))
    later = fail(db, NOW + timedelta(minutes=61))  # the window began at NOW
    assert later.failures == 1 and not later.locked


def test_a_success_resets_the_count_but_not_a_running_lock(db):
    for minutes in range(3):
        fail(db, NOW + timedelta(minutes=minutes))
    with db.session() as session:
        ident.reset_failures(session, PRACTICE, INDEX, NOW + timedelta(minutes=5))
    assert fail(db, NOW + timedelta(minutes=6)).failures == 1
    for minutes in range(7, 11):
        fail(db, NOW + timedelta(minutes=minutes))
    with db.session() as session:
        ident.reset_failures(session, PRACTICE, INDEX, NOW + timedelta(minutes=12))
    assert locked(db, NOW + timedelta(minutes=12))


def test_stale_counters_are_forgotten_as_new_failures_come(db):
    fail(db, NOW, index=1)
    fail(db, NOW + timedelta(hours=2), index=2)
    with db.session() as session:
        kept = session.scalars(select(IdentificationGuard.phone_index)).all()
    assert kept == [2]


def test_failures_dated_after_now_are_not_counted(db):
    """A frozen clock set back: failures "from the future" start no window now."""
    for minutes in (10, 20, 30, 40):
        fail(db, NOW + timedelta(minutes=minutes))
    earlier = fail(db, NOW)
    assert earlier.failures == 1 and not earlier.locked


def test_numbers_sharing_a_lookup_bucket_do_not_share_the_guard(db, cipher):
    """Two patients whose truncated blind indexes collide: failures on one number must
    neither lock the other, nor be wiped by the other's correct date of birth."""
    neighbour = colliding_number(cipher, MOTHER)
    add_patient(db, cipher, MOTHER, "1955-06-02")
    add_patient(db, cipher, neighbour, "1971-01-30", minutes=1)
    assert cipher.phone_index(neighbour, practice=PRACTICE, bits=BITS) == cipher.phone_index(
        MOTHER, practice=PRACTICE, bits=BITS
    )  # the lookup bucket is shared
    target, other = (ident.guard_key(cipher, PRACTICE, n) for n in (MOTHER, neighbour))
    assert target != other
    for minutes in range(4):  # an attacker guessing the mother's date of birth
        fail(db, NOW + timedelta(minutes=minutes), index=target)
    with db.session() as session:  # the neighbour calls and is identified
        ident.reset_failures(session, PRACTICE, other, NOW + timedelta(minutes=5))
    fifth = fail(db, NOW + timedelta(minutes=6), index=target)
    assert fifth.failures == 5 and fifth.locked_now  # the attacker's count was kept
    assert locked(db, NOW + timedelta(minutes=7), index=target)
    assert not locked(db, NOW + timedelta(minutes=7), index=other)  # the neighbour still calls


def test_the_guard_key_is_a_signed_32_bit_value_of_the_whole_number(cipher):
    key = ident.guard_key(cipher, PRACTICE, MOTHER)
    assert -(2**31) <= key < 2**31
    assert key == ident.guard_key(cipher, PRACTICE, "06 12 34 56 78")  # the same number
    assert key != ident.guard_key(cipher, "elsewhere", MOTHER)  # unlinkable across practices
