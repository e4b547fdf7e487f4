"""French throughout: every console page, the digest and the CLI listings, scanned.

Demo data that exercises each format (a patient with a date of birth, a
message with a call-back number, an urgent call, a first consultation booked),
then every page a secretary, a doctor and the administrator can open, a
doctor's digest and each listing: none may show a number in E.164, an ISO date
of birth, a raw appointment kind or a count whose noun disagrees ("1 appels").
"""

from __future__ import annotations

import html
import re
from datetime import timedelta

from click.testing import CliRunner

from callcenter.appointments import booking
from callcenter.cli.main import main
from callcenter.config.staff import Doctor
from callcenter.digests import compose
from tests.conftest import services
from tests.ivr.test_identify import DOB, seed
from tests.web.console.conftest import Console
from tests.web.console.test_secretary_pages import (
    at,
    book_by_phone,
    leave_message,
    leave_urgent_message,
)

BORN = "1980-03-15"
E164 = re.compile(r"\+\d{9,15}\b")
ISO_BIRTH = re.compile(re.escape(BORN))
RAW_KINDS = ("premiere-consultation",)
# A noun in the plural after 0 or 1 (French keeps both in the singular).
DISAGREE = re.compile(
    r"(?<![\d,.])[01]\s(appels|messages|urgences|demandes|erreurs|entrées|rendez-vous manqués)\b"
)


def visible(page: str) -> str:
    """What a reader sees: no tags, no attributes (``tel:`` links keep E.164 on purpose)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def problems(where: str, text: str) -> list[str]:
    found = [f"{where}: E.164 {m}" for m in E164.findall(text)]
    found += [f"{where}: ISO date of birth" for _ in ISO_BIRTH.findall(text)]
    found += [f"{where}: raw kind {k}" for k in RAW_KINDS if k in text]
    found += [f"{where}: {m.group(0)!r}" for m in DISAGREE.finditer(text)]
    return found


def demo_data(app, twilio) -> None:
    patient = seed(app, BORN)
    leave_message(twilio, dob=DOB)
    leave_urgent_message(twilio)
    book_by_phone(twilio)
    svc = services(app)
    with svc.db.session() as session:
        booking.book(
            session, practice_id="demo", doctor_id="dr-martin", patient_id=patient,
            starts_at=at("2026-11-24T16:00:00+01:00"), minutes=40, slot_minutes=20,
            kind="premiere-consultation", now=svc.clock.now(),
        )  # fmt: skip


def signed_in(app, make_user, username: str, role: str, **extra) -> Console:
    console = Console(app)
    console.login(*make_user(username, role, **extra))
    return console


def pages(console: Console, paths: list[str]) -> dict[str, str]:
    shown = {}
    for path in paths:
        answer = console.get(path)
        assert answer.status_code == 200, (path, answer.status_code)
        shown[path] = answer.get_data(as_text=True)
    return shown


def test_no_screen_digest_or_listing_shows_a_raw_format(app, twilio, make_user, cli_env):
    demo_data(app, twilio)
    seen: dict[str, str] = {}

    secretary = signed_in(app, make_user, "lea", "secretary", practices=["demo"])
    seen |= pages(secretary, ["/console/messages", "/console/calls",
                              "/console/appointments?day=2026-11-24"])  # fmt: skip
    secretary.get("/console/search")
    found = secretary.post("/console/search", {"number": "0612345678"})
    seen["/console/search"] = found.get_data(as_text=True)
    doctor = signed_in(app, make_user, "martin", "doctor", practices=["demo"],
                       doctor_id="dr-martin")  # fmt: skip
    seen |= pages(doctor, ["/console/doctor"])
    admin = signed_in(app, make_user, "root", "admin", practices=[])
    admin_pages = ["/console/admin", "/console/admin/users", "/console/admin/settings",
                   "/console/admin/audit", "/console/admin/keys", "/console/admin/retention",
                   "/console/admin/outbox", "/console/admin/flows",
                   "/console/admin/stats?practice=demo&days=7"]  # fmt: skip
    seen |= pages(admin, admin_pages)
    seen = {path: visible(page) for path, page in seen.items()}

    svc = services(app)
    practice = svc.practices.by_id("demo")
    martin = next(d for d in practice.doctors if d.id == "dr-martin")
    assert isinstance(martin, Doctor)
    now = svc.clock.now()
    with svc.db.session() as session:
        period = compose.Period(now - timedelta(days=2), now + timedelta(days=1))
        catalogue = svc.engine.runtimes["demo"].catalogue
        seen["digest"] = compose.build(session, practice, martin, catalogue, period).text

    for args in (["practices", "list"], ["users", "list"], ["digest", "status"],
                 ["keys", "status"], ["appointments", "list", "--all", "--names"]):  # fmt: skip
        result = CliRunner().invoke(main, args)
        assert result.exit_code in (0, 1), result.output
        seen[" ".join(args)] = result.stdout

    # What each format turned into is there to be seen.
    assert "15 mars 1980" in seen["/console/search"]
    assert "06 12 34 56 78" in seen["/console/messages"]
    assert "Première consultation" in seen["/console/appointments?day=2026-11-24"]
    assert "Première consultation" in seen["appointments list --all --names"]
    assert "appel urgent du 06 98 76 54 32" in seen["digest"]
    assert "cabinet médical des Tilleuls" in seen["/console/messages"]  # the header's name
    found = [p for where, text in seen.items() for p in problems(where, text)]
    assert found == [], "\n".join(found)
