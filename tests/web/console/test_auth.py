"""Signing in to the console: Argon2 passwords, TOTP enrolled with a QR code and
never accepted twice, throttling, server-side sessions with timeouts, CSRF,
cookie flags and roles (docs/console.md, How it is locked down; HIPAA automatic logoff)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from callcenter.accounts.models import ConsoleSession
from callcenter.accounts.sessions import COOKIE
from callcenter.audit import trail as audit
from callcenter.audit.models import AuditEntry
from tests.conftest import OPEN_HOURS, services, set_clock
from tests.test_canary import rendered_logs as rendered_logs  # the fixture
from tests.web.console.conftest import Console


def cookie(console: Console) -> str | None:
    found = console.client.get_cookie(COOKIE)
    return found.value if found else None


def at(app, delta: timedelta) -> None:
    set_clock(app, (OPEN_HOURS + delta).isoformat())


def actions(app) -> list[str]:
    with services(app).db.session() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def password_step(console: Console, username: str, password: str):
    console.get("/console/login")
    return console.post("/console/login", {"username": username, "password": password})


# -- first login and enrolment ------------------------------------------------------


def test_first_login_enrols_totp_with_a_qr_code_then_opens_the_role_home(app, make_user, console):
    username, password = make_user("lea", "secretary")
    answer = password_step(console, username, password)
    assert answer.status_code == 302 and answer.location.endswith("/console/second-factor")
    page = console.get("/console/second-factor").get_data(as_text=True)
    assert "<svg" in page and "totp-secret" in page  # the QR code, and the key typed by hand
    assert console.post("/console/second-factor", {"code": "000000"}).status_code == 401
    done = console.post("/console/second-factor", {"code": console.code(username)})
    assert done.status_code == 302 and done.location.endswith("/console/")
    assert console.get("/console/").location.endswith("/console/messages")
    assert console.get("/console/messages").status_code == 200
    assert actions(app)[-1] == "console.login"


def test_a_wrong_password_and_an_unknown_account_get_the_same_answer(make_user, console):
    username, _ = make_user("lea", "secretary")
    wrong = password_step(console, username, "not-the-password")
    unknown = password_step(console, "nobody", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert "Identifiant ou mot de passe incorrect" in wrong.get_data(as_text=True)
    assert "Identifiant ou mot de passe incorrect" in unknown.get_data(as_text=True)


def test_pages_need_a_full_login_even_after_the_password(make_user, console):
    username, password = make_user("lea", "secretary")
    assert console.get("/console/messages").location.endswith("/console/login")
    password_step(console, username, password)
    # The password alone opens the second-factor page and nothing else.
    assert console.get("/console/messages").location.endswith("/console/login")


def test_the_totp_secret_is_stored_encrypted(app, make_user, console):
    username, password = make_user("lea", "secretary")
    password_step(console, username, password)
    page = console.get("/console/second-factor").get_data(as_text=True)
    shown = page.split('id="totp-secret">')[1].split("<")[0].replace(" ", "")
    with services(app).db.session() as session:
        raw = session.execute(text("SELECT totp_secret, password_hash FROM console_users")).one()
    assert shown.encode() not in bytes(raw[0])
    assert raw[1].startswith("$argon2id$") and password not in raw[1]


# -- the second factor is used once ---------------------------------------------------


def test_a_totp_code_is_refused_when_reused_within_its_window(app, make_user, rendered_logs):
    username, password = make_user("lea", "secretary")
    first = Console(app)
    first.login(username, password)
    code = first.code(username)
    second = Console(app)
    password_step(second, username, password)
    second.get("/console/second-factor")
    refused = second.post("/console/second-factor", {"code": code})
    assert refused.status_code == 401
    assert "déjà servi" in refused.get_data(as_text=True)
    assert '"reason": "reused"' in rendered_logs.getvalue()
    assert code not in rendered_logs.getvalue()  # never the code itself
    at(app, timedelta(seconds=30))  # the next code, a step later, works
    assert second.post("/console/second-factor", {"code": second.code(username)}).status_code == 302


# -- throttling -----------------------------------------------------------------------


def test_wrong_passwords_from_one_address_bring_growing_delays(app, make_user, console):
    username, password = make_user("lea", "secretary")
    for _ in range(5):
        assert password_step(console, username, "wrong").status_code == 401
    delayed = password_step(console, username, password)  # even the right one waits
    assert delayed.status_code == 429
    assert "Trop de tentatives" in delayed.get_data(as_text=True)
    at(app, timedelta(seconds=31))
    assert password_step(console, username, "wrong").status_code == 401  # checked again
    at(app, timedelta(seconds=31 + 59))
    assert password_step(console, username, password).status_code == 429  # a minute now
    at(app, timedelta(seconds=31 + 61))
    assert password_step(console, username, password).status_code == 302


def test_no_one_can_keep_an_account_locked_from_another_address(app, make_user):
    """A stranger's wrong passwords delay the stranger, not the account's owner."""
    username, password = make_user("lea", "secretary")
    stranger = Console(app)
    stranger.client.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    for _ in range(12):
        assert password_step(stranger, username, "wrong").status_code in (401, 429)
    owner = Console(app)
    owner.client.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert password_step(owner, username, password).status_code == 302


def proxied_app(settings, hops: int):
    import dataclasses

    from callcenter.web.app import create_app
    from tests.conftest import bound, create_tables

    app = bound(create_app(dataclasses.replace(settings, trusted_proxies=hops)))
    create_tables(services(app).db)
    return app


def from_client(app, client_address: str) -> Console:
    """A browser whose requests reach the app through a proxy on 127.0.0.1."""
    console = Console(app)
    console.client.environ_base.update(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=client_address)
    return console


def test_behind_a_trusted_proxy_a_sprayer_does_not_shut_out_the_others(settings, make_user):
    app = proxied_app(settings, 1)
    try:
        svc = services(app)
        with svc.db.session() as session:
            from callcenter.accounts import accounts

            _, password = accounts.create_user(
                session, "lea", "secretary", ["demo"], now=svc.clock.now()
            )
        sprayer = from_client(app, "203.0.113.9")
        for n in range(50):
            assert password_step(sprayer, f"made-up-{n}", "wrong").status_code == 401
        assert password_step(sprayer, "made-up-x", "wrong").status_code == 429
        assert password_step(from_client(app, "198.51.100.7"), "lea", password).status_code == 302
    finally:
        services(app).db.dispose()


def test_behind_a_proxy_it_does_not_trust_the_console_refuses_to_sign_in(settings, caplog):
    """With TRUSTED_PROXIES=0 every client would share the proxy's address, and its limits."""
    app = proxied_app(settings, 0)
    try:
        page = from_client(app, "203.0.113.9").get("/console/login")
        assert page.status_code == 503
        assert "TRUSTED_PROXIES" in page.get_data(as_text=True)
        assert "console_behind_untrusted_proxy" in caplog.text
        direct = Console(app)  # straight from a client: no proxy, nothing refused
        direct.client.environ_base.update(
            REMOTE_ADDR="80.12.34.56", HTTP_X_FORWARDED_FOR="10.0.0.1"
        )
        assert direct.get("/console/login").status_code == 200
    finally:
        services(app).db.dispose()


def test_wrong_codes_lock_the_second_factor(app, make_user, console):
    username, password = make_user("lea", "secretary")
    password_step(console, username, password)
    console.get("/console/second-factor")
    for _ in range(5):
        assert console.post("/console/second-factor", {"code": "000000"}).status_code == 401
    right = console.post("/console/second-factor", {"code": console.code(username)})
    assert right.status_code == 429


# -- sessions -------------------------------------------------------------------------


def test_each_login_step_gives_a_new_session_id_and_the_old_ones_stop_working(app, make_user):
    username, password = make_user("lea", "secretary")
    console = Console(app)
    console.get("/console/login")
    before = cookie(console)
    password_step(console, username, password)
    after_password = cookie(console)
    console.get("/console/second-factor")
    console.post("/console/second-factor", {"code": console.code(username)})
    after_totp = cookie(console)
    assert len({before, after_password, after_totp}) == 3
    thief = Console(app)
    thief.client.set_cookie(COOKIE, after_password or "")
    assert thief.get("/console/messages").location.endswith("/console/login")


def test_the_session_cookie_is_host_only_secure_httponly_and_strict(make_user, console):
    page = console.get("/console/login")
    header = page.headers["Set-Cookie"]
    assert header.startswith(f"{COOKIE}=")
    for flag in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
        assert flag in header
    assert "Domain=" not in header


def test_logout_ends_the_session_for_a_stolen_cookie_too(app, make_user, secretary):
    stolen = cookie(secretary)
    thief = Console(app)
    thief.client.set_cookie(COOKIE, stolen or "")
    assert thief.get("/console/messages").status_code == 200
    secretary.get("/console/messages")
    assert secretary.post("/console/logout").status_code == 302
    assert thief.get("/console/messages").location.endswith("/console/login")
    assert secretary.get("/console/messages").location.endswith("/console/login")


def test_a_sixth_login_of_one_account_ends_its_least_recently_used_session(app, make_user):
    username, password = make_user("lea", "secretary")
    browsers = []
    for n in range(6):
        at(app, timedelta(minutes=n))  # each its own TOTP step
        browser = Console(app)
        browser.login(username, password)
        browsers.append(browser)
    at(app, timedelta(minutes=7))
    assert browsers[0].get("/console/messages").location.endswith("/console/login")
    for browser in browsers[1:]:
        assert browser.get("/console/messages").status_code == 200
    with services(app).db.session() as session:
        live = session.scalars(select(ConsoleSession).where(ConsoleSession.ended_at.is_(None)))
        assert len(list(live)) == 5


def test_thirty_minutes_idle_logs_out(app, secretary):
    at(app, timedelta(minutes=29))
    assert secretary.get("/console/messages").status_code == 200
    at(app, timedelta(minutes=29 + 31))
    answer = secretary.get("/console/messages")
    assert answer.location.endswith("/console/login?expired=1")
    assert "expiré" in secretary.get(answer.location).get_data(as_text=True)


def test_twelve_hours_end_even_a_busy_session(app, secretary):
    for minutes in range(20, 12 * 60, 20):
        at(app, timedelta(minutes=minutes))
        assert secretary.get("/console/messages").status_code == 200
    at(app, timedelta(hours=12, minutes=1))
    assert secretary.get("/console/messages").location.endswith("/console/login?expired=1")


def test_disabling_an_account_ends_its_sessions(app, secretary):
    from callcenter.accounts import accounts

    svc = services(app)
    with svc.db.session() as session:
        accounts.disable_user(session, "lea", now=svc.clock.now())
    assert secretary.get("/console/messages").location.endswith("/console/login")
    with svc.db.session() as session:
        open_rows = session.scalars(select(ConsoleSession).where(ConsoleSession.ended_at.is_(None)))
        assert list(open_rows) == []


# -- CSRF, headers, roles ------------------------------------------------------------


def test_a_form_without_its_token_or_with_another_sessions_token_is_refused(
    app, make_user, secretary
):
    assert secretary.post("/console/logout", token=False).status_code == 403
    other = Console(app)
    other.get("/console/login")
    assert secretary.post("/console/logout", {"csrf_token": other.token}).status_code == 403
    assert secretary.get("/console/messages").status_code == 200  # still signed in
    assert (
        other.post("/console/login", {"username": "lea", "password": "x"}, token=False).status_code
        == 403
    )


def test_console_pages_carry_strict_security_headers(secretary):
    headers = secretary.get("/console/messages").headers
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Cache-Control"] == "no-store"
    assert headers["Referrer-Policy"] == "no-referrer"


def test_console_answers_ask_browsers_for_https_only(console):
    """HSTS: after one visit, a browser never sends the session cookie's site over plain HTTP."""
    for page in (console.get("/console/login"), console.get("/console/messages")):
        assert page.headers["Strict-Transport-Security"] == "max-age=31536000"


@pytest.mark.parametrize(
    ("role", "allowed", "refused"),
    [
        ("secretary", "/console/messages", "/console/admin"),
        ("doctor", "/console/doctor", "/console/messages"),
        ("admin", "/console/admin", "/console/appointments"),
    ],
)
def test_each_role_opens_its_pages_and_not_the_others(
    app, make_user, console, role, allowed, refused
):
    doctor = "dr-martin" if role == "doctor" else None
    console.login(*make_user("someone", role, [] if role == "admin" else ["demo"], doctor))
    assert console.get(allowed).status_code == 200
    assert console.get(refused).status_code == 403


def test_the_audit_chain_verifies_after_logins_and_views(app, secretary):
    secretary.get("/console/messages")
    with services(app).db.session() as session:
        assert audit.verify(session).ok
