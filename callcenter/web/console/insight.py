"""The administrator's pictures: call statistics as charts, and the flows as a diagram.

Neither decrypts anything (statistics read times, outcomes and flags; the
diagram reads the flow files), so neither writes an audit entry.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import render_template, request
from flask.typing import ResponseReturnValue

from callcenter.charts import bar_chart_svg, horizontal_bar_chart_svg
from callcenter.flow.graph import build_graph
from callcenter.flow.graph_svg import to_svg
from callcenter.stats import call_stats
from callcenter.web.console import bp
from callcenter.web.console.guard import db, now, practice, practices, requires, services, text

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
        unit = text("stats.calls")
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
    return render_template("console/admin_stats.html", practices=practices(), **context)


@bp.get("/admin/flows/diagram")
@requires("admin")
def admin_flow_diagram() -> ResponseReturnValue:
    practice_id = _chosen_practice()
    svg = None
    if practice_id:
        where = practice(practice_id)
        runtime = services().engine.runtimes.get(where.id)
        if runtime is not None:
            title = text("diagram.svg_title", practice=where.name)
            svg = to_svg(build_graph(runtime.flows, where.start_flow), title=title)
    return render_template(
        "console/admin_diagram.html", practices=practices(), practice_id=practice_id, svg=svg
    )
