"""Console accounts: created by the administrator, Argon2 passwords, throttled logins.

Passwords are generated, never chosen at the command line, and shown once:
the administrator hands them over and the person enrols a second factor at
first login.  Attempts are throttled per account at an address and per address
(:mod:`callcenter.accounts.throttle`): growing delays, answered 429, never a lock.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Sequence
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.accounts import throttle
from callcenter.accounts.models import ROLES, ConsoleSession, ConsoleUser
from callcenter.audit import trail as audit
from callcenter.storage.db import new_id

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
# Checked against when the username is unknown, so both answers take as long.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """A command or form asked for something impossible; the message says what."""


def new_password() -> str:
    """Twenty random characters from a URL-safe alphabet (about 120 bits)."""
    return secrets.token_urlsafe(15)


def create_user(
    session: Session,
    username: str,
    role: str,
    practices: Sequence[str],
    *,
    now: datetime,
    doctor_id: str | None = None,
    actor: str = "cli",
) -> tuple[ConsoleUser, str]:
    """Add an account; returns it and its first password (shown once, stored hashed)."""
    if not USERNAME.fullmatch(username):
        raise AccountError("username: 2-64 characters among a-z 0-9 . _ - (lower case)")
    if role not in ROLES:
        raise AccountError(f"role: one of {', '.join(ROLES)}")
    if role != "admin" and not practices:
        raise AccountError(f"a {role} needs at least one practice (--practice)")
    if role == "doctor" and not doctor_id:
        raise AccountError("a doctor account needs the doctor's id in the practice file (--doctor)")
    if session.scalar(select(ConsoleUser.id).where(ConsoleUser.username == username)):
        raise AccountError(f"username {username!r} is taken")
    password = new_password()
    user = ConsoleUser(
        id=new_id(),
        username=username,
        role=role,
        practices=list(practices),
        doctor_id=doctor_id if role == "doctor" else None,
        password_hash=_HASHER.hash(password),
        totp_enrolled=False,
        created_at=now,
    )
    session.add(user)
    session.flush()
    audit.append(
        session, actor=actor, action="console.user_added", object_ref=user.id,
        details={"role": role, "practices": list(practices)}, now=now,
    )  # fmt: skip
    return user, password


def find_user(session: Session, username: str) -> ConsoleUser | None:
    return session.scalar(select(ConsoleUser).where(ConsoleUser.username == username))


def _named(session: Session, username: str) -> ConsoleUser:
    user = find_user(session, username)
    if user is None:
        raise AccountError(f"no account named {username!r}")
    return user


def end_sessions(session: Session, user_id: str, now: datetime) -> None:
    for row in session.scalars(
        select(ConsoleSession).where(
            ConsoleSession.user_id == user_id, ConsoleSession.ended_at.is_(None)
        )
    ):
        row.ended_at = now


def disable_user(session: Session, username: str, *, now: datetime, actor: str = "cli") -> None:
    """Refuse further logins and end the account's open sessions at once."""
    user = _named(session, username)
    end_sessions(session, user.id, now)
    if user.disabled_at is not None:
        return  # already disabled: nothing changes, nothing more to audit
    user.disabled_at = now
    audit.append(session, actor=actor, action="console.user_disabled", object_ref=user.id, now=now)


def reset_user(session: Session, username: str, *, now: datetime, actor: str = "cli") -> str:
    """A new password and a new second factor to enrol; re-enables a disabled account."""
    user = _named(session, username)
    password = new_password()
    user.password_hash = _HASHER.hash(password)
    user.totp_secret = None
    user.totp_enrolled = False
    user.totp_last_step = None
    user.disabled_at = None
    end_sessions(session, user.id, now)
    throttle.succeeded(session, throttle.second_factor_key(user.id))  # a fresh start
    audit.append(session, actor=actor, action="console.user_reset", object_ref=user.id, now=now)
    return password


def check_password(user: ConsoleUser | None, password: str) -> bool:
    """True when ``password`` is the account's; as slow for unknown or disabled accounts."""
    ok = False
    with contextlib.suppress(VerificationError, InvalidHashError):
        ok = _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
    return ok and user is not None and user.active


def rehash_if_needed(user: ConsoleUser, password: str) -> None:
    """Move the stored hash to the library's current parameters after a good login."""
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = _HASHER.hash(password)


def list_users(session: Session) -> list[ConsoleUser]:
    return list(session.scalars(select(ConsoleUser).order_by(ConsoleUser.username)))
