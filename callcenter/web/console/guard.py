"""What every console request goes through: its database session, its login, CSRF,
roles, headers, and the audit of decrypted views.

Pages reach the data of the practices their account serves and nothing else:
:func:`practice_ids` is the only list a page may query with, and an id from a
form or a path outside it answers 404 (never saying whether it exists).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any, TypeVar

from flask import Response, abort, current_app, g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from callcenter.accounts import sessions
from callcenter.accounts.models import ConsoleUser
from callcenter.audit import trail as audit
from callcenter.config.practice import Practice
from callcenter.core import french
from callcenter.core.logs import get_logger
from callcenter.services import Services, StartupError
from callcenter.web.console.blueprint import bp
from callcenter.web.console.text import DEFAULT_LANGUAGE, TextError, catalogue

log = get_logger("callcenter.console")
F = TypeVar("F", bound=Callable[..., ResponseReturnValue])

# Pages open before a full login; everything else needs one.
OPEN_ENDPOINTS = frozenset({"console.login", "console.second_factor", "console.static"})
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    # HTTPS only for a year once seen: no downgrade to plain HTTP on a hostile network.
    # Without includeSubDomains: the practice's other hosts are not ours to decide.
    "Strict-Transport-Security": "max-age=31536000",
}


def services() -> Services:
    svc: Services = current_app.extensions["callcenter"]
    return svc


def now() -> datetime:
    return services().clock.now()


def db() -> Session:
    session: Session = g.console_db
    return session


def user() -> ConsoleUser:
    current: sessions.Current = g.console_current
    return current.user


def language() -> str:
    return str(services().settings.extra.get("console_language") or DEFAULT_LANGUAGE)


def text(key: str, **values: Any) -> str:
    """A sentence of the console catalogue, with ``{name}`` fields filled in."""
    wording = catalogue(language()).get(key) or catalogue(DEFAULT_LANGUAGE)[key]
    return wording.format(**values) if values else wording


def outcome_label(code: str | None) -> str:
    """A call's outcome in the console's words (the code itself when unnamed)."""
    key = f"outcome.{code or 'none'}"
    return text(key) if key in catalogue(DEFAULT_LANGUAGE) else str(code)


def set_cookie_token(token: str) -> None:
    """Send this token as the session cookie with the response (a new id at each login step)."""
    g.console_new_token = token


def cookie_token() -> str | None:
    return getattr(g, "console_new_token", None) or request.cookies.get(sessions.COOKIE)


@bp.record_once
def check_wording(state: Any) -> None:
    """Load the console's catalogue at start-up: a missing file or key stops the start."""
    svc: Services = state.app.extensions["callcenter"]
    try:
        catalogue(str(svc.settings.extra.get("console_language") or DEFAULT_LANGUAGE))
    except TextError as exc:
        raise StartupError(str(exc)) from None


@bp.before_request
def open_request() -> ResponseReturnValue | None:
    svc = services()
    scope = svc.unit_of_work()  # the action's one transaction, the cipher bound for it
    g.console_scope = scope
    g.console_work = scope.__enter__()
    g.console_db = g.console_work.session
    token = request.cookies.get(sessions.COOKIE)
    current, why = sessions.find(g.console_db, token, now())
    g.console_current = current
    if why in ("idle", "absolute"):
        log.info("console_session_expired", reason=why)
    if token is None:
        # A first visit: a token to bind the sign-in form's CSRF token to (no row).
        set_cookie_token(sessions.new_token())
    if request.method == "POST" and not sessions.csrf_ok(
        request.cookies.get(sessions.COOKIE), request.form.get("csrf_token")
    ):
        log.warning("console_csrf_refused", endpoint=request.endpoint)
        abort(403, description="the form's security token is missing or out of date; reload it")
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if current is None or current.row.stage != "full":
        timed_out = why in ("idle", "absolute")
        return redirect(url_for("console.login", expired="1" if timed_out else None))
    return None


@bp.after_request
def close_request(response: Response) -> Response:
    scope = g.pop("console_scope", None)
    if scope is not None:
        g.pop("console_db", None)
        work = g.pop("console_work")
        scope.__exit__(None, None, None)  # commit before the answer leaves
        if work.tasks:  # e.g. a booking's confirmation SMS: sent once the page is sent
            tasks, svc = work.tasks, services()
            response.call_on_close(lambda: svc.after_commit(tasks))
    token = getattr(g, "console_new_token", None)
    if token is not None:
        response.set_cookie(
            sessions.COOKIE, token, secure=True, httponly=True, samesite="Strict", path="/"
        )
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


@bp.teardown_request
def abandon_request(exc: BaseException | None) -> None:
    scope = g.pop("console_scope", None)
    if scope is not None:  # the view failed: nothing it wrote is kept
        scope.__exit__(type(exc), exc, exc.__traceback__ if exc else None)


@bp.app_context_processor
def template_helpers() -> dict[str, Any]:
    token = cookie_token() if request.blueprint == "console" else None
    current = getattr(g, "console_current", None)
    return {
        "t": text,
        "csrf_token": sessions.csrf_token(token) if token else "",
        "me": current.user if current and current.row.stage == "full" else None,
        "lang": language().split("-")[0],
        "brand": brand,
        "singular": singular,
    }


def singular(count: float) -> bool:
    """Whether a count takes the singular: French keeps 0 and 1 there, English only 1."""
    return count < 2 if language().startswith("fr") else count == 1


def brand() -> str:
    """The header's name: the practice served, else the tele-secretariat's, else a plain word.

    Before login (no account yet) the instance's own name: with a single
    practice, that practice's.
    """
    current = getattr(g, "console_current", None)
    served = practices() if current else list(services().practices)
    if len(served) == 1:
        return served[0].name
    return services().settings.organisation_name or text("app.organisation")


def requires(*roles: str) -> Callable[[F], F]:
    """Let only these roles in; others get 403 (they are logged in, just not allowed)."""

    def wrap(view: F) -> F:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            if user().role not in roles:
                log.warning("console_forbidden", endpoint=request.endpoint, role=user().role)
                abort(403, description="this page is not open to your account")
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return wrap


def practice_ids() -> list[str]:
    """The practices the signed-in account serves (an administrator: all of them)."""
    known = [p.id for p in services().practices]
    me = user()
    return known if me.role == "admin" else [p for p in known if p in me.practices]


def practices() -> list[Practice]:
    allowed = set(practice_ids())
    return [p for p in services().practices if p.id in allowed]


def practice(practice_id: str) -> Practice:
    """A practice the account serves, or 404."""
    if practice_id not in practice_ids():
        abort(404)
    found = services().practices.by_id(practice_id)
    if found is None:
        abort(404)
    return found


def actor() -> str:
    return f"console:{user().username}"


def audit_view(page: str, shown: Iterable[str | None], ref: str | None = None) -> None:
    """One audit entry per practice whose decrypted data a page showed, with its row count.

    ``shown`` holds the practice of each row shown; an empty page writes nothing.
    """
    for practice_id, rows in sorted(Counter(p for p in shown if p).items()):
        audit.append(
            db(), actor=actor(), action=f"console.view.{page}", practice_id=practice_id,
            object_ref=ref, details={"rows": rows}, now=now(),
        )  # fmt: skip


def audit_search(searched: Iterable[str], shown: Mapping[str, Iterable[tuple[str, str]]]) -> None:
    """One entry per practice searched, found or not, with the row ids of what was shown.

    ``shown`` maps a kind (patients, messages, appointments) to the (practice,
    row id) of each row on the page.  Ids are random tokens: they say whose
    records were seen without a name or a number; the number typed is kept
    out, and a search that found nobody is audited all the same (trying
    numbers is worth knowing about).
    """
    for practice_id in sorted(set(searched)):
        ids = {kind: [i for p, i in rows if p == practice_id] for kind, rows in shown.items()}
        audit.append(
            db(), actor=actor(), action="console.view.search", practice_id=practice_id,
            details={"rows": len(ids.get("patients", [])), **ids}, now=now(),
        )  # fmt: skip


def audit_action(action: str, practice_id: str, ref: str) -> None:
    audit.append(
        db(), actor=actor(), action=f"console.{action}", practice_id=practice_id,
        object_ref=ref, now=now(),
    )  # fmt: skip


def _tz() -> Any:
    found = practices() if getattr(g, "console_current", None) else []
    return found[0].tz if found else None


@bp.app_template_filter("localtime")
def localtime(moment: datetime, time_only: bool = False) -> str:
    """A moment in the practice's time zone, as a French reader writes it."""
    local = moment.astimezone(_tz())
    return local.strftime("%H:%M" if time_only else "%d/%m/%Y %H:%M")


@bp.app_template_filter("phone")
def phone_filter(number: str | None) -> str:
    """A number by pairs ("06 11 22 33 55"), international when foreign."""
    return french.phone(number)


@bp.app_template_filter("birthdate")
def birthdate_filter(day: date | str | None) -> str:
    return french.long_date(day)


@bp.app_template_filter("counted")
def counted_filter(count: int, singular: str, plural: str | None = None) -> str:
    """ "1 appel", "0 message", "2 appels" (French keeps 0 and 1 in the singular)."""
    return french.counted(count, singular, plural)


@bp.app_template_filter("kind")
def kind_filter(kind_id: str, practice_id: str | None = None) -> str:
    """An appointment kind by its label in the practice file."""
    found = services().practices.by_id(practice_id or "") if practice_id else None
    if found is None:
        found = next((p for p in practices() if p.appointments and kind_id in
                      p.appointments.kinds), None)  # fmt: skip
    return found.kind_label(kind_id) if found else french.humanised(kind_id)


@bp.app_template_filter("longdate")
def longdate(day: date) -> str:
    weekdays = text("date.weekdays").split(",")
    return f"{weekdays[day.weekday()]} {day.strftime('%d/%m/%Y')}"
