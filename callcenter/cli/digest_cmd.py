"""``callcenter digest``: the administrator's view of doctors' digests.

``status`` says who gets digests and who cannot (certificate missing, expired
or soon expiring) and what waits in the outbox; ``send`` builds and sends now;
``preview`` shows a digest in clear on this terminal (audited: it is
personal data).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import click
from sqlalchemy import func, select

from callcenter.audit import trail as audit
from callcenter.cli.common import fail, open_root
from callcenter.cli.listing import Listing, json_option
from callcenter.cli.progress import Progress
from callcenter.digests.compose import EXPIRY_WARNING_DAYS as WARN_DAYS


@click.group()
def digest() -> None:
    """Doctors' encrypted digests: status, send, preview."""


@digest.command("status")
@json_option
def digest_status(as_json: bool) -> None:
    """Each doctor's certificate, then the outbox; exit 1 when a doctor cannot get digests.

    The outbox's counts go to stderr under the table (stdout stays one table to
    pipe); ``--json`` prints both as one object.
    """
    from callcenter.digests import compose as digests
    from callcenter.notify.models import OutboxMail
    from callcenter.security import smime

    listing = Listing("practice", "doctor", "certificate")
    with open_root() as root:
        now = root.clock.now()
        blocked = 0
        for practice in root.practices:
            for doctor in practice.doctors:
                problem = digests.certificate_problem(practice, doctor, now)
                if problem is None and doctor.certificate is not None:
                    cert = smime.load_certificate(doctor.certificate)
                    if smime.expires_within(cert, now, WARN_DAYS):
                        problem = f"certificate expires within {WARN_DAYS} days (warning)"
                    else:
                        problem = "ok"
                else:
                    blocked += 1
                    problem = f"NO DIGEST: {problem}"
                listing.add([practice.id, doctor.id, problem])
        with root.db.session() as session:
            rows = session.execute(
                select(OutboxMail.status, func.count()).group_by(OutboxMail.status)
            ).all()
            counts = Counter({str(status): int(n) for status, n in rows})
    outbox = dict(sorted(counts.items()))
    if as_json:
        click.echo(json.dumps({"doctors": listing.data, "outbox": outbox}, indent=2))
    else:
        listing.echo(as_json=False)
        waiting = ", ".join(f"{k} {v}" for k, v in outbox.items()) or "empty"
        click.echo(f"outbox: {waiting}", err=True)
    raise SystemExit(1 if blocked else 0)


@digest.command("send")
@click.option("--doctor", help="Only this doctor (id).")
@click.option("--now", "force", is_flag=True, help="A digest up to now, not at the next time.")
def digest_send(doctor: str | None, force: bool) -> None:
    """Build the due digests (or, with --now, one up to now) and send the outbox."""
    from callcenter.jobs import tasks as jobs

    with open_root() as root, Progress("digest send") as progress:
        progress.step("building and sending")
        run = jobs.mail(root, root.clock.now(), doctor=doctor, force=force)
        with root.db.session() as session:
            audit.append(session, actor="cli:admin", action="digest.send",
                         object_ref=doctor, now=root.clock.now())  # fmt: skip
    built = ", ".join(f"{k}: {v}" for k, v in sorted(run.built.items())) or "none"
    click.echo(f"built: {built}; urgent: {run.urgent}; sent: {run.sent.sent}, "
               f"failed: {run.sent.failed}, waiting: {run.sent.waiting}")  # fmt: skip


@digest.command("preview")
@click.option("--doctor", required=True, help="The doctor (id).")
@click.option("--hours", default=24, show_default=True, help="The period: the last N hours.")
def digest_preview(doctor: str, hours: int) -> None:
    """Print a doctor's digest in clear (audited); nothing is queued or sent."""
    from callcenter.digests import compose as digests

    with open_root() as root:
        now = root.clock.now()
        found = [(p, d) for p in root.practices for d in p.doctors if d.id == doctor]
        if not found:
            fail(f"no doctor {doctor!r} in the practice files")
        practice, chosen = found[0]
        catalogue = root.engine.runtimes[practice.id].catalogue
        with root.db.session() as session:
            period = digests.Period(now - timedelta(hours=hours), now)
            text = digests.build(session, practice, chosen, catalogue, period).text
            audit.append(session, actor="cli:admin", action="digest.preview",
                         practice_id=practice.id, object_ref=doctor, now=now)  # fmt: skip
    click.echo(text, nl=False)
