"""The console through a real browser: Debian's Chromium, driven by Playwright,
against the app served on loopback while the Twilio emulator places the calls.

A person's journey, clicks and typing included: the password, the TOTP code
their phone computes from the key shown at enrolment, a message left by phone
marked called back, an appointment cancelled.  Then what an attacker would
try: the administrator's page, another practice's rows, a cookie copied
before logout, a form posted without its token.

The server is the ``app`` fixture under werkzeug in a thread, so the clock is
the frozen one of the settings fixture (Tuesday 24 November 2026, 10:00 in
Paris) and every test runs on SQLite and, when it answers, PostgreSQL.  A
second practice is on the server in every test: the secretary serves only
the first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import WSGIRequestHandler, make_server

from callcenter.accounts.sessions import COOKIE
from callcenter.appointments import booking
from callcenter.appointments.models import Appointment
from callcenter.messages.models import Message
from callcenter.patients.models import Patient
from callcenter.phone.emulator import TwilioEmulator
from tests.conftest import CALLER, OPEN_HOURS, services, write_practice
from tests.ivr.test_identify import DOB, NAME, seed
from tests.loopback import ServerThread

CHROMIUM = Path("/usr/bin/chromium")
# docs/console.md: the only way Chromium is launched here (never `playwright install`).
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip

if not CHROMIUM.exists():
    pytest.skip(
        f"no browser: {CHROMIUM} is missing (apt-get install -y chromium chromium-driver; "
        ".ci/run installs them)",
        allow_module_level=True,
    )
playwright_api = pytest.importorskip(
    "playwright.sync_api",
    reason="Playwright is not installed (pip install -e '.[test]'); it drives Chromium here",
)
expect = playwright_api.expect

pytestmark = pytest.mark.browser

OTHER = {"id": "parc", "name": "cabinet du Parc", "number": "+33145000000"}
OTHER_CALLER = "+33698765432"
WORDS = "Bonjour, c'est pour renouveler l'ordonnance de ma fille, rappelez-moi s'il vous plaît"
OTHER_WORDS = "Message pour le cabinet du Parc au sujet d'un certificat de sport"
OTHER_NAME = "Anatole Brindefer"


# -- the server, the browser ------------------------------------------------------------


@pytest.fixture
def home(home: Path) -> Path:
    """The instance with a second practice beside the demo one (written before the app)."""
    write_practice(
        home, **OTHER, secretaries=[{"id": "sec-marc", "name": "Marc", "phone": "+33612000099"}]
    )
    return home


class QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """The browser's requests are the test's business, not stderr's."""


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app served on 127.0.0.1 and a free port; its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    serving = ServerThread(server, name="console-live").start()  # stops without a poll
    yield f"http://127.0.0.1:{server.server_port}"
    serving.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Debian's Chromium with the arguments docs/console.md gives, and a fresh profile.

    Playwright refuses ``--user-data-dir`` in ``launch`` and makes a new
    temporary profile for each launch itself; its driver is started with
    ``TMPDIR`` pointing at a fresh folder of this run, so that profile lives
    (and is removed) there, never in a profile used before.
    """
    profiles = tmp_path_factory.mktemp("chromium-profile")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TMPDIR", str(profiles))
        playwright = playwright_api.sync_playwright().start()  # the driver copies TMPDIR now
    try:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()
    finally:
        playwright.stop()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A new browser window of its own: no cookie from another test."""
    window = browser.new_context(viewport={"width": 1280, "height": 800}, locale="fr-FR")
    window.set_default_timeout(10_000)
    yield window
    window.close()


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()


@pytest.fixture
def sign_in(app: Flask, live_server: str, make_user) -> Callable[..., str]:
    """``sign_in(page, "lea", "secretary")``: a new account signs in for the first time,
    enrolling TOTP from the key shown as text, as a person types it into their phone."""

    def run(page: Any, username: str, role: str, practices: list[str] | None = None) -> str:
        _, password = make_user(username, role, practices)
        page.goto(live_server + "/console/login")
        page.get_by_label("Identifiant").fill(username)
        page.get_by_label("Mot de passe").fill(password)
        page.get_by_role("button", name="Se connecter").click()
        expect(page).to_have_url(re.compile(r"/console/second-factor$"))
        expect(page.locator("figure.qr svg")).to_be_visible()  # the QR code
        secret = page.locator("#totp-secret").inner_text().replace(" ", "")
        code = pyotp.TOTP(secret).at(services(app).clock.now())  # the server's frozen clock
        page.get_by_label("Code à 6 chiffres").fill(code)
        page.get_by_role("button", name="Valider").click()
        return secret

    return run


# -- what the phone line leaves -------------------------------------------------------------


def leave_message(twilio: TwilioEmulator, number: str, caller: str, words: str) -> None:
    """Menu 2 (a message), no identification, the recording, then Twilio's callbacks."""
    call = twilio.place_call(caller, number).press("2").press("*").silence()
    assert call.waiting_for == "Record"
    call.record(seconds=9, words=words)
    assert call.deliver() == [204, 204]


def stored_message(app: Flask, practice_id: str) -> Message:
    with services(app).db.session() as session:
        return session.scalars(select(Message).where(Message.practice_id == practice_id)).one()


def stored_appointment(app: Flask, appointment_id: str) -> Appointment:
    with services(app).db.session() as session:
        found = session.get(Appointment, appointment_id)
        assert found is not None
        return found


def other_practice_appointment(app: Flask) -> str:
    """A patient of the second practice, booked at 11:00 today (the same day as the demo's)."""
    svc = services(app)
    other = svc.practices.by_id(OTHER["id"])
    assert other is not None
    bits = other.blind_index_bits
    with svc.db.session() as session:
        patient = Patient(
            practice_id=OTHER["id"], phone=OTHER_CALLER, name=OTHER_NAME, birth_date="1975-06-02",
            phone_index=svc.cipher.phone_index(OTHER_CALLER, practice=OTHER["id"], bits=bits),
            created_at=OPEN_HOURS, last_seen_at=OPEN_HOURS,
        )  # fmt: skip
        session.add(patient)
        session.flush()
        found = booking.book(
            session, practice_id=OTHER["id"], doctor_id="dr-martin", patient_id=patient.id,
            starts_at=OPEN_HOURS.replace(hour=11), minutes=20, slot_minutes=20,
            kind="consultation", now=OPEN_HOURS,
        )  # fmt: skip
        assert found is not None
        return found


def session_cookie(context: Any) -> dict[str, Any]:
    [found] = [c for c in context.cookies() if c["name"] == COOKIE]
    return dict(found)


# -- a secretary's day ----------------------------------------------------------------------


def test_a_secretary_signs_in_sees_a_phone_message_and_marks_it_called_back(
    app, twilio, practice_number, live_server, page, sign_in
):
    """Password, TOTP enrolment, the message with its transcript and number, one click."""
    leave_message(twilio, practice_number, CALLER, WORDS)
    sign_in(page, "lea", "secretary", ["demo"])
    expect(page).to_have_url(re.compile(r"/console/messages$"))
    expect(page.get_by_role("heading", name="Messages à rappeler")).to_be_visible()
    row = page.locator("tbody tr").filter(has_text=WORDS)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("06 12 34 56 78")  # the call-back number, by pairs
    link = row.get_by_role("link", name="06 12 34 56 78")
    expect(link).to_have_attribute("href", f"tel:{CALLER}")
    row.get_by_role("button", name="Marquer rappelé / traité").click()
    expect(page).to_have_url(re.compile(r"/console/messages$"))
    expect(row).to_contain_text("Rappelé / traité")
    expect(row.get_by_role("button")).to_have_count(0)
    handled = stored_message(app, "demo")
    assert handled.handled_at is not None and handled.handled_by is not None


def test_a_secretary_cancels_an_appointment_booked_by_phone(
    app, twilio, practice_number, live_server, page, sign_in
):
    """A patient books 14:00 by phone; the secretary cancels it and the day no longer has it."""
    seed(app, "1980-03-15")
    call = twilio.place_call(CALLER, practice_number).press("1").press(DOB)
    call.press("1").press("1").press("1").press("1")  # book, docteure Martin, first slot, yes
    assert "confirmé le mardi 24 novembre à 14 h" in call.last_heard()
    sign_in(page, "lea", "secretary", ["demo"])
    page.get_by_role("link", name="Rendez-vous").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("mardi 24/11/2026")
    row = page.locator("tbody tr").filter(has_text=NAME)
    expect(row).to_contain_text("24/11/2026 14:00 – 14:20")
    appointment_id = (row.get_attribute("id") or "").removeprefix("appointment-")
    row.get_by_role("button", name="Annuler le rendez-vous").click()
    expect(page).to_have_url(re.compile(r"/console/appointments\?day=2026-11-24$"))
    expect(page.get_by_text("Aucun rendez-vous.")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text(NAME)
    assert stored_appointment(app, appointment_id).status != "booked"


# -- what a secretary cannot reach ---------------------------------------------------------


def test_a_secretary_cannot_open_the_administration_nor_another_practices_data(
    app, twilio, practice_number, live_server, page, sign_in
):
    """403 for the administrator's page; the other practice's rows never show, and their
    ids answer 404 as if they did not exist."""
    leave_message(twilio, practice_number, CALLER, WORDS)
    leave_message(twilio, str(OTHER["number"]), OTHER_CALLER, OTHER_WORDS)
    other_message = stored_message(app, str(OTHER["id"])).id
    other_appointment = other_practice_appointment(app)
    sign_in(page, "lea", "secretary", ["demo"])

    expect(page.locator("main")).to_contain_text(WORDS)
    expect(page.locator("main")).not_to_contain_text(OTHER_WORDS)
    expect(page.locator("main")).not_to_contain_text("cabinet du Parc")
    denied = page.goto(live_server + "/console/admin")
    assert denied is not None and denied.status == 403
    expect(page.locator("body")).not_to_contain_text("Administration")

    page.goto(live_server + "/console/appointments?day=2026-11-24")
    expect(page.get_by_text("Aucun rendez-vous.")).to_be_visible()
    assert "cabinet du Parc" not in page.locator("#doctor").inner_text()
    moved = page.goto(f"{live_server}/console/appointments/{other_appointment}/move")
    assert moved is not None and moved.status == 404
    assert OTHER_NAME not in page.content()

    page.goto(live_server + "/console/search")
    page.get_by_label("Numéro de téléphone").fill(OTHER_CALLER)
    page.get_by_role("button", name="Rechercher").click()
    # Its patient, and the message left from the number there, belong to the other practice.
    expect(page.get_by_text("Rien pour ce numéro : aucun patient")).to_be_visible()
    assert OTHER_NAME not in page.content() and OTHER_WORDS not in page.content()

    # The secretary's own form, pointed at the other practice's message: a valid
    # token, a real click, and still 404 — the message stays as it was.
    page.goto(live_server + "/console/messages")
    form = page.locator("tbody tr").filter(has_text=WORDS).locator("form")
    form.evaluate("(f, id) => { f.action = `/console/messages/${id}/handled`; }", other_message)
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        form.get_by_role("button").click()
    assert posted.value.status == 404
    assert stored_message(app, str(OTHER["id"])).handled_at is None
    assert stored_appointment(app, other_appointment).status == "booked"


# -- sessions, cookies, forms -------------------------------------------------------------


def test_a_session_cookie_copied_before_logout_opens_nothing_after_it(
    app, twilio, practice_number, live_server, browser, context, page, sign_in
):
    leave_message(twilio, practice_number, CALLER, WORDS)
    sign_in(page, "lea", "secretary", ["demo"])
    stolen = session_cookie(context)
    thief = browser.new_context()
    try:
        thief.add_cookies([stolen])
        elsewhere = thief.new_page()
        elsewhere.goto(live_server + "/console/messages")  # the copy works while the session lives
        expect(elsewhere.locator("main")).to_contain_text(WORDS)

        page.get_by_role("button", name="Se déconnecter").click()
        expect(page).to_have_url(re.compile(r"/console/login$"))

        answer = elsewhere.goto(live_server + "/console/messages")
        assert answer is not None and answer.status == 200
        expect(elsewhere).to_have_url(re.compile(r"/console/login$"))
        expect(elsewhere.get_by_role("heading", name="Connexion")).to_be_visible()
        assert WORDS not in elsewhere.content() and CALLER not in elsewhere.content()
        # Nor without a browser: the copied cookie alone gets a redirect, no data.
        raw = thief.request.get(live_server + "/console/messages", max_redirects=0)
        assert raw.status == 302 and raw.headers["location"].startswith("/console/login")
        assert WORDS not in raw.text()
    finally:
        thief.close()


def test_a_form_without_its_csrf_token_is_refused(
    app, twilio, practice_number, live_server, context, page, sign_in
):
    """The hidden field removed from the page, or a request made without it: 403, no change."""
    leave_message(twilio, practice_number, CALLER, WORDS)
    sign_in(page, "lea", "secretary", ["demo"])
    page.evaluate("document.querySelectorAll('input[name=csrf_token]').forEach(e => e.remove())")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Marquer rappelé / traité").click()
    assert posted.value.status == 403
    assert stored_message(app, "demo").handled_at is None

    # The logout form without its token, through the window's own cookies: refused too,
    # and the session still opens the page.
    refused = context.request.post(live_server + "/console/logout", form={})
    assert refused.status == 403
    page.goto(live_server + "/console/messages")
    expect(page.locator("main")).to_contain_text(WORDS)


def test_the_session_cookie_is_secure_httponly_samesite_strict_and_host_only(
    live_server, context, page, sign_in
):
    sign_in(page, "lea", "secretary", ["demo"])
    expect(page).to_have_url(re.compile(r"/console/messages$"))
    cookie = session_cookie(context)
    assert cookie["secure"] is True and cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/" and cookie["domain"] == "127.0.0.1"  # host-only (__Host-)
    assert COOKIE not in page.evaluate("document.cookie")  # scripts cannot read it
