"""The mail outbox against a real SMTP server: sent once, retried when down, never twice."""

from __future__ import annotations

import contextvars
import dataclasses
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from callcenter.core.mailer import MailSettingsError, smtp_settings
from callcenter.notify.models import OutboxMail
from callcenter.notify.outbox import add, send_due
from callcenter.storage.db import Database
from tests.fake_twilio import closed_port

NOW = datetime(2026, 11, 24, 18, 30, tzinfo=UTC)
BODY = "Subject: test\r\n\r\nsealed-body-stand-in\r\n"


# Every test here encrypts or decrypts: a fresh cipher is bound for each (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("cipher")


def queued(db: Database, ref: str = "2026-11-24T18:30", doctor: str = "dr-martin") -> str:
    with db.session() as session:
        mail = OutboxMail(practice_id="demo", doctor_id=doctor, kind="digest", ref=ref,
                          attempts=0, due_at=NOW, created_at=NOW)  # fmt: skip
        mail.body = BODY
        assert add(session, mail)
        return mail.id


def to_doctor(practice: str, doctor: str) -> str | None:
    return f"{doctor}@example.test" if doctor != "nobody" else None


def stored(db: Database, mail_id: str) -> OutboxMail:
    with db.session() as session:
        return session.get_one(OutboxMail, mail_id)


def test_a_mail_is_sent_over_starttls_with_authentication_and_its_body_blanked(db, smtp_server):
    mail_id = queued(db)
    report = send_due(db, smtp_server.settings, to_doctor, NOW)
    assert report.sent == 1
    (received,) = smtp_server.messages
    assert received.recipients == ["dr-martin@example.test"]
    assert received.sender == "digest@example.test" and b"sealed-body-stand-in" in received.data
    mail = stored(db, mail_id)
    assert mail.status == "sent" and mail.sent_at == NOW and mail.body is None
    assert send_due(db, smtp_server.settings, to_doctor, NOW + timedelta(hours=1)).sent == 0


def test_the_body_is_encrypted_at_rest(db):
    queued(db)
    with db.session() as session:
        raw = session.execute(text("SELECT body FROM mail_outbox")).scalar_one()
    assert b"sealed-body-stand-in" not in bytes(raw)


def test_a_mail_is_built_once_per_doctor_kind_and_reference(db):
    queued(db)
    with db.session() as session:
        again = OutboxMail(practice_id="demo", doctor_id="dr-martin", kind="digest",
                           ref="2026-11-24T18:30", attempts=0, due_at=NOW,
                           created_at=NOW)  # fmt: skip
        assert not add(session, again)
    with db.session() as session:
        assert len(session.scalars(select(OutboxMail)).all()) == 1


def test_smtp_down_retries_with_back_off_then_sends_once(db, smtp_server):
    mail_id = queued(db)
    smtp_server.stop()
    down = send_due(db, smtp_server.settings, to_doctor, NOW)
    assert down.failed == 1 and down.sent == 0
    mail = stored(db, mail_id)
    assert mail.status == "pending" and mail.attempts == 1 and mail.due_at > NOW
    assert mail.last_error and "Refused" in mail.last_error
    assert send_due(db, smtp_server.settings, to_doctor, NOW + timedelta(seconds=30)).failed == 0
    smtp_server.start()
    later = NOW + timedelta(minutes=2)
    assert send_due(db, smtp_server.settings, to_doctor, later).sent == 1
    assert send_due(db, smtp_server.settings, to_doctor, later + timedelta(hours=2)).sent == 0
    assert len(smtp_server.messages) == 1


def test_a_wrong_smtp_password_is_a_failure_that_is_retried(db, smtp_server):
    mail_id = queued(db)
    wrong = dataclasses.replace(smtp_server.settings, password="wrong")
    assert send_due(db, wrong, to_doctor, NOW).failed == 1
    mail = stored(db, mail_id)
    assert mail.status == "pending" and (mail.last_error or "").startswith("SMTP")
    assert not smtp_server.messages


def test_a_refused_connection_port_is_retried_too(db):
    from callcenter.core.mailer import SmtpSettings

    queued(db)
    nowhere = SmtpSettings(host="127.0.0.1", port=closed_port(), sender="x@example.test",
                           timeout=2)  # fmt: skip
    assert send_due(db, nowhere, to_doctor, NOW).failed == 1


def test_without_smtp_settings_mails_wait_in_the_outbox(db):
    mail_id = queued(db)
    report = send_due(db, None, to_doctor, NOW)
    assert report.waiting == 1 and stored(db, mail_id).status == "pending"


def test_a_doctor_who_left_the_practice_file_gets_nothing(db, smtp_server):
    mail_id = queued(db, doctor="nobody")
    assert send_due(db, smtp_server.settings, to_doctor, NOW).given_up == 1
    assert stored(db, mail_id).status == "failed" and not smtp_server.messages


def test_two_workers_at_once_send_each_mail_once(db, smtp_server):
    for n in range(6):
        queued(db, ref=f"slot-{n}")
    barrier = threading.Barrier(2)

    def worker() -> None:
        barrier.wait()
        send_due(db, smtp_server.settings, to_doctor, NOW)

    # Each worker thread runs in a copy of this context: the cipher bound as a job binds it.
    threads = [threading.Thread(target=contextvars.copy_context().run, args=(worker,))
               for _ in range(2)]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(smtp_server.messages) == 6
    with db.session() as session:
        assert {m.status for m in session.scalars(select(OutboxMail))} == {"sent"}


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ("smtp.example", "smtp:"),
        ({"port": 587, "from": "a@b.c"}, "smtp.host"),
        ({"host": "h", "security": "ssl", "from": "a@b.c"}, "smtp.security"),
        ({"host": "h", "port": 0, "from": "a@b.c"}, "smtp.port"),
        ({"host": "h"}, "smtp.from"),
        ({"host": "h", "from": "a@b.c", "password": "x"}, "smtp.password"),
        ({"host": "h", "from": "a@b.c", "password_file": "missing"}, "smtp.password_file"),
    ],
)
def test_bad_smtp_settings_are_named(tmp_path: Path, raw: object, field: str):
    with pytest.raises(MailSettingsError, match=field.replace(".", r"\.")):
        smtp_settings(raw, {}, tmp_path)


def test_the_smtp_password_comes_from_the_environment_or_a_file(tmp_path: Path):
    raw = {"host": "h", "from": "a@b.c", "password_file": "smtp-password"}
    (tmp_path / "smtp-password").write_text("from-file\n")
    settings = smtp_settings(raw, {}, tmp_path)
    assert settings is not None and settings.password == "from-file"
    assert settings.port == 587 and settings.security == "starttls"
    from_env = smtp_settings(raw, {"SMTP_PASSWORD": "from-env"}, tmp_path)
    assert from_env is not None and from_env.password == "from-env"
