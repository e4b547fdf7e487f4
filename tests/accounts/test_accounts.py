"""callcenter.accounts.accounts without Flask: creating, disabling and resetting console
accounts (sign-in, TOTP, sessions and throttling are tested in
tests/web/console/test_auth.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher, Type
from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.accounts import accounts, sessions, throttle
from callcenter.accounts.models import ConsoleSession, ConsoleUser, LoginThrottle
from callcenter.audit import trail as audit
from callcenter.audit.models import AuditEntry
from tests.backoffice.test_inbox import session_of
from tests.conftest import OPEN_HOURS, SHIPPED_PASSWORD_HASHER

LATER = OPEN_HOURS + timedelta(hours=1)


def add(
    session: Session, username: str = "lea", role: str = "secretary", **kw: object
) -> tuple[ConsoleUser, str]:
    kw.setdefault("practices", ["demo"])
    return accounts.create_user(session, username, role, now=OPEN_HOURS, **kw)


def entries(session: Session) -> list[tuple[str, str, str | None]]:
    rows = session.scalars(select(AuditEntry).order_by(AuditEntry.seq))
    return [(e.actor, e.action, e.object_ref) for e in rows]


def open_sessions(session: Session, user: ConsoleUser) -> list[ConsoleSession]:
    query = select(ConsoleSession).where(
        ConsoleSession.user_id == user.id, ConsoleSession.ended_at.is_(None)
    )
    return list(session.scalars(query))


# -- create ---------------------------------------------------------------------------


def test_create_stores_an_argon2_hash_of_a_generated_password_and_audits_it(app):
    with session_of(app) as session:
        user, password = add(session, actor="cli:admin")
        assert len(password) == 20 and password not in user.password_hash
        assert user.password_hash.startswith("$argon2id$")
        assert accounts.check_password(user, password)
        assert not accounts.check_password(user, password + "x")
        assert (user.role, user.practices, user.doctor_id) == ("secretary", ["demo"], None)
        assert not user.totp_enrolled and user.totp_secret is None and user.active
        assert entries(session) == [("cli:admin", "console.user_added", user.id)]
        [entry] = session.scalars(select(AuditEntry))
        assert entry.details == '{"practices":["demo"],"role":"secretary"}'  # ids, no name
        assert audit.verify(session).ok


def test_the_server_hashes_at_the_librarys_recommended_cost():
    """The suite hashes at the lowest cost (tests/conftest.py); the server never does."""
    shipped, recommended = SHIPPED_PASSWORD_HASHER, PasswordHasher()
    assert shipped.type is Type.ID
    for parameter in ("time_cost", "memory_cost", "parallelism", "hash_len", "salt_len"):
        assert getattr(shipped, parameter) == getattr(recommended, parameter), parameter


def test_two_accounts_never_share_a_password(app):
    with session_of(app) as session:
        _, first = add(session, "lea")
        _, second = add(session, "marc")
    assert first != second


@pytest.mark.parametrize(
    ("username", "role", "practices", "doctor_id", "error"),
    [
        ("Lea", "secretary", ["demo"], None, "username: 2-64 characters"),
        ("l", "secretary", ["demo"], None, "username: 2-64 characters"),
        ("x" * 65, "secretary", ["demo"], None, "username: 2-64 characters"),
        ("léa", "secretary", ["demo"], None, "username: 2-64 characters"),
        ("-lea", "secretary", ["demo"], None, "username: 2-64 characters"),
        ("lea", "nurse", ["demo"], None, "role: one of secretary, doctor, admin"),
        ("lea", "secretary", [], None, "a secretary needs at least one practice"),
        ("claire", "doctor", ["demo"], None, "a doctor account needs the doctor's id"),
    ],
)
def test_create_refuses_what_cannot_work_and_adds_nothing(
    app, username, role, practices, doctor_id, error
):
    with session_of(app) as session:
        with pytest.raises(accounts.AccountError, match=error):
            add(session, username, role, practices=practices, doctor_id=doctor_id)
        assert accounts.list_users(session) == [] and entries(session) == []


def test_a_username_is_unique(app):
    with session_of(app) as session:
        add(session, "lea")
        with pytest.raises(accounts.AccountError, match="username 'lea' is taken"):
            add(session, "lea", "admin", practices=[])
        assert [u.role for u in accounts.list_users(session)] == ["secretary"]


def test_only_a_doctor_keeps_a_doctor_id_and_an_admin_needs_no_practice(app):
    with session_of(app) as session:
        doctor, _ = add(session, "claire", "doctor", doctor_id="dr-martin")
        secretary, _ = add(session, "lea", doctor_id="dr-martin")
        admin, _ = add(session, "root", "admin", practices=[])
        assert (doctor.doctor_id, secretary.doctor_id, admin.practices) == ("dr-martin", None, [])
        assert [u.username for u in accounts.list_users(session)] == ["claire", "lea", "root"]


# -- disable ------------------------------------------------------------------------


def test_disable_ends_every_open_session_and_refuses_the_password(app):
    with session_of(app) as session:
        user, password = add(session)
        for _ in range(2):  # two browsers
            sessions.open_session(session, user, "full", OPEN_HOURS)
        accounts.disable_user(session, "lea", now=LATER, actor="cli:admin")
        assert user.disabled_at == LATER and not user.active
        assert open_sessions(session, user) == []
        assert not accounts.check_password(user, password)
        assert entries(session)[-1] == ("cli:admin", "console.user_disabled", user.id)


def test_disabling_twice_keeps_the_first_date(app):
    with session_of(app) as session:
        user, _ = add(session)
        accounts.disable_user(session, "lea", now=OPEN_HOURS)
        accounts.disable_user(session, "lea", now=LATER)
        assert user.disabled_at == OPEN_HOURS


def test_disabling_twice_is_audited_once(app):
    with session_of(app) as session:
        add(session)
        accounts.disable_user(session, "lea", now=OPEN_HOURS)
        accounts.disable_user(session, "lea", now=LATER)
        assert [a for _, a, _ in entries(session)].count("console.user_disabled") == 1


def test_an_unknown_account_cannot_be_disabled_or_reset(app):
    with session_of(app) as session:
        for change in (accounts.disable_user, accounts.reset_user):
            with pytest.raises(accounts.AccountError, match="no account named 'nobody'"):
                change(session, "nobody", now=OPEN_HOURS)
        assert entries(session) == []


# -- reset --------------------------------------------------------------------------


def test_reset_gives_a_new_password_and_second_factor_and_re_enables(app):
    with session_of(app) as session:
        user, old = add(session)
        user.totp_secret = "JBSWY3DPEHPK3PXP"
        user.totp_enrolled, user.totp_last_step = True, 12345
        sessions.open_session(session, user, "full", OPEN_HOURS)
        accounts.disable_user(session, "lea", now=OPEN_HOURS)
        key = throttle.second_factor_key(user.id)
        for _ in range(5):  # the second factor closed for 15 minutes
            throttle.attempt(session, key, throttle.SECOND_FACTOR, OPEN_HOURS)
        new = accounts.reset_user(session, "lea", now=LATER, actor="cli:admin")
        assert new != old and user.active
        assert accounts.check_password(user, new) and not accounts.check_password(user, old)
        assert (user.totp_secret, user.totp_enrolled, user.totp_last_step) == (None, False, None)
        assert open_sessions(session, user) == []
        assert session.get(LoginThrottle, key) is None  # a fresh start for the person
        assert entries(session)[-1] == ("cli:admin", "console.user_reset", user.id)
        assert audit.verify(session).ok


def test_no_password_or_secret_reaches_the_audit_log(app):
    with session_of(app) as session:
        user, password = add(session)
        new = accounts.reset_user(session, "lea", now=LATER)
        accounts.disable_user(session, "lea", now=LATER)
        raw = " ".join(
            f"{e.actor} {e.action} {e.object_ref} {e.details}"
            for e in session.scalars(select(AuditEntry))
        )
    for secret in (password, new, user.password_hash, "lea"):
        assert secret not in raw
