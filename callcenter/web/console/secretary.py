"""The secretaries' pages: messages to call back, live calls, appointments, search.

Each page that shows decrypted data writes one audit entry per practice
shown; every search writes one per practice searched, found or not, with the
row ids of the patients, messages, appointments, calls, requests and
waiting-list entries shown; each change
(handled, cancelled, moved) writes its own.  Ids in paths are random row
ids, never a name or a number; a phone number searched for travels in a POST
body, never in a URL.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from callcenter.backoffice import diary, inbox, lookup
from callcenter.web.console.blueprint import bp
from callcenter.web.console.guard import (
    audit_action,
    audit_search,
    audit_view,
    db,
    now,
    outcome_label,
    practice,
    practice_ids,
    practices,
    requires,
    services,
    text,
    user,
)

BACKLOG_DAYS = 7  # unhandled messages this recent share today's list; older ones are grouped


def _midnight(day: date) -> datetime:
    tz = practices()[0].tz if practices() else None
    return datetime.combine(day, time(0), tz)


def _today() -> date:
    found = practices()
    return now().astimezone(found[0].tz).date() if found else now().date()


def names() -> dict[str, str]:
    """Practice id -> name, and "practice:doctor" -> the doctor's name, for the templates."""
    labels = {}
    for p in practices():
        labels[p.id] = p.name
        labels.update({f"{p.id}:{d.id}": d.name for d in p.doctors})
    return labels


@bp.get("/messages")
@requires("secretary")
def messages() -> ResponseReturnValue:
    """Today's messages, and every unhandled one until it is handled or purged.

    An unhandled message must stay in front of the secretaries: those of the
    last days share today's list, older ones follow grouped by week, all of
    them (no limit) back to the messages' retention, when the purge deletes them.
    """
    today = _midnight(_today())
    allowed = practice_ids()
    shown = inbox.messages(db(), allowed, today)
    seen = {m.id for m in shown}
    recent_start = today - timedelta(days=BACKLOG_DAYS)
    recent = inbox.messages(db(), allowed, recent_start, include_handled=False, limit=None)
    shown += [m for m in recent if m.id not in seen]
    shown.sort(key=lambda m: (not m.urgent, m.handled_at is not None, -m.created_at.timestamp()))
    days = services().policy.retention.messages
    kept = now() - timedelta(days=days)
    older = inbox.messages(
        db(), allowed, kept, include_handled=False, limit=None, before=recent_start
    )
    audit_view("messages", (m.practice_id for m in [*shown, *older]))
    tz = practices()[0].tz if practices() else None
    return render_template(
        "console/messages.html", messages=shown, older=inbox.by_week(older, tz), names=names(),
        retention_days=days,
    )  # fmt: skip


@bp.post("/messages/<message_id>/handled")
@requires("secretary", "doctor")
def message_handled(message_id: str) -> ResponseReturnValue:
    me = user()
    # A doctor marks only what their page shows: theirs, or addressed to nobody.
    doctor_id = (me.doctor_id or "-") if me.role == "doctor" else None
    done = inbox.mark_handled(db(), practice_ids(), message_id, me.id, now(), doctor_id=doctor_id)
    if done is None:
        abort(404)
    if done.changed:  # a second click or a replayed form is no new action
        audit_action("message_handled", done.practice_id, message_id)
    back = "console.doctor_home" if me.role == "doctor" else "console.messages"
    return redirect(url_for(back))


@bp.get("/calls")
@requires("secretary")
def live_calls() -> ResponseReturnValue:
    # The whisper's context only (practice, reason, identified, urgent): nothing to audit.
    svc = services()
    max_age = timedelta(minutes=svc.settings.call_max_minutes)
    calls = inbox.live_calls(db(), practice_ids(), svc.engine.runtimes, now(), max_age)
    return render_template("console/calls.html", calls=calls, names=names())


def _day_arg() -> date:
    try:
        return date.fromisoformat(request.args.get("day", "")[:10])
    except ValueError:
        return _today()


@bp.get("/appointments")
@requires("secretary")
def appointments() -> ResponseReturnValue:
    day = _day_arg()
    doctor = request.args.get("doctor") or None  # "practice:doctor"
    allowed = practice_ids()
    if doctor is not None:
        practice_id, _, doctor_id = doctor.partition(":")
        allowed = [practice(practice_id).id]
    start = _midnight(day)
    rows = diary.between(
        db(), allowed, start, start + timedelta(days=1), doctor_id if doctor else None
    )
    audit_view("appointments", (a.practice_id for a in rows))
    doctors = [(f"{p.id}:{d.id}", f"{p.name} — {d.name}") for p in practices() for d in p.doctors]
    return render_template(
        "console/appointments.html", rows=rows, day=day, doctor=doctor, names=names(),
        doctors=doctors,
        previous=day - timedelta(days=1), following=day + timedelta(days=1),
    )  # fmt: skip


def _appointment(appointment_id: str) -> diary.Appointment:
    """An appointment of the account's practices, whatever its state; 404 for any other."""
    found = diary.find(db(), practice_ids(), appointment_id[:32], booked_only=False)
    if found is None:
        abort(404)
    return found


def _its_day(found: diary.Appointment) -> ResponseReturnValue:
    day = found.starts_at.astimezone(practice(found.practice_id).tz).date()
    return redirect(url_for("console.appointments", day=day.isoformat()))


@bp.post("/appointments/<appointment_id>/cancel")
@requires("secretary")
def appointment_cancel(appointment_id: str) -> ResponseReturnValue:
    found = _appointment(appointment_id)
    # Cancelled or moved already (a second click): nothing changes, nothing is audited.
    if diary.cancel(db(), found, now()):
        audit_action("appointment_cancelled", found.practice_id, found.id)
    return _its_day(found)


@bp.route("/appointments/<appointment_id>/move", methods=["GET", "POST"])
@requires("secretary")
def appointment_move(appointment_id: str) -> ResponseReturnValue:
    found = _appointment(appointment_id)
    if found.status != diary.BOOKED:  # moved or cancelled meanwhile, or a form sent twice
        return _its_day(found)
    where = practice(found.practice_id)
    error = None
    if request.method == "POST":
        start = _start_arg()
        if start is not None and diary.move(db(), where, found, start, now()) is not None:
            audit_action("appointment_moved", where.id, found.id)
            day = start.astimezone(where.tz).date()
            return redirect(url_for("console.appointments", day=day.isoformat()))
        error = text("appointments.slot_taken")  # taken meanwhile, or no start offered
    chosen = _move_day()
    starts = diary.free_starts(db(), where, found, now(), limit=40 if chosen else 12, day=chosen)
    shown = diary.describe(db(), found)
    audit_view("appointment", [where.id], ref=found.id)
    return render_template(
        "console/move.html", appointment=shown, starts=starts, day=chosen,
        tz=where.tz, names=names(), error=error,
    ), (409 if error else 200)  # fmt: skip


def _start_arg() -> datetime | None:
    """The start picked on the move page (always with its offset, as offered)."""
    try:
        start = datetime.fromisoformat(request.form.get("start", "")[:40])
    except ValueError:
        return None
    return start if start.tzinfo is not None else None


def _move_day() -> date | None:
    """The day whose free starts the move page lists (the next ones when none)."""
    try:
        return date.fromisoformat(request.args.get("day", "")[:10])
    except ValueError:
        return None


@bp.route("/search", methods=["GET", "POST"])
@requires("secretary")
def search() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("console/search.html", searched=False)
    number = request.form.get("number", "")[:40]
    allowed = practice_ids()
    bits = {p.id: p.blind_index_bits for p in practices()}
    found = lookup.by_number(db(), services().cipher, allowed, number, bits, now())
    audit_search(allowed, {
        "patients": [(p.practice_id, p.id) for p in found.patients],
        "messages": [(m.practice_id, m.id) for m in found.messages],
        "appointments": [(a.practice_id, a.id) for a in found.upcoming],
        "calls": [(c.practice_id, c.id) for c in found.calls],
        "requests": [(r.practice_id, r.id) for r in found.requests],
        "waiting": [(w.practice_id, w.id) for w in found.waiting],
    })  # fmt: skip
    return render_template(
        "console/search.html", searched=True, found=found, patients=found.patients,
        messages=found.messages, upcoming=found.upcoming, calls=found.calls, names=names(),
        outcome=outcome_label, requests=found.requests, waiting=found.waiting,
    )  # fmt: skip
