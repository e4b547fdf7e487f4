"""The secretaries' waiting list: the open entries in order, and ending one.

The page shows patients' names as the diary does, so it writes one audit
entry per practice shown; ending an entry writes its own.
"""

from __future__ import annotations

from flask import abort, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from callcenter.backoffice import waiting_list
from callcenter.web.console.blueprint import bp
from callcenter.web.console.guard import (
    audit_action,
    audit_view,
    db,
    now,
    practice_ids,
    requires,
)
from callcenter.web.console.secretary import names


@bp.get("/waiting-list")
@requires("secretary")
def waiting() -> ResponseReturnValue:
    rows = waiting_list.open_entries(db(), practice_ids())
    audit_view("waiting_list", (e.practice_id for e in rows))
    return render_template("console/waiting_list.html", rows=rows, names=names())


@bp.post("/waiting-list/<entry_id>/end")
@requires("secretary")
def waiting_end(entry_id: str) -> ResponseReturnValue:
    ended = waiting_list.end(db(), practice_ids(), entry_id[:32], now())
    if ended is None:
        abort(404)
    audit_action("waitlist_ended", ended, entry_id[:32])
    return redirect(url_for("console.waiting"))
