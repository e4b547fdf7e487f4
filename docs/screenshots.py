"""Screenshots of the practice console for docs/console.md, taken through Debian's Chromium.

Run: ``make screenshots`` (or ``.venv/bin/python docs/screenshots.py [OUT_DIR]``).
Needs ``/usr/bin/chromium`` (``apt-get install -y chromium``) and Playwright
(the test extras); never ``playwright install``.

1. A demo instance in a temporary folder, as ``callcenter init --demo`` makes
   it (the demo practice, its invented doctors, the console accounts), with
   the clock frozen on Tuesday 24 November 2026, 10:00 in Paris.
2. Calls through the Twilio emulator, in-process: messages (one urgent, one
   from an identified patient), appointments booked by phone, and two calls
   still in progress (one ringing the secretaries, one waiting in the queue).
3. The app served on 127.0.0.1; Chromium signs in as the secretary, the
   doctor and the administrator (TOTP enrolled from the key the page shows)
   and saves each page as ``docs/screenshots/NN-name.png`` at 1280×800.

Every name and number here is invented: the patients' numbers are in the
range ARCEP keeps for fiction (01 99 00 xx xx), the rest is the demo's.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from callcenter.accounts import accounts
from callcenter.config.settings import load_settings
from callcenter.instance import DEMO_ACCOUNTS, DEMO_PRACTICE, init_instance
from callcenter.patients.models import Patient
from callcenter.phone.emulator import FlaskTransport, PhoneCall, TwilioEmulator
from callcenter.services import Services
from callcenter.web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
# As docs/console.md says.  (The date field shows mm/dd/yyyy: Debian's chromium ships only the
# en-US locale of its own widgets; chromium-l10n would bring French.)
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip
WIDTH, HEIGHT = 1280, 800
NOW = datetime.fromisoformat("2026-11-24T10:00:00+01:00")  # a Tuesday, office hours
NUMBER = str(DEMO_PRACTICE["number"])

# Invented patients: (name, date of birth as stored, phone in the fiction range).
PATIENTS = {
    "hortense": ("Hortense Valmoral", "1980-03-15", "+33199000001"),
    "basile": ("Basile Ferrandou", "1992-07-08", "+33612345680"),  # a mobile: SMS
    "josephine": ("Joséphine Carabin", "1967-11-30", "+33199000003"),
}
UNKNOWN = ["+33199000004", "+33199000005", "+33199000006", "+33199000007"]


def keyed(born: str) -> str:
    """A stored date of birth as the caller keys it (DDMMYYYY)."""
    year, month, day = born.split("-")
    return day + month + year


@contextmanager
def demo_app(folder: Path) -> Iterator[Flask]:
    """The demo instance, its clock frozen at NOW; the app, on its own database file."""
    for name in ("DATABASE_URL", "DATABASE_URL_FILE", "CALLCENTER_KEYRING",
                 "CALLCENTER_KEYRING_FILE", "PUBLIC_BASE_URL"):  # fmt: skip
        os.environ.pop(name, None)  # this demo uses its own folder only
    home = folder / "instance"
    init_instance(home, demo=True)
    settings = load_settings({"CALLCENTER_HOME": str(home), "CALLCENTER_NOW": NOW.isoformat()})
    app = create_app(settings)
    logging.getLogger().setLevel(logging.WARNING)  # not every webhook of the demo's calls
    try:
        yield app
    finally:
        services(app).db.dispose()


def services(app: Flask) -> Services:
    svc: Services = app.extensions["callcenter"]
    return svc


def at(app: Flask, moment: datetime) -> None:
    services(app).clock.frozen = moment


def add_patients(app: Flask) -> None:
    svc = services(app)
    demo = svc.practices.by_id("demo")
    assert demo is not None
    bits = demo.blind_index_bits
    seen = NOW - timedelta(days=40)
    with svc.bound(), svc.db.session() as session:  # encrypted fields need the cipher bound
        for name, born, phone in PATIENTS.values():
            session.add(
                Patient(
                    practice_id="demo", phone=phone, name=name, birth_date=born,
                    phone_index=svc.cipher.phone_index(phone, practice="demo", bits=bits),
                    created_at=seen, last_seen_at=seen,
                )
            )  # fmt: skip


def passwords(app: Flask) -> dict[str, str]:
    """New passwords for the demo accounts (``init --demo`` showed the first ones once)."""
    svc = services(app)
    with svc.bound(), svc.db.session() as session:
        return {
            username: accounts.reset_user(session, username, now=svc.clock.now(), actor="docs")
            for username, _, _ in DEMO_ACCOUNTS
        }


def message(phone: TwilioEmulator, caller: str, words: str, dob: str | None = None) -> None:
    """Menu 2, identified by date of birth (or not), the message by speech, call back: yes."""
    call = phone.place_call(caller, NUMBER).press("2").press(dob or "*")
    assert call.waiting_for == "Gather", call.last_heard()
    call.say(words)
    call.press("1")
    assert call.ended, call.last_heard()


def book(phone: TwilioEmulator, caller: str, dob: str, doctor: str, slot: str) -> PhoneCall:
    """Menu 1, identified, book, the doctor's key, the slot's key, confirm."""
    call = phone.place_call(caller, NUMBER).press("1").press(dob)
    call.press("1").press(doctor).press(slot).press("1")
    assert "confirmé" in call.last_heard(), call.last_heard()
    return call


def phone_line(app: Flask) -> None:
    """What the morning's calls left: messages, appointments, calls in progress."""
    svc = services(app)
    phone = TwilioEmulator(
        FlaskTransport(app.test_client()), svc.settings.twilio_auth_token, "http://localhost",
        account_sid=svc.settings.twilio_account_sid,
    )  # fmt: skip
    hortense, basile, josephine = PATIENTS.values()
    at(app, NOW - timedelta(days=1, hours=-6))  # yesterday 16:00: an older message
    message(phone, UNKNOWN[0], "Bonjour, je voudrais savoir si mes résultats de prise de "
            "sang sont arrivés. Merci de me rappeler.")  # fmt: skip
    at(app, NOW - timedelta(hours=1, minutes=35))
    message(phone, basile[2], "C'est pour un certificat de sport pour mon fils, "
            "il en a besoin pour samedi.", keyed(basile[1]))  # fmt: skip
    at(app, NOW - timedelta(minutes=50))
    urgent = phone.place_call(UNKNOWN[1], NUMBER).press("9")  # urgent: advice, then a person
    urgent.no_answer()  # nobody free: an urgent message
    assert urgent.waiting_for == "Gather", urgent.last_heard()
    urgent.say("Ma mère a beaucoup de fièvre depuis hier soir et elle tousse, "
               "pouvez-vous demander au médecin de me rappeler ?")  # fmt: skip
    urgent.press("1")
    at(app, NOW - timedelta(minutes=25))
    message(phone, hortense[2], "Je souhaite renouveler mon ordonnance habituelle, "
            "la pharmacie n'a plus de renouvellement.", keyed(hortense[1]))  # fmt: skip
    at(app, NOW - timedelta(minutes=22))
    renewal = (
        phone.place_call(josephine[2], NUMBER)
        .say("je voudrais renouveler mon ordonnance de ventoline")
        .press(keyed(josephine[1]))
    )
    renewal.press("1").say("de la Ventoline, deux boîtes")  # for the docteure Martin
    assert renewal.ended, renewal.last_heard()
    at(app, NOW - timedelta(minutes=20))
    book(phone, hortense[2], keyed(hortense[1]), "1", "1")
    book(phone, josephine[2], keyed(josephine[1]), "1", "1")
    book(phone, basile[2], keyed(basile[1]), "2", "1")
    at(app, NOW - timedelta(minutes=10))
    waiting = phone.place_call(basile[2], NUMBER).press("1").press(keyed(basile[1]))
    waiting.press("1").press("1").press("4").press("5")  # Martin, « autre choix », the list
    waiting.say("mercredi").press("1")  # before Wednesday (tomorrow), in the morning
    assert waiting.ended, waiting.last_heard()
    at(app, NOW - timedelta(minutes=2))
    first = phone.place_call(UNKNOWN[2], NUMBER).press("3")  # ringing the secretaries
    at(app, NOW - timedelta(minutes=1))
    second = phone.place_call(UNKNOWN[3], NUMBER).say("je voudrais un rendez-vous").press("*")
    assert first.waiting_for == second.waiting_for == "Dial"
    at(app, NOW)


class QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def sign_in(app: Flask, page: Any, base: str, username: str, password: str,
            out: Path, shot: str | None = None) -> None:  # fmt: skip
    page.goto(base + "/console/login")
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/console/second-factor")
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    if shot:
        save(page, out, shot)
    code = pyotp.TOTP(secret).at(services(app).clock.now())
    page.get_by_label("Code à 6 chiffres").fill(code)
    page.get_by_role("button", name="Valider").click()
    page.wait_for_load_state()


def save(page: Any, out: Path, name: str, full_page: bool = False) -> None:
    path = out / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    print(f"{path}: {path.stat().st_size // 1024} KiB")


def new_window(browser: Any) -> Any:
    return browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, locale="fr-FR")


def photograph(app: Flask, base: str, login: dict[str, str], out: Path) -> None:
    """Sign in as each demo account and save its pages."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            window = new_window(browser)
            page = window.new_page()
            page.goto(base + "/console/login")
            save(page, out, "01-login")
            sign_in(app, page, base, "secretaire", login["secretaire"], out, "02-totp-enrolment")
            done = page.locator("tbody tr").filter(has_text="certificat de sport")
            done.get_by_role("button", name="Marquer rappelé / traité").click()
            page.wait_for_load_state()
            save(page, out, "03-messages")
            page.get_by_role("link", name="Appels en cours").click()
            save(page, out, "04-live-calls")
            page.get_by_role("link", name="Rendez-vous").click()
            save(page, out, "05-appointments")
            page.get_by_role("link", name="Liste d’attente").click()
            save(page, out, "12-waiting-list")
            page.get_by_role("link", name="Recherche par numéro").click()
            page.get_by_label("Numéro de téléphone").fill(PATIENTS["hortense"][2])
            page.get_by_role("button", name="Rechercher").click()
            save(page, out, "06-search")
            window.close()

            for username, shot in (("dr-martin", "07-doctor"), ("admin", "08-admin")):
                window = new_window(browser)
                page = window.new_page()
                sign_in(app, page, base, username, login[username], out)
                save(page, out, shot, full_page=True)  # one page holds everything: all of it
                if username == "dr-martin":
                    page.get_by_role("link", name="Demandes").click()
                    save(page, out, "11-requests")
                if username == "admin":
                    page.get_by_role("link", name="Statistiques d’appels").first.click()
                    save(page, out, "09-statistics", full_page=True)
                    page.get_by_role("link", name="Parcours d’appel").first.click()
                    save(page, out, "10-flows")
                window.close()
        finally:
            browser.close()


def main() -> int:
    if not CHROMIUM.exists():
        print(f"error: {CHROMIUM} is missing (apt-get install -y chromium)", file=sys.stderr)
        return 1
    out = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else OUT
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder, demo_app(Path(folder)) as app:
        add_patients(app)
        login = passwords(app)
        phone_line(app)
        with serve(app) as base:
            photograph(app, base, login, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
