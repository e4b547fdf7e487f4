"""Key ring life: rotation and re-encryption while data stays readable; wrong keys fail loudly."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from callcenter.calls.models import Call, CallStep
from callcenter.cli.main import main
from callcenter.messages.models import Message, TranscriptPart
from callcenter.security.crypto import DecryptionError, FieldCipher
from callcenter.security.encrypted import using_cipher
from callcenter.security.keyring import KeyRing
from callcenter.security.pins import hash_pin
from callcenter.services import StartupError
from callcenter.storage.db import Database
from callcenter.web.app import create_app
from tests.conftest import CALLER, create_tables, services, write_practice


def leave_messages(twilio, number: str, count: int) -> None:
    for _ in range(count):
        # '*' skips identification: every call stays an unknown caller's message.
        twilio.place_call(CALLER, number).press("2").press("*").silence().record(seconds=7)


def read_everything(app) -> list[str]:
    with services(app).db.session() as session:
        values = [c.caller for c in session.scalars(select(Call).order_by(Call.id))]
        values += [m.callback_number for m in session.scalars(select(Message).order_by(Message.id))]
        values += [s.twiml for s in session.scalars(select(CallStep).order_by(CallStep.id))]
    return values


def test_rotation_and_reencryption_keep_every_row_readable_on_the_new_key(
    app, twilio, practice_number, cli_env
):
    leave_messages(twilio, practice_number, 3)
    before = read_everything(app)
    old_key = services(app).keyring.active_id
    runner = CliRunner()
    assert runner.invoke(main, ["keys", "rotate"]).exit_code == 0
    result = runner.invoke(main, ["keys", "reencrypt", "--batch", "2"])
    assert result.exit_code == 0, result.output
    ring = KeyRing.load(cli_env.home / "keyring.json")
    assert ring.active_id != old_key
    listed = json.loads(runner.invoke(main, ["keys", "status", "--json"]).stdout)
    status = {k["key"]: k for k in listed}
    assert status[f"{old_key:08x}"]["stored"] == 0  # no value left on the old key
    assert status[f"{ring.active_id:08x}"]["stored"] > 0
    with using_cipher(FieldCipher(ring)):
        assert read_everything(app) == before
    # The old key can go now, and the data stays readable without it.
    assert runner.invoke(main, ["keys", "retire", f"{old_key:08x}"]).exit_code == 0
    with using_cipher(FieldCipher(KeyRing.load(cli_env.home / "keyring.json"))):
        assert read_everything(app) == before
    verify = runner.invoke(main, ["audit", "verify"])
    assert verify.exit_code == 0 and "ok" in verify.output


def test_reencryption_moves_the_blind_index_to_the_new_key(app, twilio, practice_number, cli_env):
    leave_messages(twilio, practice_number, 1)
    runner = CliRunner()
    runner.invoke(main, ["keys", "rotate"])
    runner.invoke(main, ["keys", "reencrypt"])
    ring = KeyRing.load(cli_env.home / "keyring.json")
    expected = FieldCipher(ring).phone_index(CALLER, practice="demo", bits=12)
    with services(app).db.session() as session:
        assert session.scalars(select(Call.caller_index)).one() == expected


def test_retiring_a_key_still_in_use_is_refused(app, twilio, practice_number, cli_env):
    leave_messages(twilio, practice_number, 1)
    old_key = services(app).keyring.active_id
    runner = CliRunner()
    runner.invoke(main, ["keys", "rotate"])
    result = runner.invoke(main, ["keys", "retire", f"{old_key:08x}"])
    assert result.exit_code == 1 and "keys reencrypt" in result.output


def test_retiring_the_key_that_peppers_a_pin_is_refused(app, cli_env, home):
    """The PIN would stop working: re-set it first, then retire."""
    old_key = services(app).keyring.active_id
    secretary = {"id": "sec-lea", "name": "Léa", "phone": "+33612000001",
                 "pin_hash": hash_pin("246810", services(app).keyring)}  # fmt: skip
    write_practice(home, secretaries=[secretary])
    runner = CliRunner()
    runner.invoke(main, ["keys", "rotate"])
    result = runner.invoke(main, ["keys", "retire", f"{old_key:08x}"])
    assert result.exit_code == 1 and "peppers the PIN of demo/sec-lea" in result.output
    secretary["pin_hash"] = hash_pin("246810", KeyRing.load(home / "keyring.json"))
    write_practice(home, secretaries=[secretary])
    result = runner.invoke(main, ["keys", "retire", f"{old_key:08x}"])
    assert result.exit_code == 0, result.output


def test_a_value_under_a_removed_key_fails_loudly_never_empty(app, twilio, practice_number):
    leave_messages(twilio, practice_number, 1)
    with using_cipher(FieldCipher(KeyRing.generate())), services(app).db.session() as session:
        call = session.scalars(select(Call)).one()
        with pytest.raises(DecryptionError):
            _ = call.caller


def test_start_up_without_a_key_ring_fails_with_one_line_naming_init(settings):
    (settings.home / "keyring.json").unlink()
    with pytest.raises(StartupError, match="callcenter init"):
        create_app(settings)


def test_start_up_with_a_key_ring_that_cannot_read_the_database_fails(settings):
    from callcenter.security.models import KeyCheck

    database = Database(settings.database_url)
    create_tables(database)
    with (
        using_cipher(FieldCipher(KeyRing.load(settings.home / "keyring.json"))),
        database.session() as session,
    ):
        session.add(KeyCheck(practice_id="-", value=KeyCheck.KNOWN))
    database.dispose()
    shutil.copy(settings.home / "keyring.json", settings.home / "keyring.bak")
    KeyRing.generate().save(settings.home / "keyring.json")
    with pytest.raises(StartupError, match="cannot decrypt this database"):
        create_app(settings)


def test_a_running_server_follows_a_rotation_without_restarting(
    app, twilio, practice_number, cli_env
):
    """After 'keys rotate', new calls are encrypted under the new key and old rows still read."""
    leave_messages(twilio, practice_number, 1)
    svc = services(app)
    svc.watcher.interval = 0  # look at the file at every webhook
    runner = CliRunner()
    assert runner.invoke(main, ["keys", "rotate"]).exit_code == 0
    new_key = KeyRing.load(cli_env.home / "keyring.json").active_id
    leave_messages(twilio, practice_number, 1)
    assert svc.cipher.keyring.active_id == new_key
    with svc.db.session() as session:
        keys = {c.caller_ct[1:5] for c in session.scalars(select(Call))}
    assert new_key.to_bytes(4, "big") in keys and len(keys) == 2
    assert len(read_everything(app)) > 0  # every row, old key and new, still reads


def test_the_models_with_encrypted_fields_are_found_through_the_registry():
    """Rotation names no feature model: it finds them, and their blind indexes, on Base."""
    from callcenter.accounts.models import ConsoleUser
    from callcenter.notify.models import OutboxMail, SmsOptOut
    from callcenter.patient_requests.models import PatientRequest
    from callcenter.patients.models import Patient
    from callcenter.security.models import KeyCheck
    from callcenter.security.rotation import encrypted_models
    from callcenter.waitlist.models import WaitingEntry

    found = set(encrypted_models())
    assert found == {
        Patient, Call, CallStep, Message, KeyCheck, TranscriptPart, OutboxMail, ConsoleUser,
        SmsOptOut,
        PatientRequest,
        WaitingEntry,
    }  # fmt: skip
    indexed = {m: (m.blind_index.plain, m.blind_index.index) for m in found if m.blind_index}
    assert indexed == {
        Patient: ("phone", "phone_index"),
        Call: ("caller", "caller_index"),
        Message: ("callback_number", "callback_index"),
        SmsOptOut: ("phone", "phone_index"),
        PatientRequest: ("callback_number", "callback_index"),
        WaitingEntry: ("phone", "phone_index"),
    }
