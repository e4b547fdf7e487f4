"""Canary scan (docs/security/threat-model.md): after whole journeys, no personal value in the raw
database (SQLite file bytes, or a pg_dump) nor in the rendered logs, in any encoding."""

from __future__ import annotations

import base64
import io
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select, text

from callcenter.core import logs
from callcenter.core.twilio_rest import make_client
from callcenter.messages.models import Message
from callcenter.patient_requests import desk
from callcenter.patient_requests.models import PatientRequest
from callcenter.patients.models import Patient
from callcenter.waitlist import entries
from tests.canary import (
    CANARY_DOB,
    CANARY_MEDICATION,
    CANARY_NAME,
    CANARY_NUMBER,
    CANARY_SPEECH,
    SMS_CANARIES,
    sms_leaks,
)
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, services


def encodings(value: str) -> set[bytes]:
    """The forms a leaked value could take in a dump or a log."""
    forms = {value, value.upper(), value.lower()}
    out: set[bytes] = set()
    for form in forms:
        raw = form.encode()
        out |= {raw, form.encode("utf-16-le"), form.encode("latin-1", "ignore")}
        for shift in range(3):  # base64 of the value at each alignment, minus the edges
            chunk = base64.b64encode(b"x" * shift + raw)[4:-4]
            if len(chunk) >= 8:
                out.add(chunk)
    return {o for o in out if len(o) >= 6}


def canaries() -> dict[str, set[bytes]]:
    national = "0" + CANARY_NUMBER[3:]
    values = [
        CANARY_NUMBER,
        CANARY_NUMBER[1:],
        national,
        "06 98 76 54 32",
        CANARY_NAME,
        "Quenouille",
        CANARY_DOB,
        "14/03/1987",
        "1987-03-14",
        CANARY_SPEECH,
    ]
    return {v: encodings(v) for v in values}


def leaks(blob: bytes) -> list[str]:
    return [value for value, forms in canaries().items() if any(f in blob for f in forms)]


def run_journeys(app, twilio, number: str) -> None:
    """Every branch that exists: transfer, refusal, message, urgent, silence, speech."""
    twilio.place_call(CANARY_NUMBER, number).press("3").answer(press="1")
    # A new caller registers (date of birth keyed, name said) before leaving a message.
    call = twilio.place_call(CANARY_NUMBER, number).press("3").answer(press=None)
    call.press(CANARY_DOB).say(CANARY_NAME).silence().record(seconds=9)
    twilio.place_call(CANARY_NUMBER, number).say(f"{CANARY_SPEECH} urgence").answer()
    # Known from now on: the date of birth identifies the caller.
    call = twilio.place_call(CANARY_NUMBER, number).press(CANARY_DOB).press(CANARY_DOB)
    # Appointments: book (doctor 1, first slot, confirm; an SMS follows), then cancel it.
    call.press("1").press("1").press("1").say("oui je confirme")
    call = twilio.place_call(CANARY_NUMBER, number).press("1").press(CANARY_DOB)
    call.say(f"annuler {CANARY_SPEECH}").press("1").press("1")
    call = twilio.place_call(CANARY_NUMBER, number).press("1").press(CANARY_DOB).press("0")
    call.no_answer().silence().silence()
    call = twilio.place_call(CANARY_NUMBER, number).press("7")
    call.say(f"rendez-vous {CANARY_SPEECH}").press(CANARY_DOB).say(f"secrétariat {CANARY_SPEECH}")
    call.busy().silence().record(seconds=4, finish="hangup")
    twilio.place_call(CANARY_NUMBER, number).press("2").press(CANARY_DOB).press("*").say(
        f"{CANARY_NAME} {CANARY_SPEECH}"
    )
    # A request (a renewal of a canary medication), handled: its SMS goes out.
    call = twilio.place_call(CANARY_NUMBER, number).say("je voudrais renouveler mon ordonnance")
    call.press(CANARY_DOB).press("1").say(f"{CANARY_SPEECH} pour {CANARY_NAME}")
    with services(app).db.session() as session:
        request = session.scalars(select(PatientRequest)).one()
        desk.handle(session, request, desk.DONE, "canary", datetime.now(UTC))
    services(app).send_notices()
    now = datetime.now(UTC)
    with services(app).db.session() as session:
        session.add(
            Patient(
                practice_id="demo",
                name=CANARY_NAME,
                phone=CANARY_NUMBER,
                birth_date=CANARY_DOB,
                created_at=now,
                last_seen_at=now,
            )
        )
        message = session.scalars(select(Message)).first()
        assert message is not None
        message.transcript = f"{CANARY_NAME} {CANARY_SPEECH} né le 14/03/1987"
        patient = session.scalars(select(Patient)).first()
        assert patient is not None
        # On the waiting list: the number the offers go to is stored too.
        entries.join(
            session, practice_id="demo", patient_id=patient.id, phone=CANARY_NUMBER,
            doctor_id=None, before=now.date(), period="any", now=now, source="phone",
        )  # fmt: skip


def dump(app) -> bytes:
    svc = services(app)
    url = svc.settings.database_url
    if url.startswith("sqlite"):
        with svc.db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        path = url.removeprefix("sqlite:///")
        svc.db.dispose()
        return Path(path).read_bytes()
    parts = urlsplit(url)
    schema = parse_qs(parts.query)["options"][0].split("=")[1]
    return subprocess.run(
        [
            "pg_dump",
            "-h",
            parts.hostname or "127.0.0.1",
            "-U",
            parts.username or "postgres",
            "-d",
            parts.path.lstrip("/"),
            "--schema",
            schema,
            "--data-only",
            "--inserts",
        ],
        check=True,
        capture_output=True,
    ).stdout


@pytest.fixture
def rendered_logs():
    stream = io.StringIO()
    logs.configure("json", stream=stream)
    yield stream
    logs.configure("console")


def test_the_raw_database_holds_no_personal_value_after_every_journey(app, twilio, practice_number):
    run_journeys(app, twilio, practice_number)
    raw = dump(app)
    assert len(raw) > 10_000  # the scan read real data
    assert leaks(raw) == []


def test_the_canary_scan_would_see_a_leak(app, twilio, practice_number):
    """The scan itself works: a value stored in clear is found."""
    run_journeys(app, twilio, practice_number)
    with services(app).db.session() as session:
        session.execute(text("UPDATE calls SET outcome = :v"), {"v": CANARY_NAME.upper()[:30]})
    assert "Zéphyrine Quenouille" in leaks(dump(app))


def test_the_rendered_logs_of_every_journey_hold_no_personal_value(
    app, twilio, practice_number, rendered_logs
):
    run_journeys(app, twilio, practice_number)
    output = rendered_logs.getvalue()
    assert output.count('"event": "webhook"') >= 20
    assert leaks(output.encode()) == []


# -- SMS bodies (the suite-wide check in tests/conftest.py) -------------------------


def test_the_sms_check_sees_the_canary_however_it_is_written() -> None:
    body = "ZEPHYRINE quenouille, née le 14 03 1987 (Ventoline), tél. 06.98.76.54.32"
    assert set(sms_leaks(body, SMS_CANARIES)) >= {
        "Zéphyrine", "Quenouille", CANARY_DOB, "14/03/1987", CANARY_MEDICATION, "06 98 76 54 32",
    }  # fmt: skip
    assert sms_leaks("rendez-vous jeudi 26 novembre à 10 h", SMS_CANARIES) == []


def test_every_way_an_sms_leaves_is_read_by_the_check(
    app, twilio, practice_number, fake_twilio, sms_sent, sms_canary, tmp_path
) -> None:
    """The REST fake, the demo's stand-in and the answers to texts all reach the check;
    a test adds its own words."""
    sms_canary.append("mot-témoin")
    client = make_client(ACCOUNT_SID, AUTH_TOKEN, api_base=fake_twilio.base_url)
    client.messages.create(to="+33611223344", from_=practice_number, body="un")
    stand_in = make_client(ACCOUNT_SID, "token", stand_in=tmp_path / "stand-in.jsonl")
    stand_in.messages.create(to="+33611223344", from_=practice_number, body="deux")
    [answer] = twilio.send_sms("+33611223344", practice_number, "bonjour").messages
    assert sms_sent == ["un", "deux", answer]
