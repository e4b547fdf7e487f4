"""Signing in (password, then TOTP, enrolled with a QR code at first login) and out."""

from __future__ import annotations

import ipaddress
from datetime import datetime

from flask import g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from callcenter.accounts import accounts, sessions, throttle, totp
from callcenter.audit import trail as audit
from callcenter.web.console.blueprint import bp
from callcenter.web.console.guard import db, log, now, services, set_cookie_token, text, user

HOME = {"secretary": "console.messages", "doctor": "console.doctor_home", "admin": "console.admin"}


def _locked_page(template: str, until_minutes: int, **context: object) -> ResponseReturnValue:
    error = text("login.locked", minutes=max(1, until_minutes))
    return render_template(template, error=error, **context), 429


def _minutes_left(until: datetime) -> int:
    return int((until - now()).total_seconds() // 60) + 1


def _behind_untrusted_proxy() -> bool:
    """A proxy on a private address forwards to us, yet TRUSTED_PROXIES is 0.

    Every client would then share the proxy's address, and one stranger's
    failures would delay everyone: sign-in stays closed until it is set.  A
    client that reaches the server directly may send the header too; its
    public address keeps it out of this.
    """
    if services().settings.trusted_proxies or "X-Forwarded-For" not in request.headers:
        return False
    try:
        peer = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return peer.is_private or peer.is_loopback


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if _behind_untrusted_proxy():
        log.error("console_behind_untrusted_proxy", hint="set TRUSTED_PROXIES to their count")
        return render_template("console/login.html", error=text("login.untrusted_proxy")), 503
    if request.method == "GET":
        notice = text("login.expired") if request.args.get("expired") else None
        return render_template("console/login.html", notice=notice)
    username = request.form.get("username", "").strip().lower()[:64]
    password = request.form.get("password", "")[:1024]
    session, moment = db(), now()
    address = request.remote_addr or "-"
    # The address first: a refused attempt leaves the account's count untouched.
    keys = [throttle.address_key(address), throttle.account_at_address_key(username, address)]
    for key, limit in zip(keys, (throttle.ADDRESS, throttle.ACCOUNT_AT_ADDRESS), strict=True):
        until = throttle.attempt(session, key, limit, moment)
        if until is not None:
            if key == keys[1]:
                throttle.forgive(session, keys[0])  # nothing was checked
            log.warning("console_login_delayed")
            return _locked_page("console/login.html", _minutes_left(until))
    account = accounts.find_user(session, username)
    if not accounts.check_password(account, password) or account is None:
        log.warning("console_login_failed")
        return render_template("console/login.html", error=text("login.wrong")), 401
    throttle.forgive(session, keys[0])
    throttle.succeeded(session, keys[1])
    accounts.rehash_if_needed(account, password)
    stage = "password" if account.totp_enrolled else "enrol"
    set_cookie_token(sessions.open_session(session, account, stage, moment))
    log.info("console_password_ok", user=account.id, stage=stage)
    return redirect(url_for("console.second_factor"))


@bp.route("/second-factor", methods=["GET", "POST"])
def second_factor() -> ResponseReturnValue:
    current: sessions.Current | None = g.console_current
    if current is None or current.row.stage not in ("password", "enrol"):
        return redirect(url_for("console.login"))
    account, session, moment = current.user, db(), now()
    enrolling = current.row.stage == "enrol"
    if enrolling and not account.totp_secret:
        totp.start_enrolment(account)
    context: dict[str, object] = {"enrolling": enrolling}
    if enrolling:
        secret = account.totp_secret or ""
        context["secret"] = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
        context["qr"] = totp.qr_svg(totp.provisioning_uri(account, secret))
    if request.method == "GET":
        return render_template("console/second_factor.html", **context)
    key = throttle.second_factor_key(account.id)
    # Counted before the code is checked, under a row lock: a burst cannot outrun it.
    until = throttle.attempt(session, key, throttle.SECOND_FACTOR, moment)
    if until is not None:
        return _locked_page("console/second_factor.html", _minutes_left(until), **context)
    result = totp.accept(session, account, request.form.get("code", "")[:16], moment)
    if result != "ok":
        # A reused code may mean someone watched it being typed: say so in the log.
        log.warning("console_totp_refused", user=account.id, reason=result)
        error = text("totp.reused" if result == "reused" else "totp.wrong")
        return render_template("console/second_factor.html", error=error, **context), 401
    throttle.succeeded(session, key)
    account.totp_enrolled = True
    account.last_login_at = moment
    set_cookie_token(sessions.step_up(session, current, "full", moment))
    audit.append(
        session, actor=f"console:{account.username}", action="console.login",
        object_ref=account.id, details={"enrolled": enrolling}, now=moment,
    )  # fmt: skip
    return redirect(url_for("console.home"))


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    sessions.close(g.console_current, now())
    log.info("console_logout", user=user().id)
    set_cookie_token(sessions.new_token())
    return redirect(url_for("console.login"))


@bp.get("/")
def home() -> ResponseReturnValue:
    return redirect(url_for(HOME[user().role]))
