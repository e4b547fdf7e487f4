"""Server-side console sessions: a random token in a ``__Host-`` cookie, its hash here.

A login goes through stages (password, then enrolment or the second factor,
then full access) and gets a new token at each step up, so a token seen
before login is worthless after it.  Sessions end after 30 minutes idle or
12 hours in all (HIPAA automatic logoff, ASVS L2), and at logout everywhere.
An account keeps at most :data:`MAX_LIVE` sessions: a new login ends the
least recently used beyond that, so forgotten or stolen sessions do not pile up.
The CSRF token of a form is derived from the cookie's token, which scripts
cannot read (HttpOnly) and other sites cannot send (SameSite=Strict).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.accounts.models import ConsoleSession, ConsoleUser

COOKIE = "__Host-callcenter"
IDLE = timedelta(minutes=30)
ABSOLUTE = timedelta(hours=12)
STAGES = ("password", "enrol", "full")
MAX_LIVE = 5  # a person's browsers and devices; a sixth login ends the least recently used


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(cookie_token: str) -> str:
    """The token forms must carry: bound to this cookie, useless without it."""
    return hashlib.sha256(f"csrf:{cookie_token}".encode()).hexdigest()


def csrf_ok(cookie_token: str | None, sent: str | None) -> bool:
    return bool(cookie_token and sent) and hmac.compare_digest(
        csrf_token(cookie_token or ""), sent or ""
    )


@dataclass(frozen=True)
class Current:
    """The session a request belongs to and its account."""

    row: ConsoleSession
    user: ConsoleUser


def open_session(session: Session, user: ConsoleUser, stage: str, now: datetime) -> str:
    """Start a login at ``stage``; returns the cookie token (only its hash is kept)."""
    token = new_token()
    session.add(
        ConsoleSession(
            token_hash=token_hash(token), user_id=user.id, stage=stage,
            created_at=now, last_seen_at=now,
        )
    )  # fmt: skip
    session.flush()
    _end_beyond_cap(session, user.id, token_hash(token), now)
    return token


def _end_beyond_cap(session: Session, user_id: str, newest: str, now: datetime) -> None:
    """End the account's live sessions beyond :data:`MAX_LIVE`, least recently used first."""
    live = session.scalars(
        select(ConsoleSession)
        .where(
            ConsoleSession.user_id == user_id,
            ConsoleSession.ended_at.is_(None),
            ConsoleSession.token_hash != newest,
        )
        .order_by(ConsoleSession.last_seen_at.desc(), ConsoleSession.created_at.desc())
    ).all()
    for row in live[MAX_LIVE - 1 :]:
        row.ended_at = now
    session.flush()


def step_up(session: Session, current: Current, stage: str, now: datetime) -> str:
    """Move the login to ``stage`` under a new token; the old one stops working."""
    token = new_token()
    old = current.row
    session.add(
        ConsoleSession(
            token_hash=token_hash(token), user_id=old.user_id, stage=stage,
            created_at=old.created_at, last_seen_at=now,
        )
    )  # fmt: skip
    old.ended_at = now
    session.flush()
    return token


def expired(row: ConsoleSession, now: datetime) -> str | None:
    """Why a session no longer counts ("ended", "idle", "absolute"), or None."""
    if row.ended_at is not None:
        return "ended"
    if now - row.last_seen_at > IDLE:
        return "idle"
    if now - row.created_at > ABSOLUTE:
        return "absolute"
    return None


def find(session: Session, token: str | None, now: datetime) -> tuple[Current | None, str | None]:
    """The live session of a cookie token and, when there is none, why."""
    if not token:
        return None, None
    row = session.get(ConsoleSession, token_hash(token))
    if row is None:
        return None, None
    reason = expired(row, now)
    user = session.get(ConsoleUser, row.user_id)
    if reason is None and (user is None or not user.active):
        reason = "ended"
    if reason is not None or user is None:
        if row.ended_at is None:
            row.ended_at = now
        return None, reason
    row.last_seen_at = now
    return Current(row, user), None


def close(current: Current, now: datetime) -> None:
    current.row.ended_at = now
