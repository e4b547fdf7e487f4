"""One sentence of the call understood whole (callcenter.understanding), for any node.

The words, the practice's doctors, the call's moment and time zone: what the
open question and the appointment questions read a caller's words with.
"""

from __future__ import annotations

from typing import Any

from callcenter.config.schedules import HALVES
from callcenter.ivr.nodes.base import CallContext
from callcenter.understanding import Request, understand


def understood(ctx: CallContext, speech: str) -> Request | None:
    """The request in ``speech``; None when nothing was said or no catalogue is loaded."""
    words = ctx.understanding
    if not speech or words is None:
        return None
    practice = ctx.practice
    open_days = [day for day, sessions in practice.hours.items() if sessions]
    return understand(speech, words, practice.doctors, ctx.now, practice.tz,
                      open_days=open_days, closed=practice.closed_on)  # fmt: skip


def asked_booking(request: Request) -> dict[str, Any]:
    """What a booking request said, as the appointment nodes read it (JSON-safe)."""
    half = request.period if request.period in HALVES else None
    if request.period == "evening":
        half = "afternoon"  # the evening is the afternoon's end: slots are by half-day
    return {
        "want": "book",
        "doctor": request.doctor,
        "day": request.date.isoformat() if request.date else None,
        "half": half,
    }
