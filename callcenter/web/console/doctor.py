"""The doctors' page: their messages, appointments and urgent calls, how many requests
await them, their digest settings, and a new link for their calendar feed.

A doctor sees what concerns them: messages addressed to them (or to nobody in
particular at a practice they work at), their own appointments.
"""

from __future__ import annotations

from datetime import timedelta

from flask import render_template
from flask.typing import ResponseReturnValue

from callcenter.appointments import ics
from callcenter.backoffice import diary, inbox
from callcenter.config.practice import Practice
from callcenter.config.staff import Doctor
from callcenter.digests.compose import certificate_problem
from callcenter.patient_requests import desk
from callcenter.web.console.blueprint import bp
from callcenter.web.console.guard import (
    audit_action,
    audit_view,
    db,
    now,
    outcome_label,
    practices,
    requires,
    services,
    user,
)
from callcenter.web.console.secretary import names

RECENT = timedelta(days=14)
AHEAD = timedelta(days=7)


def _mine() -> list[tuple[Practice, Doctor]]:
    """(practice, doctor) pairs of the signed-in doctor."""
    me = user()
    return [(p, d) for p in practices() for d in p.doctors if d.id == me.doctor_id]


def _page(feed_links: list[tuple[str, str]] | None = None) -> ResponseReturnValue:
    me, moment = user(), now()
    pairs = _mine()
    ids = [p.id for p, _ in pairs]
    shown = inbox.messages(db(), ids, moment - RECENT, doctor_id=me.doctor_id or "-")
    rows = diary.between(db(), ids, moment - timedelta(hours=2), moment + AHEAD, me.doctor_id)
    urgent = inbox.urgent_calls(db(), ids, moment - RECENT)
    awaiting = desk.open_count(db(), ids, me.doctor_id or "-")
    digests = [
        {
            "practice": p.name,
            "schedule": d.digest,
            "email": bool(d.email),
            "problem": certificate_problem(p, d, moment),
        }
        for p, d in pairs
    ]
    audit_view("doctor", [m.practice_id for m in shown] + [a.practice_id for a in rows])
    return render_template(
        "console/doctor.html", messages=shown, rows=rows, urgent=urgent, digests=digests,
        names=names(), feed_links=feed_links or [], pairs=pairs, outcome=outcome_label,
        awaiting=awaiting,
    )  # fmt: skip


@bp.get("/doctor")
@requires("doctor")
def doctor_home() -> ResponseReturnValue:
    return _page()


@bp.post("/doctor/feed")
@requires("doctor")
def doctor_feed() -> ResponseReturnValue:
    """New secret feed links, one per practice (the old ones stop working); shown once."""
    moment = now()
    base = (services().settings.public_base_url or "").rstrip("/")
    links = []
    for practice, doctor in _mine():
        ics.revoke_feeds(db(), practice.id, doctor.id, moment)
        token = ics.create_feed(db(), practice.id, doctor.id, moment)
        audit_action("feed_created", practice.id, doctor.id)
        links.append((practice.name, f"{base}/calendar/{token}.ics"))
    return _page(feed_links=links)
