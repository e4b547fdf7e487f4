"""``callcenter appointments``: the administrator's list and the doctors' calendar feeds.

Listing reads appointments outside a call, so it is audited (with ``--names``
it decrypts patients' names, and the entry says so); creating or revoking a
feed is audited too.  Entries hold ids and counts only.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import click
from sqlalchemy import select

from callcenter.appointments.models import Appointment
from callcenter.cli.common import audited, fail, open_root
from callcenter.cli.listing import Listing, json_option
from callcenter.config.practice import Practice
from callcenter.core.spoken import spoken_datetime
from callcenter.patients.models import Patient
from callcenter.services import Services


@click.group()
def appointments() -> None:
    """Appointments booked by phone: list them, the doctors' calendar feeds."""


def _practice(root: Services, practice_id: str | None) -> Practice:
    practices = list(root.practices)
    if practice_id is None and len(practices) == 1:
        return practices[0]
    found = root.practices.by_id(practice_id or "")
    if found is None:
        fail(f"--practice: give one of {', '.join(p.id for p in practices) or '(none)'}")
        raise SystemExit(1)
    return found


def _doctor(practice: Practice, doctor_id: str | None) -> str | None:
    if doctor_id is not None and doctor_id not in {d.id for d in practice.doctors}:
        fail(f"--doctor: {doctor_id!r} is not a doctor of {practice.id}")
    return doctor_id


@appointments.command("list")
@click.option("--practice", "practice_id", help="The practice (default: the only one).")
@click.option("--doctor", "doctor_id", help="Only this doctor's appointments.")
@click.option("--day", type=click.DateTime(["%Y-%m-%d"]), help="Only this day (YYYY-MM-DD).")
@click.option("--all", "everything", is_flag=True, help="Also cancelled and moved ones.")
@click.option("--names", is_flag=True, help="Decrypt and show patients' names (audited).")
@json_option
def appointments_list(
    practice_id: str | None,
    doctor_id: str | None,
    day: datetime | None,
    everything: bool,
    names: bool,
    as_json: bool,
) -> None:
    """Upcoming appointments (or a day's): time, doctor, kind, status, patient reference."""
    with open_root() as root:
        practice = _practice(root, practice_id)
        doctor = _doctor(practice, doctor_id)
        tz, now = practice.tz, root.clock.now()
        query = select(Appointment).where(Appointment.practice_id == practice.id)
        if day is not None:
            start = datetime.combine(date(day.year, day.month, day.day), time(0), tz)
            query = query.where(Appointment.starts_at >= start,
                                Appointment.starts_at < start + timedelta(days=1))  # fmt: skip
        else:
            query = query.where(Appointment.starts_at >= now)
        if doctor is not None:
            query = query.where(Appointment.doctor_id == doctor)
        if not everything:
            query = query.where(Appointment.status == "booked")
        with root.db.session() as session:
            rows = session.scalars(query.order_by(Appointment.starts_at)).all()
            who: dict[str, str] = {}
            if names and rows:
                ids = {r.patient_id for r in rows if r.patient_id}
                for patient in session.scalars(select(Patient).where(Patient.id.in_(ids))):
                    who[patient.id] = patient.name or "(sans nom)"
            audited(root, session, "appointments.list", practice=practice.id,
                    count=len(rows), names=len(who))  # fmt: skip
        listing = Listing("time", "day", "doctor", "kind", "status", "patient")
        for row in rows:
            ref = who.get(row.patient_id or "", (row.patient_id or "-")[:8])
            local = row.starts_at.astimezone(tz)
            day_name = spoken_datetime(local).split(" à ")[0]
            listing.add(
                [local.strftime("%Y-%m-%d %H:%M"), day_name, row.doctor_id,
                 practice.kind_label(row.kind), row.status, ref],
                [local.isoformat(), day_name, row.doctor_id, row.kind, row.status, ref],
            )  # fmt: skip
        listing.echo(as_json)
        click.echo(f"{len(rows)} appointment{'' if len(rows) == 1 else 's'}", err=True)
        root.checkpoint()


@appointments.group("feed")
def feed() -> None:
    """A doctor's calendar (iCalendar) at a secret, revocable URL."""


@feed.command("create")
@click.option("--practice", "practice_id", help="The practice (default: the only one).")
@click.option("--doctor", "doctor_id", required=True)
def feed_create(practice_id: str | None, doctor_id: str) -> None:
    """Print a new secret URL for the doctor's calendar (shown once)."""
    from callcenter.appointments.ics import create_feed

    with open_root() as root:
        practice = _practice(root, practice_id)
        doctor = _doctor(practice, doctor_id) or doctor_id
        with root.db.session() as session:
            token = create_feed(session, practice.id, doctor, root.clock.now())
            audited(root, session, "appointments.feed_created", practice=practice.id,
                    doctor=doctor)  # fmt: skip
        base = root.settings.public_base_url or "http://127.0.0.1:5000"
        click.echo(f"{base}/calendar/{token}.ics")
        click.echo("Keep this URL secret: anyone holding it reads the calendar.", err=True)
        root.checkpoint()


@feed.command("revoke")
@click.option("--practice", "practice_id", help="The practice (default: the only one).")
@click.option("--doctor", "doctor_id", required=True)
def feed_revoke(practice_id: str | None, doctor_id: str) -> None:
    """Revoke every calendar URL of the doctor (create a new one afterwards)."""
    from callcenter.appointments.ics import revoke_feeds

    with open_root() as root:
        practice = _practice(root, practice_id)
        doctor = _doctor(practice, doctor_id) or doctor_id
        with root.db.session() as session:
            count = revoke_feeds(session, practice.id, doctor, root.clock.now())
            audited(root, session, "appointments.feed_revoked", practice=practice.id,
                    doctor=doctor, count=count)  # fmt: skip
        click.echo(f"revoked {count} feed(s)")
        root.checkpoint()
