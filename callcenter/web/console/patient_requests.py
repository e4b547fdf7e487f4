"""The « Demandes » page: prescription renewals, results questions and certificates.

Secretaries see every request of their practices; a doctor sees those
addressed to them and those addressed to the practice.  Who may mark one
done, declined or « à voir en consultation » is the practice's choice
(``requests.handled_by``): its doctors, or its secretaries too.  The page
writes one audit entry per practice shown (it shows decrypted details and
numbers); each effective change writes its own, a second click none.
"""

from __future__ import annotations

from datetime import timedelta

from flask import abort, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from callcenter.patient_requests import desk
from callcenter.web.console.blueprint import bp
from callcenter.web.console.guard import (
    audit_action,
    audit_view,
    db,
    now,
    practice,
    practice_ids,
    practices,
    requires,
    user,
)
from callcenter.web.console.secretary import names

#: Handled requests stay on the page this long, so a mistaken click is seen.
HANDLED_SHOWN = timedelta(days=7)


def _scope() -> tuple[list[str], str | None]:
    """The practices and doctor whose requests the signed-in account sees."""
    me = user()
    if me.role != "doctor":
        return practice_ids(), None
    mine = [p.id for p in practices() if any(d.id == me.doctor_id for d in p.doctors)]
    return mine, me.doctor_id or "-"


@bp.get("/requests")
@requires("secretary", "doctor")
def requests_page() -> ResponseReturnValue:
    allowed, doctor_id = _scope()
    shown = desk.listed(db(), allowed, doctor_id=doctor_id, handled_since=now() - HANDLED_SHOWN)
    audit_view("requests", (r.practice_id for r in shown))
    role = user().role
    may = {p.id: desk.may_handle(p, role) for p in practices()}
    by_kind = [(kind, [r for r in shown if r.kind == kind]) for kind in desk.KINDS]
    return render_template("console/requests.html", by_kind=by_kind, names=names(), may=may,
                           outcomes=desk.OUTCOMES)  # fmt: skip


@bp.post("/requests/<request_id>/<outcome>")
@requires("secretary", "doctor")
def request_handled(request_id: str, outcome: str) -> ResponseReturnValue:
    if outcome not in desk.OUTCOMES:
        abort(404)
    allowed, doctor_id = _scope()
    found = desk.find(db(), allowed, request_id, doctor_id=doctor_id)
    if found is None:
        abort(404)
    its = practice(found.practice_id)
    if not desk.may_handle(its, user().role):
        abort(403, description="this practice's requests are handled by its doctors")
    if desk.handle(db(), found, outcome, user().id, now(), its).changed:
        audit_action(f"request_{outcome}", found.practice_id, found.id)
    return redirect(url_for("console.requests_page"))
