"""The practice console: server-rendered pages for secretaries, doctors and administrators.

One blueprint under ``/console`` (``blueprint.bp``); each area (sign-in,
secretaries' pages, doctors' pages, administration) attaches its routes from
its own module. Importing the pages here is what registers them: the app
then registers ``console.bp`` as a whole.
"""

from __future__ import annotations

# Every page imports guard (the hooks) before it adds a route, so import order is free.
from callcenter.web.console import (
    admin,
    auth,
    doctor,
    guard,
    insight,
    patient_requests,
    secretary,
    waiting_list,
)
from callcenter.web.console.blueprint import bp

__all__ = [
    "admin", "auth", "bp", "doctor", "guard", "insight", "patient_requests", "secretary",
    "waiting_list",
]  # fmt: skip
