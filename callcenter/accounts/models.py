"""Console rows: accounts, server-side sessions and login throttles.

Sessions live in the database, not in a signed cookie, so that logging out (or
an administrator disabling an account) ends them everywhere at once: a stolen
cookie stops working.  Only hashes of session tokens are stored (ASVS 7.1.1).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.security.encrypted import EncryptedField, EncryptedRow
from callcenter.storage.db import Base, UTCDateTime

ROLES = ("secretary", "doctor", "admin")


class ConsoleUser(EncryptedRow, Base):
    """A person who logs in: a role, the practices they serve, an Argon2 hash, a TOTP secret."""

    __tablename__ = "console_users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    # The practices whose data the account may see; an administrator sees all.
    practices: Mapped[list[str]] = mapped_column(JSON, default=list)
    doctor_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    totp_secret_ct: Mapped[bytes | None] = mapped_column("totp_secret", LargeBinary)
    totp_enrolled: Mapped[bool] = mapped_column(default=False)
    # The last TOTP time step accepted: a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    # Console secrets belong to no practice: they are bound to this scope instead.
    key_scope = "console"
    totp_secret = EncryptedField("totp_secret_ct", practice_attr="key_scope")

    @property
    def active(self) -> bool:
        return self.disabled_at is None


class ConsoleSession(Base):
    """One login: the hash of its cookie token, how far the login went, when it was used."""

    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        ForeignKey("console_users.id", ondelete="CASCADE"), index=True
    )
    # password -> (enrol) -> full: only "full" opens pages other than the second factor.
    stage: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)


class LoginThrottle(Base):
    """Attempts in a row under one key (an account at an address, an address, a second factor).

    The key is a hash, so neither usernames typed by strangers nor addresses
    are stored.  ``window_started_at`` holds the last attempt and
    ``locked_until`` when the next one may be checked (a delay, see
    :mod:`callcenter.accounts.throttle`); the column names predate the delays.
    """

    __tablename__ = "console_login_throttles"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
