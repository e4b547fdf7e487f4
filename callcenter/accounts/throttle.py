"""Login throttles: each attempt counted in the database before it is checked.

A key (an account at one address, an address, a second factor) allows a few
attempts, then makes the next one wait, longer after each further failure:
a growing delay, never a lock that strangers can keep closed on someone else.

The count is taken under a row lock (``SELECT … FOR UPDATE`` on PostgreSQL,
the write lock on SQLite) held until the request's transaction ends, so
parallel attempts under one key queue up behind each other and each sees the
count the one before it left: a burst is checked no more often than one
attempt after another would be.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from callcenter.accounts.models import LoginThrottle
from callcenter.storage.insert_once import insert_once


@dataclass(frozen=True)
class Throttle:
    """``free`` attempts, then a wait of ``first_delay`` doubling up to ``max_delay``.

    A key left alone for ``forget`` starts again from nothing.
    """

    free: int
    first_delay: timedelta
    max_delay: timedelta
    forget: timedelta

    def delay(self, attempts: int) -> timedelta:
        """The wait imposed after ``attempts`` attempts in a row (zero while still free)."""
        if attempts < self.free:
            return timedelta(0)
        return min(self.first_delay * 2 ** min(attempts - self.free, 32), self.max_delay)


# One account from one address: five tries, then 30 s, 1 min, 2 min … at most 15 min.
# Passwords are 120-bit random strings: this slows a guesser, it does not protect them.
ACCOUNT_AT_ADDRESS = Throttle(5, timedelta(seconds=30), timedelta(minutes=15), timedelta(hours=1))
# One address, any names: a password sprayer (behind a trusted proxy, one client).
ADDRESS = Throttle(50, timedelta(seconds=30), timedelta(minutes=15), timedelta(minutes=15))
# The second factor of one account: the password is known already; five codes in 15 minutes.
SECOND_FACTOR = Throttle(5, timedelta(minutes=15), timedelta(minutes=15), timedelta(minutes=15))


def _key(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def account_at_address_key(username: str, address: str) -> str:
    return _key("account-at", f"{username.lower()}\n{address}")


def address_key(address: str) -> str:
    return _key("address", address)


def second_factor_key(user_id: str) -> str:
    return _key("totp", user_id)


def _locked_row(session: Session, key: str, now: datetime) -> LoginThrottle:
    """The key's row, created if missing, locked until the transaction ends."""
    values = {"key_hash": key, "failures": 0, "window_started_at": now}
    # Two first attempts at once: one row, no unique-key error.
    insert_once(session, LoginThrottle, values, ("key_hash",))
    row = session.get(LoginThrottle, key, with_for_update=True, populate_existing=True)
    assert row is not None  # inserted above, and throttle rows are deleted only when stale
    return row


def attempt(session: Session, key: str, throttle: Throttle, now: datetime) -> datetime | None:
    """Count one attempt before it is checked; when it must wait, until when (else None).

    A refused attempt is not counted: it checked nothing.
    """
    row = _locked_row(session, key, now)
    if row.locked_until is not None and row.locked_until > now:
        return row.locked_until
    if now - row.window_started_at > throttle.forget:
        row.failures = 0
    row.failures += 1
    row.window_started_at = now  # the last attempt: a key quiet for ``forget`` starts afresh
    wait = throttle.delay(row.failures)
    row.locked_until = now + wait if wait else None
    session.flush()
    return None


def succeeded(session: Session, key: str) -> None:
    """The attempt was right: the key starts afresh."""
    row = session.get(LoginThrottle, key)
    if row is not None:
        session.delete(row)
        session.flush()


def forgive(session: Session, key: str) -> None:
    """Take back the count of one right attempt without clearing the others.

    For a key shared by several accounts (an address): one person signing in
    must not wipe what a sprayer at the same address has run up.  The row is
    still locked by :func:`attempt` in this transaction.
    """
    row = session.get(LoginThrottle, key)
    if row is not None and row.failures > 0:
        row.failures -= 1
        row.locked_until = None  # it was not locked when this attempt was let through
        session.flush()
