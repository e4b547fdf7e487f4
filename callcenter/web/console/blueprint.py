"""The console's one blueprint, in a module of its own.

The page modules attach their routes to it and the package's ``__init__``
imports the pages: the pages never import the package, so no cycle.
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
