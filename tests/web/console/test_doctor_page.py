"""The doctors' page through the Flask test client: their messages and the
unassigned ones of their practices (never another doctor's), their own
appointments, urgent calls, their digest settings and status, and a new
calendar feed link that replaces the previous one.

The phone line leaves messages addressed to nobody in particular; a message
addressed to a doctor is made here by setting ``doctor_id`` on a message an
emulated call left.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import update

from callcenter.instance import DEMO_DOCTORS, DEMO_PRACTICE
from callcenter.messages.models import Message
from callcenter.security.demo_certs import write_demo_certificates
from tests.conftest import OPEN_HOURS, services, set_clock
from tests.ivr.test_identify import NAME, seed
from tests.web.console.conftest import Console
from tests.web.console.test_secretary_pages import (
    FEVER,
    OTHER_CALLER,
    PORT,
    PORT_WORDS,
    audited,
    book,
    chain_verifies,
    leave_message,
    leave_urgent_message,
    message_id,
    stored_message,
    views,
)
from tests.web.console.test_secretary_pages import home as home  # two practices

FOR_MARTIN = "Pour la docteure Martin : les résultats de la prise de sang"
FOR_BERNARD = "Pour le docteur Bernard : le compte rendu du kiné"
FOR_ANYONE = "Bonjour, je voudrais renouveler mon ordonnance"
FEED = re.compile(
    r'<code class="feed-url">(https://cc\.example\.test/calendar/([^<]+)\.ics)</code>'
)


@pytest.fixture
def martin(app: Flask, make_user, console: Console) -> Console:
    """Docteure Martin, who works at the demo practice only, signed in."""
    console.login(*make_user("claire", "doctor", ["demo"], "dr-martin"))
    return console


def page_of(console: Console, path: str = "/console/doctor") -> str:
    answer = console.get(path)
    assert answer.status_code == 200, (answer.status_code, answer.location)
    return html.unescape(answer.get_data(as_text=True))


def addressed(app: Flask, words: str, doctor_id: str) -> str:
    ident = message_id(app, words)
    with services(app).db.session() as session:
        session.execute(update(Message).where(Message.id == ident).values(doctor_id=doctor_id))
    return ident


def messages_for_three(app: Flask, twilio) -> dict[str, str]:
    """One message for docteure Martin, one for docteur Bernard, one for nobody; and one
    at the other practice."""
    for words in (FOR_MARTIN, FOR_BERNARD, FOR_ANYONE):
        leave_message(twilio, words=words)
    leave_message(twilio, number=PORT, words=PORT_WORDS)
    return {
        "martin": addressed(app, FOR_MARTIN, "dr-martin"),
        "bernard": addressed(app, FOR_BERNARD, "dr-bernard"),
        "anyone": message_id(app, FOR_ANYONE),
        "port": message_id(app, PORT_WORDS),
    }


def feed_link(page: str) -> tuple[str, str]:
    found = FEED.findall(page)
    assert len(found) == 1, found
    return found[0]


# -- messages -----------------------------------------------------------------------


def test_a_doctor_sees_their_messages_and_unassigned_ones_never_another_doctors(
    app, twilio, martin
):
    messages_for_three(app, twilio)
    page = page_of(martin)
    assert FOR_MARTIN in page and FOR_ANYONE in page
    assert FOR_BERNARD not in page and PORT_WORDS not in page
    assert 'href="tel:+33612345678"' in page  # the call-back number
    assert views(app, "doctor") == [("demo", None)]
    [entry] = audited(app, "console.view.doctor")
    assert entry.actor == "console:claire" and entry.details == '{"rows":2}'
    assert chain_verifies(app)


def test_a_doctor_marks_their_messages_handled_but_not_another_doctors(app, twilio, martin):
    ids = messages_for_three(app, twilio)
    page_of(martin)
    for mine in ("martin", "anyone"):
        done = martin.post(f"/console/messages/{ids[mine]}/handled")
        assert done.status_code == 302 and done.location.endswith("/console/doctor")
        assert stored_message(app, ids[mine]).handled_at == OPEN_HOURS
    for theirs in ("bernard", "port"):
        assert martin.post(f"/console/messages/{ids[theirs]}/handled").status_code == 404
        assert stored_message(app, ids[theirs]).handled_at is None
    assert martin.post(f"/console/messages/{ids['martin']}/handled").status_code == 302
    handled = [e.object_ref for e in audited(app, "console.message_handled")]
    assert handled == [ids["martin"], ids["anyone"]]  # once each
    assert "Rappelé / traité" in page_of(martin)


def test_a_doctor_without_anything_to_see_gets_an_empty_page_and_no_audit_entry(app, martin):
    page = page_of(martin)
    assert "Aucun message." in page and "Aucun rendez-vous." in page
    assert "Aucun appel urgent." in page
    assert views(app, "doctor") == []


# -- appointments and urgent calls --------------------------------------------------


def test_a_doctor_sees_their_own_appointments_only(app, martin):
    mine = seed(app, "1980-03-15")
    other = seed(app, "1990-01-01", name="Bérénice Lavande", phone=OTHER_CALLER)
    book(app, mine, "2026-11-24T14:00:00+01:00")
    book(app, other, "2026-11-25T09:00:00+01:00", doctor="dr-bernard")
    book(app, other, "2026-12-08T09:00:00+01:00")  # beyond the next seven days
    page = page_of(martin)
    assert NAME in page and "24/11/2026 14:00" in page
    assert "Bérénice Lavande" not in page and "25/11/2026 09:00" not in page
    assert "08/12/2026" not in page
    assert views(app, "doctor") == [("demo", None)]


def test_urgent_calls_are_listed_without_a_number_and_in_words(app, twilio, martin):
    set_clock(app, "2026-11-24T09:00:00+01:00")
    leave_urgent_message(twilio)
    set_clock(app, OPEN_HOURS.isoformat())
    page = page_of(martin)
    urgent = page.split("Appels urgents")[1].split("<h2>")[0]
    assert "24/11/2026 09:00" in urgent and "cabinet médical des Tilleuls" in urgent
    assert "message laissé" in urgent  # the outcome in French, not its code
    assert "698765432" not in urgent and FEVER in page  # the message is in the list above


# -- digests --------------------------------------------------------------------------


def test_the_digest_settings_show_with_what_blocks_them(app, martin):
    """The test instance has no certificates yet: sending is blocked, and the page says so."""
    page = page_of(martin)
    card = page.split("Mes synthèses chiffrées")[1].split("<h2>")[0]
    assert "cabinet médical des Tilleuls" in card and "12:30, 18:30" in card
    assert "Envoi bloqué" in card and "Envoi possible" not in card


def test_the_digest_status_is_ok_with_valid_certificates(app, home: Path, martin):
    doctors = [(str(d["id"]), str(d["email"])) for d in DEMO_DOCTORS]
    write_demo_certificates(home / "certs", str(DEMO_PRACTICE["name"]), "secretariat@example.test",
                            doctors, now=datetime(2026, 11, 1, tzinfo=UTC))  # fmt: skip
    card = page_of(martin).split("Mes synthèses chiffrées")[1].split("<h2>")[0]
    assert "Envoi possible" in card and "Envoi bloqué" not in card


# -- calendar feed --------------------------------------------------------------------


def test_a_new_feed_link_works_and_the_previous_one_stops_working(app, martin):
    book(app, seed(app, "1980-03-15"), "2026-11-24T14:00:00+01:00")
    page_of(martin)
    first = martin.post("/console/doctor/feed")
    assert first.status_code == 200
    url, token = feed_link(first.get_data(as_text=True))
    assert url.startswith("https://cc.example.test/calendar/")
    calendar = app.test_client().get(f"/calendar/{token}.ics")
    assert calendar.status_code == 200 and calendar.mimetype == "text/calendar"
    body = calendar.get_data(as_text=True)
    assert body.count("BEGIN:VEVENT") == 1 and NAME not in body
    assert "feed-url" not in page_of(martin)  # shown once, not on the next visit
    second = martin.post("/console/doctor/feed")
    _, new_token = feed_link(second.get_data(as_text=True))
    assert new_token != token
    assert app.test_client().get(f"/calendar/{token}.ics").status_code == 404
    assert app.test_client().get(f"/calendar/{new_token}.ics").status_code == 200
    assert [e.object_ref for e in audited(app, "console.feed_created")] == ["dr-martin"] * 2
    assert chain_verifies(app)


def test_a_doctor_of_two_practices_sees_both_and_gets_a_feed_link_for_each(
    app, twilio, make_user, console
):
    console.login(*make_user("claire", "doctor", ["demo", "port"], "dr-martin"))
    leave_message(twilio, words=FOR_ANYONE)
    leave_message(twilio, number=PORT, words=PORT_WORDS)
    page = page_of(console)
    assert FOR_ANYONE in page and PORT_WORDS in page
    assert views(app, "doctor") == [("demo", None), ("port", None)]
    answer = console.post("/console/doctor/feed")
    links = FEED.findall(answer.get_data(as_text=True))
    assert len(links) == 2
    for _, token in links:
        assert app.test_client().get(f"/calendar/{token}.ics").status_code == 200
    assert {e.practice_id for e in audited(app, "console.feed_created")} == {"demo", "port"}


def test_the_feed_form_needs_its_token(app, martin):
    page_of(martin)
    assert martin.post("/console/doctor/feed", token=False).status_code == 403
    assert audited(app, "console.feed_created") == []


# -- roles ----------------------------------------------------------------------------


def test_a_secretary_cannot_open_the_doctors_page(app, secretary):
    assert secretary.get("/console/doctor").status_code == 403
    secretary.get("/console/messages")
    assert secretary.post("/console/doctor/feed").status_code == 403
    assert audited(app, "console.feed_created") == []
