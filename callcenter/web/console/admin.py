"""The administrator's pages (filled in by the administration work of issue 8)."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue

from callcenter.web.console import bp
from callcenter.web.console.guard import requires


@bp.get("/admin")
@requires("admin")
def admin() -> ResponseReturnValue:
    return render_template("console/admin.html")
