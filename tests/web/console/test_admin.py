"""The administrator's pages: users, settings with secrets masked, the audit log
and its verification, key ring, retention, digest outbox, flow validation.

Administrators only; nothing on them decrypts a patient's data; reading the
audit log and every change (disabling an account, verifying the chain) is audited.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select, update

from callcenter.accounts import accounts
from callcenter.audit import trail as audit
from callcenter.audit.models import AuditEntry
from callcenter.backoffice import settings_view
from callcenter.config.settings import DEFAULT_FLOWS_DIR, Settings
from callcenter.core.mailer import SmtpSettings
from callcenter.instance import DEMO_DOCTORS, DEMO_PRACTICE
from callcenter.jobs import tasks as jobs
from callcenter.notify.models import RemoteDeletion
from callcenter.security.demo_certs import write_demo_certificates
from callcenter.security.rotation import rows_per_key
from callcenter.security.smime import load_certificate
from callcenter.web.app import create_app
from tests.conftest import (
    CALLER,
    LEGACY_PIN_HASH,
    OPEN_HOURS,
    bound,
    create_tables,
    services,
    set_clock,
)
from tests.web.console.conftest import Console, stored_user

PAGES = [
    "/console/admin",
    "/console/admin/users",
    "/console/admin/settings",
    "/console/admin/audit",
    "/console/admin/keys",
    "/console/admin/retention",
    "/console/admin/outbox",
    "/console/admin/flows",
    "/console/admin/stats",
]
SEQ = re.compile(r'id="audit-(\d+)"')


def sign_in_admin(app: Flask, username: str = "root") -> Console:
    svc = services(app)
    with svc.db.session() as session:
        _, password = accounts.create_user(session, username, "admin", [], now=svc.clock.now())
    console = Console(app)
    console.login(username, password)
    return console


@pytest.fixture
def admin(app: Flask) -> Console:
    return sign_in_admin(app)


@pytest.fixture
def app_with(settings: Settings) -> Iterator[Callable[..., Flask]]:
    """An app on changed settings (used instead of ``app``, never beside it)."""
    made: list[Flask] = []

    def make(**changes: object) -> Flask:
        app = bound(create_app(dataclasses.replace(settings, **changes)))  # type: ignore[arg-type]
        create_tables(services(app).db)
        made.append(app)
        return app

    yield make
    for app in made:
        services(app).db.dispose()


def html(page) -> str:  # type: ignore[no-untyped-def]
    assert page.status_code == 200, page.status_code
    return str(page.get_data(as_text=True))


def actions(app: Flask) -> list[AuditEntry]:
    with services(app).db.session() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


# -- access ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_each_page_opens_for_an_administrator_and_for_no_one_else(app, admin, make_user, path):
    page = html(admin.get(path))
    assert 'aria-label="Sections de l’administration"' in page
    secretary = Console(app)
    secretary.login(*make_user("lea", "secretary", ["demo"]))
    assert secretary.get(path).status_code == 403
    doctor = Console(app)
    doctor.login(*make_user("martin", "doctor", ["demo"], "dr-martin"))
    assert doctor.get(path).status_code == 403


def test_the_overview_links_every_section_and_says_where_accounts_are_made(admin):
    page = html(admin.get("/console/admin"))
    for path in PAGES[1:]:
        assert f'href="{path}"' in page
    assert "callcenter users add" in html(admin.get("/console/admin/users"))


def test_the_changes_are_refused_to_other_roles(app, admin, secretary):
    lea = stored_user(app, "lea")
    secretary.get("/console/messages")
    assert secretary.post(f"/console/admin/users/{lea.id}/disable").status_code == 403
    assert secretary.post("/console/admin/audit/verify").status_code == 403
    assert stored_user(app, "lea").active


def test_no_page_shows_a_patients_number_or_message(app, twilio, practice_number, admin):
    words = "renouvellement de mon ordonnance de Ventoline"
    twilio.place_call(CALLER, practice_number).press("2").press("*").press("*").say(words)
    for path in PAGES:
        page = html(admin.get(path))
        assert CALLER not in page and CALLER[3:] not in page and words not in page


# -- users ----------------------------------------------------------------------------


def test_disabling_an_account_ends_its_sessions_and_is_audited(app, admin, secretary):
    lea = stored_user(app, "lea")
    assert secretary.get("/console/messages").status_code == 200
    page = html(admin.get("/console/admin/users"))
    assert f'action="/console/admin/users/{lea.id}/disable"' in page
    done = admin.post(f"/console/admin/users/{lea.id}/disable")
    assert done.status_code == 302 and done.location.endswith("/console/admin/users")
    assert secretary.get("/console/messages").location.endswith("/console/login")
    assert not stored_user(app, "lea").active
    last = actions(app)[-1]
    assert (last.action, last.actor, last.object_ref) == ("console.user_disabled",
                                                          "console:root", lea.id)  # fmt: skip
    assert "désactivé" in html(admin.get("/console/admin/users"))


def test_a_disable_form_without_its_token_is_refused(app, admin, secretary):
    lea = stored_user(app, "lea")
    admin.get("/console/admin/users")
    assert admin.post(f"/console/admin/users/{lea.id}/disable", token=False).status_code == 403
    assert admin.post("/console/admin/audit/verify", token=False).status_code == 403
    assert stored_user(app, "lea").active
    assert secretary.get("/console/messages").status_code == 200


def test_an_administrator_cannot_disable_their_own_account(app, admin):
    root = stored_user(app, "root")
    admin.get("/console/admin/users")
    refused = admin.post(f"/console/admin/users/{root.id}/disable")
    assert refused.status_code == 409
    assert "votre propre compte" in refused.get_data(as_text=True)
    assert stored_user(app, "root").active
    assert admin.post("/console/admin/users/nobody/disable").status_code == 404


# -- settings -------------------------------------------------------------------------

TOKEN = "tok3n-e8f0b9a1c2d3"
PREVIOUS = "prev10us-7c1d9e2f"
SMTP_PASSWORD = "smtp-pa55-41c9"
EXTRA_SECRET = "x-s3cret-a81f"
NESTED_SECRET = "n3sted-t0ken-0b7e"


def test_settings_show_every_secret_masked_and_never_its_value(app_with, home: Path):
    smtp = SmtpSettings(host="smtp.example.test", port=587, sender="cabinet@example.test",
                        username="cabinet", password=SMTP_PASSWORD)  # fmt: skip
    app = app_with(
        twilio_auth_token=TOKEN, twilio_previous_token=PREVIOUS, smtp=smtp,
        extra={"api_secret": EXTRA_SECRET, "webhook": {"auth_token": NESTED_SECRET},
               "console_language": "fr-FR"},
    )  # fmt: skip
    page = html(sign_in_admin(app).get("/console/admin/settings"))
    ring = json.loads((home / "keyring.json").read_text())
    pin_hash = LEGACY_PIN_HASH
    keys = [ring["signing_key"], *(k["secret"] for k in ring["keys"])]
    secrets = [TOKEN, PREVIOUS, SMTP_PASSWORD, EXTRA_SECRET, NESTED_SECRET, pin_hash,
               pin_hash.split("$")[2], *keys]  # fmt: skip
    for value in secrets:
        assert value not in page
    assert page.count("défini (masqué)") >= 6
    for shown in ("smtp.example.test", "cabinet@example.test", "practice-signing.key",
                  "dr-martin.pem", "cabinet médical des Tilleuls", "api_secret"):  # fmt: skip
        assert shown in page


def test_a_database_url_loses_its_password_and_password_like_fields():
    url = "postgresql+psycopg://app:s3cr3t-db@db.example:5432/cc?sslmode=require&password=qp-5ecret"
    shown = settings_view.masked_database_url(url)
    assert "s3cr3t-db" not in shown and "qp-5ecret" not in shown
    assert "db.example:5432/cc" in shown and "sslmode=require" in shown
    assert (
        settings_view.masked_url("https://u:pw-91@cc.example.test")
        == "https://u:***@cc.example.test"
    )
    settings = Settings(home=Path("/srv/cc"), database_url=url, twilio_account_sid="AC1",
                        twilio_auth_token=TOKEN)  # fmt: skip
    found = {s.name: s for s in settings_view.instance(settings, None)}
    assert found["twilio_auth_token"].masked and found["twilio_auth_token"].shown is None
    assert not found["twilio_auth_token_previous"].masked
    assert "s3cr3t-db" not in str(found["database_url"].shown)


# -- audit log ------------------------------------------------------------------------


def test_the_audit_log_pages_by_seq_and_each_reading_is_audited(app, admin):
    svc = services(app)
    with svc.db.session() as session:
        for n in range(250):
            audit.append(session, actor="system:test", action="test.filler",
                         details={"n": n}, now=svc.clock.now())  # fmt: skip
    head = actions(app)[-1].seq
    first = html(admin.get("/console/admin/audit"))
    seqs = [int(s) for s in SEQ.findall(first)]
    assert seqs == list(range(head, head - 200, -1))
    assert f'href="/console/admin/audit?before={head - 199}"' in first
    older = html(admin.get(f"/console/admin/audit?before={head - 199}"))
    assert [int(s) for s in SEQ.findall(older)] == list(range(head - 200, 0, -1))
    assert "?before=" not in older.split("Pages du journal")[1]  # the start of the log
    views = [e for e in actions(app) if e.action == "console.view.audit"]
    assert [(e.actor, json.loads(e.details or "{}")) for e in views] == [
        ("console:root", {"rows": 200, "before": None}),
        ("console:root", {"rows": head - 200, "before": head - 199}),
    ]


def test_verify_reports_an_intact_chain_then_the_first_tampered_entry(app, admin):
    svc = services(app)
    jobs.checkpoint(svc, svc.clock.now())  # as the worker does
    admin.get("/console/admin/audit")
    intact = html(admin.post("/console/admin/audit/verify"))
    assert "Chaîne d’audit intacte" in intact and "checkpoint at seq" in intact
    with svc.db.session() as session:  # an insider edits an entry behind the application
        session.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(actor="cli:forged"))
    broken = admin.post("/console/admin/audit/verify")
    assert "rompue à partir de l’entrée n° 2" in html(broken)
    verified = [e for e in actions(app) if e.action == "console.audit_verified"]
    assert [json.loads(e.details or "{}")["ok"] for e in verified] == [True, False]
    assert json.loads(verified[-1].details or "{}")["first_bad_seq"] == 2


# -- key ring, retention, outbox, flows --------------------------------------------------


def test_the_key_ring_page_counts_what_keys_status_counts(app, twilio, practice_number, admin):
    twilio.place_call(CALLER, practice_number).press("3").busy().press("1")
    page = html(admin.get("/console/admin/keys"))
    svc = services(app)
    assert f'id="active-key">{svc.keyring.active_id:08x}<' in page
    with svc.db.session() as session:
        counted = rows_per_key(session)
    assert sum(sum(c.values()) for c in counted.values()) > 0
    for table, counts in counted.items():
        for key_id, count in counts.items():
            assert f'id="rows-{table}-{key_id:08x}">{count}<' in page
        if not counts:
            assert f'id="rows-{table}">0<' in page


def test_retention_shows_the_policy_and_what_waits_for_the_purge(app, twilio, practice_number):
    twilio.place_call(CALLER, practice_number).press("3").busy().hangup()
    policy = services(app).policy
    set_clock(app, (OPEN_HOURS + timedelta(days=policy.retention.calls + 1)).isoformat())
    with services(app).db.session() as session:
        failed = RemoteDeletion(practice_id="demo", kind="recording", sid="RE" + "0" * 32,
                                due_at=OPEN_HOURS, attempts=1, last_error="http-500")  # fmt: skip
        session.add(failed)
    page = html(sign_in_admin(app).get("/console/admin/retention"))
    assert f'id="days-recordings">{policy.retention.recordings}<' in page
    assert f'id="days-audit">{policy.retention.audit}<' in page
    assert 'id="due-calls">1<' in page
    for state, count in (("pending", 1), ("due", 1), ("failing", 1), ("done", 0)):
        assert f'id="deletions-{state}">{count}<' in page


def test_the_outbox_counts_each_doctors_digests_and_names_certificate_problems(app, admin, home):
    svc = services(app)
    jobs.mail(svc, svc.clock.now(), doctor="dr-bernard", force=True)  # no certificates yet: refused
    blocked = html(admin.get("/console/admin/outbox"))
    assert blocked.count("Envoi bloqué") == 2
    doctors = [(str(d["id"]), str(d["email"])) for d in DEMO_DOCTORS]
    write_demo_certificates(home / "certs", str(DEMO_PRACTICE["name"]), "cabinet@example.test",
                            doctors, now=datetime(2026, 11, 1, tzinfo=UTC))  # fmt: skip
    run = jobs.mail(svc, svc.clock.now(), doctor="dr-martin", force=True)
    assert run.built == {"pending": 1} and run.sent.waiting == 1  # no SMTP: it waits
    page = html(admin.get("/console/admin/outbox"))
    martin = page.split('id="outbox-demo-dr-martin"')[1].split("</tr>")[0]
    bernard = page.split('id="outbox-demo-dr-bernard"')[1].split("</tr>")[0]
    assert '<td class="pending">1</td>' in martin and '<td class="refused">0</td>' in martin
    assert '<td class="refused">1</td>' in bernard and '<td class="pending">0</td>' in bernard
    expires = load_certificate(home / "certs" / "dr-martin.pem").not_valid_after_utc
    assert "Envoi bloqué" not in page
    assert f"Expire le {expires.astimezone(ZoneInfo('Europe/Paris')):%d/%m/%Y %H:%M}" in martin
    assert 'id="total-pending">1<' in page and 'id="total-refused">1<' in page
    assert "Aucun serveur SMTP" in page


def test_the_outbox_names_a_certificate_for_another_address(app, admin, home):
    doctors = [(str(d["id"]), str(d["email"])) for d in DEMO_DOCTORS]
    write_demo_certificates(home / "certs", str(DEMO_PRACTICE["name"]), "cabinet@example.test",
                            doctors, now=datetime(2026, 11, 1, tzinfo=UTC))  # fmt: skip
    (home / "certs" / "dr-martin.pem").write_bytes((home / "certs" / "dr-bernard.pem").read_bytes())
    page = html(admin.get("/console/admin/outbox"))
    martin = page.split('id="outbox-demo-dr-martin"')[1].split("</tr>")[0]
    bernard = page.split('id="outbox-demo-dr-bernard"')[1].split("</tr>")[0]
    assert "Envoi bloqué" in martin and "does not match the doctor&#39;s address" in martin
    assert "Envoi bloqué" not in bernard


def test_flows_are_checked_as_they_are_on_disk_now(app_with, tmp_path: Path):
    flows = tmp_path / "flows"
    shutil.copytree(DEFAULT_FLOWS_DIR, flows)
    app = app_with(flows_dir=flows)
    admin = sign_in_admin(app)
    assert "Aucune erreur" in html(admin.get("/console/admin/flows"))
    (flows / "main.yaml").write_text("nodes: [\n", encoding="utf-8")
    page = html(admin.get("/console/admin/flows"))
    assert "2 erreurs :" in page and "main.yaml" in page and "Aucune erreur" not in page
