"""The `callcenter` command: init, practices list, serve and the local phone."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from callcenter.cli.main import main
from callcenter.instance import DEMO_PIN
from callcenter.phone.terminal import script_from_argv


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "instance"
    monkeypatch.setenv("CALLCENTER_HOME", str(home))
    for name in (
        "DATABASE_URL",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_ACCOUNT_SID",
        "PUBLIC_BASE_URL",
        "CALLCENTER_NOW",
    ):
        monkeypatch.delenv(name, raising=False)
    return home


def test_init_demo_creates_private_settings_a_practice_and_the_database(instance: Path):
    result = CliRunner().invoke(main, ["init", "--demo"])
    assert result.exit_code == 0, result.output
    settings = instance / "settings.yaml"
    assert stat.S_IMODE(settings.stat().st_mode) == 0o600
    assert yaml.safe_load(settings.read_text())["twilio_account_sid"].startswith("AC")
    assert (instance / "practices" / "demo.yaml").exists()
    assert (instance / "callcenter.db").exists()


def test_init_makes_the_instance_folder_and_its_files_private(instance: Path):
    """PIN hashes in practice files and the SQLite database are nobody else's to copy."""
    result = CliRunner().invoke(main, ["init", "--demo"])
    assert result.exit_code == 0, result.output
    for folder in (instance, instance / "practices"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    for path in (instance / "practices" / "demo.yaml", instance / "callcenter.db",
                 instance / "keyring.json", instance / "settings.yaml"):  # fmt: skip
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    pin_hash = yaml.safe_load((instance / "practices" / "demo.yaml").read_text())["secretaries"][0]
    assert pin_hash["pin_hash"].startswith("scrypt-hmac$")  # peppered with this ring


def test_init_twice_keeps_what_exists(instance: Path):
    CliRunner().invoke(main, ["init", "--demo"])
    token = yaml.safe_load((instance / "settings.yaml").read_text())["twilio_auth_token"]
    CliRunner().invoke(main, ["init", "--demo"])
    assert yaml.safe_load((instance / "settings.yaml").read_text())["twilio_auth_token"] == token


def test_init_demo_adds_console_accounts_once_with_working_passwords(instance: Path):
    first = CliRunner().invoke(main, ["init", "--demo"]).output
    again = CliRunner().invoke(main, ["init", "--demo"]).output
    shown = dict(re.findall(r"^  ([a-z-]+) \(\w+\): (\S+)$", first, re.MULTILINE))
    assert set(shown) == {"secretaire", "dr-martin", "admin"}
    assert "passwords shown once" not in again  # never replaced, never shown again
    listed = CliRunner().invoke(main, ["users", "list"]).output
    assert "secretaire\tsecretary\tdemo\ttotp-not-enrolled\tactive" in listed
    from callcenter.accounts import accounts
    from callcenter.storage.db import Database

    db = Database(f"sqlite:///{instance / 'callcenter.db'}")
    try:
        with db.session() as session:
            assert accounts.check_password(accounts.find_user(session, "admin"), shown["admin"])
    finally:
        db.dispose()


def test_practices_list_prints_id_name_and_number(instance: Path):
    CliRunner().invoke(main, ["init", "--demo"])
    result = CliRunner().invoke(main, ["practices", "list"])
    assert result.output == "id\tname\tnumber\ndemo\tcabinet médical des Tilleuls\t01 84 88 00 00\n"
    listed = CliRunner().invoke(main, ["practices", "list", "--json"])
    assert json.loads(listed.output) == [
        {"id": "demo", "name": "cabinet médical des Tilleuls", "number": "+33184880000"}
    ]


def test_a_command_without_an_instance_fails_with_one_clear_line(instance: Path):
    result = CliRunner().invoke(main, ["practices", "list"])
    assert result.exit_code == 1
    assert "run 'callcenter init'" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_an_invalid_practice_file_stops_start_up_naming_file_and_field(instance: Path):
    CliRunner().invoke(main, ["init", "--demo"])
    path = instance / "practices" / "demo.yaml"
    path.write_text(path.read_text().replace("+33612000001", "not-a-number"))
    result = CliRunner().invoke(main, ["call", "--from", "+33612345678", "--in-process"])
    assert result.exit_code == 1
    assert (
        "demo.yaml: secretaries[0].phone: 'not-a-number' is not a valid phone number"
        in result.output
    )


def test_the_script_keeps_the_order_of_the_command_line():
    argv = [
        "call",
        "--from",
        "+33612345678",
        "--press",
        "3",
        "--no-answer",
        "--say",
        "rendez-vous",
        "--record=5",
        "-p",
        "1",
        "--hangup",
    ]
    assert script_from_argv(argv) == [
        ("press", "3"),
        ("no-answer", ""),
        ("say", "rendez-vous"),
        ("record", "5"),
        ("press", "1"),
        ("hangup", ""),
    ]


def test_call_at_a_chosen_moment_hears_the_closed_announcement(instance: Path, monkeypatch):
    CliRunner().invoke(main, ["init", "--demo"])
    monkeypatch.setattr(
        sys,
        "argv",
        [
            "callcenter",
            "call",
            "--from",
            "+33612345678",
            "--at",
            "2026-11-29T22:00:00+01:00",
            "--press",
            "9",
            "--no-answer",
            "--say",
            "merci de me rappeler",  # the shipped policy takes messages by speech
        ],
    )
    result = CliRunner().invoke(main, sys.argv[1:])
    assert result.exit_code == 0, result.output
    assert "actuellement fermé" in result.output
    assert "114" in result.output
    assert "[appel terminé]" in result.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_and_call_talk_over_http_as_twilio_would(instance: Path):
    """`callcenter serve` in one process, `callcenter call` in another, on loopback."""
    CliRunner().invoke(main, ["init", "--demo"])
    port = _free_port()
    exe = [sys.executable, "-m", "callcenter.cli"]
    # Tuesday 10:00: the practice is open (the server logs that its clock is frozen).
    env = {
        **os.environ,
        "CALLCENTER_HOME": str(instance),
        "CALLCENTER_NOW": "2026-11-24T10:00:00+01:00",
    }
    server = subprocess.Popen(
        [*exe, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        result = subprocess.run(
            [
                *exe,
                "call",
                "--from",
                "+33612345678",
                "--url",
                f"http://127.0.0.1:{port}",
                "--press",
                "3",
                "--answer",
                "1",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        server.terminate()
        _, server_log = server.communicate(timeout=10)
    assert result.returncode == 0, result.stderr
    opening = "Pour une urgence, tapez 9 à tout moment. Bonjour, cabinet médical des Tilleuls."
    assert opening in result.stdout
    assert "Appel pour le cabinet médical des Tilleuls." in result.stdout
    assert "[appel terminé]" in result.stdout
    # The server's log lines carry no caller number.
    assert "612345678" not in server_log.decode()


def test_serve_with_workers_answers_through_gunicorn(instance: Path):
    """`serve --workers 2` hands the port to gunicorn, whose workers build the app;
    its access log, once turned on, masks a calendar feed's token."""
    CliRunner().invoke(main, ["init", "--demo"])
    port = _free_port()
    access_log = instance / "access.log"
    env = {
        **os.environ,
        "CALLCENTER_HOME": str(instance),
        "GUNICORN_CMD_ARGS": f"--access-logfile {access_log}",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "callcenter.cli", "serve", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    status = None
    try:
        for _ in range(200):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as got:
                    status = got.status
                break
            except OSError:
                time.sleep(0.1)
        with contextlib.suppress(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/calendar/FeedSecret0123.ics")
    finally:
        server.terminate()
        _, server_log = server.communicate(timeout=20)
    assert status == 200, server_log.decode()[-2000:]
    written = access_log.read_text()
    assert "/calendar/[redacted]" in written and "FeedSecret0123" not in written


def test_call_to_a_server_that_is_not_running_says_so(instance: Path):
    CliRunner().invoke(main, ["init", "--demo"])
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "callcenter.cli",
            "call",
            "--from",
            "+33612345678",
            "--url",
            f"http://127.0.0.1:{_free_port()}",
            "--press",
            "1",
        ],
        env={**os.environ, "CALLCENTER_HOME": str(instance)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "cannot reach the server" in result.stderr


def test_the_local_phone_reads_keys_and_speech_typed_by_a_person(instance: Path, monkeypatch):
    """Interactive: the caller types 3, then the secretary's side picks up with 1."""
    CliRunner().invoke(main, ["init", "--demo"])
    monkeypatch.setattr(sys, "argv", ["pytest"])
    result = CliRunner().invoke(
        main,
        ["call", "--from", "+33612345678", "--at", "2026-11-24T10:00:00+01:00"],
        input="je voudrais parler au secrétariat\n1\n",
    )
    assert result.exit_code == 0, result.output
    assert "Nous vous mettons en relation" in result.output
    assert "Appel pour le cabinet médical des Tilleuls." in result.output


def test_scripted_options_work_when_called_from_python(instance: Path, monkeypatch):
    CliRunner().invoke(main, ["init", "--demo"])
    monkeypatch.setattr(sys, "argv", ["pytest", "-p", "no:cacheprovider"])
    result = CliRunner().invoke(
        main,
        [
            "call",
            "--from",
            "+33612345678",
            "--at",
            "2026-11-24T10:00:00+01:00",
            "--press",
            "2",
            "--press",
            "*",  # skips identification
            "--say",
            "merci de me rappeler",  # the shipped policy takes messages by speech
        ],
    )
    assert result.exit_code == 0, result.output
    assert "message a bien été transmis" in result.output


def test_call_walks_the_queue_to_a_call_back_request(instance: Path, monkeypatch):
    CliRunner().invoke(main, ["init", "--demo"])
    argv = ["callcenter", "call", "--from", "+33612345678", "--at", "2026-11-24T10:00:00+01:00",
            "--press", "3", "--busy", "--hold", "--press", "1"]  # fmt: skip
    monkeypatch.setattr(sys, "argv", argv)
    result = CliRunner().invoke(main, argv[1:])
    assert result.exit_code == 0, result.output
    assert result.output.count("position 1 dans la file") == 2  # announced, then again
    assert "le cabinet vous rappellera" in result.output


def test_secretaries_pin_prints_a_hash_the_practice_file_accepts(instance: Path):
    from callcenter.security.keyring import KeyRing
    from callcenter.security.pins import check_hash, verify_pin

    CliRunner().invoke(main, ["init"])
    result = CliRunner().invoke(main, ["secretaries", "pin"], input="135790\n135790\n")
    assert result.exit_code == 0, result.output
    line = result.output.strip().splitlines()[-1]
    assert line.startswith("pin_hash: scrypt-hmac$") and "135790" not in line
    stored = line.removeprefix("pin_hash: ")
    check_hash(stored)
    ring = KeyRing.load(instance / "keyring.json")  # peppered with the instance's ring
    assert verify_pin("135790", stored, ring) and not verify_pin("135791", stored, ring)
    assert not verify_pin("135790", stored, KeyRing.generate())


@pytest.mark.parametrize("pin", ["12", "2468", "13579"])
def test_secretaries_pin_refuses_a_pin_under_six_digits(instance: Path, pin: str):
    CliRunner().invoke(main, ["init"])
    result = CliRunner().invoke(main, ["secretaries", "pin"], input=f"{pin}\n{pin}\n")
    assert result.exit_code == 1 and "6 to 12 digits" in result.output


def test_secretaries_pin_needs_the_key_ring(instance: Path):
    result = CliRunner().invoke(main, ["secretaries", "pin"], input="135790\n135790\n")
    assert result.exit_code == 1 and "no key ring" in result.output


def test_call_reaches_the_secretaries_line_with_the_pin(instance: Path, monkeypatch):
    CliRunner().invoke(main, ["init", "--demo"])
    argv = ["callcenter", "call", "--from", "+33612000001", "--secretaries-line", "--at",
            "2026-11-24T10:00:00+01:00", "--press", DEMO_PIN, "--silence"]  # fmt: skip
    monkeypatch.setattr(sys, "argv", argv)
    result = CliRunner().invoke(main, argv[1:])
    assert result.exit_code == 0, result.output
    assert "Tapez votre code personnel" in result.output
    assert "Aucun patient en attente." in result.output and "Au revoir." in result.output


def test_sms_sends_a_patients_text_and_prints_the_practices_answer(instance: Path):
    CliRunner().invoke(main, ["init", "--demo"])
    at = ["--at", "2026-11-24T10:00:00+01:00"]
    stop = CliRunner().invoke(main, ["sms", "--from", "+33612345678", *at, "STOP"])
    assert stop.exit_code == 0, stop.output
    assert "> STOP" in stop.output.splitlines()
    assert "< Vous ne recevrez plus de SMS du cabinet médical des Tilleuls" in stop.output
    after = CliRunner().invoke(main, ["sms", "--from", "+33612345678", *at, "Bonjour"])
    assert after.exit_code == 0 and "[pas de réponse]" in after.output  # STOP: no SMS at all
    other = CliRunner().invoke(main, ["sms", "--from", "+33611223344", *at, "Bonjour", "docteur"])
    assert other.exit_code == 0, other.output
    assert "> Bonjour docteur" in other.output and "appelez le 01 84 88 00 00" in other.output


def test_sms_to_a_server_that_does_not_answer_fails_with_one_clear_line(instance: Path):
    CliRunner().invoke(main, ["init", "--demo"])
    url = f"http://127.0.0.1:{_free_port()}"
    result = CliRunner().invoke(main, ["sms", "--from", "+33612345678", "--url", url, "OUI"])
    assert result.exit_code == 1
    assert f"cannot reach the server at {url}" in result.output
