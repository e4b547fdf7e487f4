"""The administrator's call statistics, as charts.

Nothing is decrypted (statistics read times, outcomes and flags only), so the
page writes no audit entry.
"""

from __future__ import annotations

import functools
from datetime import datetime, time, timedelta

from flask import request
from flask.typing import ResponseReturnValue

from callcenter.backoffice.charts import bar_chart_svg, horizontal_bar_chart_svg
from callcenter.backoffice.stats import call_stats
from callcenter.web.console.admin import render
from callcenter.web.console.blueprint import bp
from callcenter.web.console.guard import (
    db,
    now,
    practice,
    practices,
    requires,
    singular,
    text,
)

PERIODS = (1, 7, 30, 90)  # days


def _chosen_practice() -> str:
    wanted = request.args.get("practice", "")
    known = [p.id for p in practices()]
    return wanted if wanted in known else (known[0] if known else "")


@bp.get("/admin/stats")
@requires("admin")
def admin_stats() -> ResponseReturnValue:
    practice_id = _chosen_practice()
    days = request.args.get("days", type=int) or 7
    days = days if days in PERIODS else 7
    context: dict[str, object] = {"practice_id": practice_id, "days": days, "periods": PERIODS}
    if practice_id:
        where = practice(practice_id)
        today = now().astimezone(where.tz).date()
        end = datetime.combine(today + timedelta(days=1), time(0), where.tz)
        stats = call_stats(db(), where.id, end - timedelta(days=days), end, where.tz)
        unit = functools.partial(_calls, text("stats.call"), text("stats.calls"))
        outcomes = list(stats.outcomes.items())
        context.update(
            stats=stats,
            by_hour=bar_chart_svg(
                text("stats.by_hour"), [f"{h}h" for h in range(24)], list(stats.by_hour), unit=unit
            ),
            by_day=bar_chart_svg(
                text("stats.by_day"), [d.strftime("%d/%m") for d, _ in stats.by_day],
                [n for _, n in stats.by_day], unit=unit,
            ),
            outcomes=horizontal_bar_chart_svg(
                text("stats.outcomes"), [text(f"stats.outcome.{c}") for c, _ in outcomes],
                [n for _, n in outcomes], unit=unit,
            ),
        )  # fmt: skip
    return render("admin_stats.html", practices=practices(), **context)


def _calls(one: str, many: str, value: float) -> str:
    """The unit agreed with a count ("1 appel", "2 appels")."""
    return one if singular(value) else many
