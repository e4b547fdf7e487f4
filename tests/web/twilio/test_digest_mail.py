"""A day of demo calls → the scheduled digest → an S/MIME e-mail only the doctor can open."""

from __future__ import annotations

import dataclasses
import email
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from email import policy
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from callcenter.audit.models import AuditEntry
from callcenter.instance import DEMO_DOCTORS, DEMO_PRACTICE
from callcenter.jobs import tasks as jobs
from callcenter.notify.models import OutboxMail
from callcenter.phone.emulator import FlaskTransport, TwilioEmulator
from callcenter.security.demo_certs import write_demo_certificates
from callcenter.web.app import create_app
from tests.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CALLER,
    PUBLIC_BASE,
    bound,
    create_tables,
    services,
    set_clock,
)

NOON = "2026-11-24T12:30:00+01:00"  # Tuesday: dr-martin's first digest of the day
EVENING = "2026-11-24T18:30:00+01:00"  # both doctors' digests
NIGHT = "2026-11-24T21:00:00+01:00"  # dr-martin is on call
WORDS = "renouvellement de mon ordonnance de Ventoline"
needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl command")


@pytest.fixture
def certs(home: Path) -> Path:
    folder = home / "certs"
    doctors = [(str(d["id"]), str(d["email"])) for d in DEMO_DOCTORS]
    write_demo_certificates(folder, str(DEMO_PRACTICE["name"]), "secretariat@example.test",
                            doctors, now=datetime(2026, 11, 1, tzinfo=UTC))  # fmt: skip
    return folder


@pytest.fixture
def mail_app(settings, certs, smtp_server) -> Iterator[Flask]:
    app = bound(create_app(dataclasses.replace(settings, smtp=smtp_server.settings)))
    create_tables(services(app).db)
    yield app
    services(app).db.dispose()


@pytest.fixture
def phone(mail_app: Flask) -> TwilioEmulator:
    return TwilioEmulator(FlaskTransport(mail_app.test_client()), AUTH_TOKEN, PUBLIC_BASE,
                          account_sid=ACCOUNT_SID)  # fmt: skip


def a_morning(phone: TwilioEmulator) -> None:
    number = str(DEMO_PRACTICE["number"])
    # A message by speech (the caller refuses the recording): a transcript, no audio.
    phone.place_call(CALLER, number).press("2").press("*").press("*").say(WORDS)
    # Urgent: the secretary takes it.
    phone.place_call("+33698765432", number).press("9").answer(press="1").hangup()
    # All lines busy: a call-back request.
    phone.place_call("+33677889900", number).press("3").busy().press("1")
    # A new patient registers and books docteure Martin's first free slot.
    booking = phone.place_call("+33655443322", number).press("1").press("15031980")
    booking.say("Jean Dupont").press("1").press("1").press("1").press("1")
    assert "confirmé le mardi 24 novembre à 14 h avec la docteure Martin" in booking.last_heard()


def as_administrator(app: Flask, smtp_server, monkeypatch, now: str) -> None:
    """The instance as the command line sees it: settings.yaml, SMTP, a frozen clock."""
    settings = services(app).settings
    smtp = smtp_server.settings
    (settings.home / "settings.yaml").write_text(yaml.safe_dump({
        "twilio_account_sid": ACCOUNT_SID, "twilio_auth_token": AUTH_TOKEN,
        "database_url": settings.database_url,
        "smtp": {"host": smtp.host, "port": smtp.port, "username": smtp.username,
                 "from": smtp.sender, "ca_file": str(smtp.ca_file)},
    }))  # fmt: skip
    monkeypatch.setenv("CALLCENTER_HOME", str(settings.home))
    monkeypatch.setenv("CALLCENTER_NOW", now)
    monkeypatch.setenv("SMTP_PASSWORD", smtp.password or "")


def decrypt(message: bytes, certs: Path, doctor: str, tmp_path: Path) -> str:
    """As a doctor's mail client does: openssl cms, then check the practice's signature."""
    eml, signed = tmp_path / "digest.eml", tmp_path / "signed.eml"
    eml.write_bytes(message)
    subprocess.run(["openssl", "cms", "-decrypt", "-in", str(eml), "-recip",
                    str(certs / f"{doctor}.pem"), "-inkey", str(certs / f"{doctor}.key"),
                    "-out", str(signed)], check=True, capture_output=True)  # fmt: skip
    verified = subprocess.run(["openssl", "cms", "-verify", "-in", str(signed), "-CAfile",
                               str(certs / "practice-signing.pem"), "-purpose", "any"],
                              check=True, capture_output=True)  # fmt: skip
    assert b"Verification successful" in verified.stderr
    part = email.message_from_bytes(verified.stdout, policy=policy.default)
    assert part.get_content_type() == "text/plain"
    return str(part.get_content())


@needs_openssl
def test_a_day_of_calls_reaches_the_doctor_as_an_encrypted_digest(
    mail_app, phone, smtp_server, certs, tmp_path
):
    a_morning(phone)
    set_clock(mail_app, NOON)
    jobs.mail(services(mail_app), services(mail_app).clock.now())
    (received,) = smtp_server.messages
    assert received.recipients == ["dr.martin@example.test"]
    raw = received.data
    for secret in (b"Ventoline", b"ordonnance", b"698765432", b"677889900", b"612345678",
                   b"Dupont", b"655443322"):  # fmt: skip
        assert secret not in raw
    headers = email.message_from_bytes(raw, policy=policy.default)
    assert headers["Subject"] == "Synthèse des appels — 24/11 12:30"
    assert headers.get_content_type() == "application/pkcs7-mime"
    text = decrypt(raw, certs, "dr-martin", tmp_path)
    assert WORDS in text and "06 12 34 56 78" in text
    assert "appel urgent du 06 98 76 54 32 : pris par le secrétariat" in text
    assert "06 77 88 99 00" in text and "rappel demandé" in text
    assert "24/11 14:00 — Jean Dupont (Première consultation) : pris" in text
    assert text.index("URGENCES") < text.index("MESSAGES")
    with pytest.raises(subprocess.CalledProcessError):  # the other doctor's key cannot
        decrypt(raw, certs, "dr-bernard", tmp_path)
    jobs.mail(
        services(mail_app), services(mail_app).clock.now()
    )  # the next run sends nothing again
    assert len(smtp_server.messages) == 1


@needs_openssl
def test_each_doctor_gets_their_own_digest_at_their_own_time(
    mail_app, phone, smtp_server, certs, tmp_path
):
    a_morning(phone)
    set_clock(mail_app, NOON)
    jobs.mail(services(mail_app), services(mail_app).clock.now())
    at_noon = [m.recipients[0] for m in smtp_server.messages]
    assert at_noon == ["dr.martin@example.test"]
    set_clock(mail_app, EVENING)
    jobs.mail(services(mail_app), services(mail_app).clock.now())
    # Two mails due at the same moment go in no particular order.
    in_the_evening = sorted(m.recipients[0] for m in smtp_server.messages[1:])
    assert in_the_evening == ["dr.bernard@example.test", "dr.martin@example.test"]
    evening = {m.recipients[0]: m.data for m in smtp_server.messages[1:]}
    evening_martin = decrypt(evening["dr.martin@example.test"], certs, "dr-martin", tmp_path)
    assert "Aucun appel sur cette période." in evening_martin  # all was in the noon digest
    bernard = decrypt(evening["dr.bernard@example.test"], certs, "dr-bernard", tmp_path)
    assert WORDS in bernard  # a message for no doctor in particular goes to every doctor


def test_smtp_down_during_the_run_sends_the_digest_later_once(mail_app, phone, smtp_server):
    a_morning(phone)
    set_clock(mail_app, NOON)
    smtp_server.stop()
    first = jobs.mail(services(mail_app), services(mail_app).clock.now())
    assert first.built.get("pending") == 1 and first.sent.failed == 1
    smtp_server.start()
    set_clock(mail_app, "2026-11-24T12:45:00+01:00")
    second = jobs.mail(services(mail_app), services(mail_app).clock.now())
    assert second.built == {"exists": 1} or second.built.get("pending", 0) == 0
    assert second.sent.sent == 1 and len(smtp_server.messages) == 1


def test_a_doctor_without_a_valid_certificate_gets_no_mail_and_the_admin_is_told(
    mail_app, phone, smtp_server, certs, monkeypatch
):
    (certs / "dr-bernard.pem").unlink()
    a_morning(phone)
    set_clock(mail_app, EVENING)
    jobs.mail(services(mail_app), services(mail_app).clock.now())
    jobs.mail(services(mail_app), services(mail_app).clock.now())
    assert all(m.recipients == ["dr.martin@example.test"] for m in smtp_server.messages)
    with services(mail_app).db.session() as session:
        refused = session.scalars(select(OutboxMail).where(OutboxMail.status == "refused")).all()
        assert [m.doctor_id for m in refused] == ["dr-bernard"] and refused[0].body is None
        audits = session.scalars(select(AuditEntry).where(AuditEntry.action == "digest.refused"))
        assert [a.object_ref for a in audits] == ["dr-bernard"]
    from callcenter.cli.main import main

    as_administrator(mail_app, smtp_server, monkeypatch, EVENING)
    result = CliRunner().invoke(main, ["digest", "status"])
    assert result.exit_code == 1
    assert result.stdout.startswith("practice\tdoctor\tcertificate\n")
    assert "demo\tdr-bernard\tNO DIGEST" in result.stdout and "demo\tdr-martin\tok" in result.stdout
    assert result.stderr.splitlines()[-1] == "outbox: refused 1, sent 1"  # not in the table


@needs_openssl
def test_an_urgent_call_at_night_is_emailed_at_once_to_the_doctor_on_call(
    mail_app, phone, smtp_server, certs, tmp_path
):
    set_clock(mail_app, NIGHT)
    phone.place_call("+33698765432", str(DEMO_PRACTICE["number"])).press("9").no_answer()
    jobs.mail(services(mail_app), services(mail_app).clock.now())
    urgent = [m for m in smtp_server.messages if b"Subject: Appel urgent" in m.data]
    (received,) = urgent  # besides the 18:30 digest, due too
    assert received.recipients == ["dr.martin@example.test"]
    headers = email.message_from_bytes(received.data, policy=policy.default)
    assert headers["Subject"].startswith("Appel urgent — réf. ")
    assert b"698765432" not in received.data
    text = decrypt(received.data, certs, "dr-martin", tmp_path)
    assert "appel urgent du 06 98 76 54 32" in text


def test_the_administrator_previews_and_sends_a_digest_now(
    mail_app, phone, smtp_server, monkeypatch
):
    from callcenter.cli.main import main

    a_morning(phone)
    as_administrator(mail_app, smtp_server, monkeypatch, "2026-11-24T11:00:00+01:00")
    preview = CliRunner().invoke(main, ["digest", "preview", "--doctor", "dr-martin"])
    assert preview.exit_code == 0, preview.output
    assert WORDS in preview.output and not smtp_server.messages
    sent = CliRunner().invoke(main, ["digest", "send", "--doctor", "dr-martin", "--now"])
    assert sent.exit_code == 0, sent.output
    assert "sent: 1" in sent.output
    assert [m.recipients for m in smtp_server.messages] == [["dr.martin@example.test"]]
    with services(mail_app).db.session() as session:
        actions = session.scalars(select(AuditEntry.action)).all()
    assert "digest.preview" in actions and "digest.send" in actions
    unknown = CliRunner().invoke(main, ["digest", "preview", "--doctor", "dr-nobody"])
    assert unknown.exit_code == 1 and "no doctor 'dr-nobody'" in unknown.output


def test_two_workers_at_once_send_one_digest(mail_app, phone, smtp_server):
    import threading

    a_morning(phone)
    set_clock(mail_app, NOON)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            with services(mail_app).bound():  # as the worker binds each job
                jobs.mail(services(mail_app), services(mail_app).clock.now())
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert [m.recipients for m in smtp_server.messages] == [["dr.martin@example.test"]]


def test_a_certificate_naming_another_address_gets_no_digest_and_says_why(
    mail_app, certs, smtp_server, monkeypatch
):
    """Someone else's certificate put in place of the doctor's: nothing is sealed to it."""
    (certs / "dr-martin.pem").write_bytes((certs / "dr-bernard.pem").read_bytes())
    run = jobs.mail(services(mail_app), services(mail_app).clock.now(), doctor="dr-martin",
                    force=True)  # fmt: skip
    assert run.built == {"refused": 1} and smtp_server.messages == []
    with services(mail_app).db.session() as session:
        (refused,) = session.scalars(select(OutboxMail)).all()
        assert refused.body is None and "does not match the doctor's address" in (
            refused.last_error or ""
        )
    from callcenter.cli.main import main

    as_administrator(mail_app, smtp_server, monkeypatch, EVENING)
    result = CliRunner().invoke(main, ["digest", "status"])
    assert result.exit_code == 1
    assert (
        "demo\tdr-martin\tNO DIGEST: certificate e-mail does not match the doctor's address "
        "dr.martin@example.test (it names dr.bernard@example.test)" in result.output
    )
