"""The practice console: server-rendered pages for secretaries, doctors and administrators.

One blueprint under ``/console``; each area (sign-in, secretaries' pages,
doctors' pages, administration) registers its routes from its own module.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

from callcenter.web.console import guard, auth, secretary, doctor, admin, insight  # noqa: E402,F401,I001  (routes)
