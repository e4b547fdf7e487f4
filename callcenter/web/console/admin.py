"""The administrator's pages: users, settings, audit log, key ring, retention, outbox, flows.

Read-only views of what the command line reports (``users list``, ``keys
status``, ``audit verify``, ``purge --dry-run``, ``digest status``, ``flows
check``), gathered by :mod:`callcenter.backoffice.status` and
:mod:`callcenter.backoffice.settings_view`; the only changes are disabling an
account and verifying the audit chain, both audited.  No page decrypts a
patient's data; reading the audit log is audited all the same (it says who
did what to whose records).  Accounts are still created on the command line.
"""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from callcenter.accounts import accounts
from callcenter.accounts.models import ConsoleUser
from callcenter.audit import trail as audit
from callcenter.backoffice import settings_view, status
from callcenter.config.practice import Practice
from callcenter.core.twilio_stand_in import StandInEntry, read_log
from callcenter.digests.compose import EXPIRY_WARNING_DAYS
from callcenter.ivr.diagram.graph import build_graph
from callcenter.ivr.diagram.svg import to_svg
from callcenter.web.console.blueprint import bp
from callcenter.web.console.guard import actor, db, now, practices, requires, services, text, user

# (endpoint, section): the overview's list and every page's navigation, in this order.
SECTIONS = (
    ("console.admin_users", "users"),
    ("console.admin_settings", "settings"),
    ("console.admin_audit", "audit"),
    ("console.admin_keys", "keys"),
    ("console.admin_retention", "retention"),
    ("console.admin_outbox", "outbox"),
    ("console.admin_flows", "flows"),
    ("console.admin_stats", "stats"),
)


def render(template: str, **context: Any) -> str:
    return render_template(f"console/{template}", sections=SECTIONS, **context)


@bp.get("/admin")
@requires("admin")
def admin() -> ResponseReturnValue:
    return render("admin.html")


# -- users ------------------------------------------------------------------------


def _users_page(error: str | None = None) -> ResponseReturnValue:
    names = {p.id: p.name for p in practices()}
    return render("admin_users.html", users=accounts.list_users(db()), names=names, error=error), (
        409 if error else 200
    )


@bp.get("/admin/users")
@requires("admin")
def admin_users() -> ResponseReturnValue:
    return _users_page()


@bp.post("/admin/users/<user_id>/disable")
@requires("admin")
def admin_user_disable(user_id: str) -> ResponseReturnValue:
    """Refuse the account's logins and end its sessions now (as ``users disable``)."""
    account = db().get(ConsoleUser, user_id[:32])
    if account is None:
        abort(404)
    if account.id == user().id:
        return _users_page(text("admin.users.not_yourself"))
    if account.active:
        accounts.disable_user(db(), account.username, now=now(), actor=actor())
    return redirect(url_for("console.admin_users"))


# -- settings ---------------------------------------------------------------------


@bp.get("/admin/settings")
@requires("admin")
def admin_settings() -> ResponseReturnValue:
    svc = services()
    return render(
        "admin_settings.html",
        instance=settings_view.instance(svc.settings, svc.watcher.path),
        practices=[settings_view.practice(p) for p in practices()],
    )


# -- audit log --------------------------------------------------------------------


def _before() -> int | None:
    try:
        before = int(request.args.get("before", "")[:12])
    except ValueError:
        return None
    return before if before > 0 else None


def _audit_page(result: audit.VerifyResult | None = None) -> ResponseReturnValue:
    before = _before()
    page = status.audit_page(db(), before)
    # Who read the trail is part of the trail: one entry per page read.
    audit.append(
        db(), actor=actor(), action="console.view.audit",
        details={"rows": len(page.entries), "before": before}, now=now(),
    )  # fmt: skip
    return render("admin_audit.html", page=page, before=before, result=result)


@bp.get("/admin/audit")
@requires("admin")
def admin_audit() -> ResponseReturnValue:
    return _audit_page()


@bp.post("/admin/audit/verify")
@requires("admin")
def admin_audit_verify() -> ResponseReturnValue:
    """Recompute the chain against the signed checkpoints, as ``callcenter audit verify``."""
    svc = services()
    try:
        result = audit.verify(
            db(), checkpoint_path=svc.checkpoint_path,
            verify_key=svc.keyring.verify_key(),
        )  # fmt: skip
    except audit.AuditError as exc:
        result = audit.VerifyResult(False, 0, exc.seq, str(exc))
    audit.append(
        db(), actor=actor(), action="console.audit_verified",
        details={"ok": result.ok, "entries": result.entries, "first_bad_seq": result.first_bad_seq},
        now=now(),
    )  # fmt: skip
    return _audit_page(result)


# -- key ring, retention, outbox, flows -------------------------------------------


@bp.get("/admin/keys")
@requires("admin")
def admin_keys() -> ResponseReturnValue:
    svc = services()
    found = status.key_status(db(), svc.keyring, svc.cipher)
    return render("admin_keys.html", keys=found)


@bp.get("/admin/retention")
@requires("admin")
def admin_retention() -> ResponseReturnValue:
    found = status.retention_status(db(), services().policy, now())
    return render("admin_retention.html", retention=found)


@bp.get("/admin/outbox")
@requires("admin")
def admin_outbox() -> ResponseReturnValue:
    rows = status.outbox_status(db(), practices(), now())
    names = {p.id: p.name for p in practices()}
    return render(
        "admin_outbox.html", rows=rows, totals=status.outbox_totals(rows), names=names,
        statuses=status.OUTBOX_STATUSES, warn_days=EXPIRY_WARNING_DAYS,
        smtp=services().settings.smtp is not None, stand_in=_stand_in(),
    )  # fmt: skip


def _stand_in() -> list[StandInEntry] | None:
    """What a demo would have sent through Twilio (kind, time, masked number); None: real API."""
    log = services().stand_in_log
    return read_log(log) if log else None


@bp.get("/admin/flows")
@requires("admin")
def admin_flows() -> ResponseReturnValue:
    default = services().settings.flows_dir
    reports = [status.flow_report(p, default) for p in practices()]
    diagrams = {p.id: Markup(flow_diagram(p)) for p in practices()}  # our own escaped SVG
    return render("admin_flows.html", reports=reports, diagrams=diagrams)


def flow_diagram(practice: Practice) -> str:
    """The practice's flows as loaded at start-up, drawn (what the callers go through)."""
    runtime = services().engine.runtimes.get(practice.id)
    if runtime is None:
        return ""
    title = text("diagram.svg_title", practice=practice.name)
    return to_svg(build_graph(runtime.flows, practice.start_flow), title=title)
