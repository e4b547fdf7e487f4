"""The demo's stand-in for Twilio's REST API: answers as Twilio does, records no content."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.config.settings import SettingsError, load_settings
from callcenter.core.twilio_rest import close_client, delete_remote, fetch_call, make_client
from callcenter.core.twilio_stand_in import mask_number, read_log

ACCOUNT = "AC" + "1" * 32


def test_a_number_is_masked_but_for_its_country_and_last_two_digits():
    assert mask_number("+33612345678") == "+336••••••78"
    assert mask_number("12345") == "•••••"
    assert mask_number(None) is None


def test_sms_and_deletions_are_answered_and_recorded_without_their_content(tmp_path: Path):
    log = tmp_path / "stand-in.jsonl"
    client = make_client(ACCOUNT, "token", stand_in=log)
    try:
        sent = client.messages.create(to="+33612345678", from_="+33184880000", body="secret")
        assert sent.sid.startswith("SM") and sent.status == "queued"
        assert delete_remote(client, "recording", "RE" + "a" * 32) == "deleted"
        assert fetch_call(client, "CA" + "b" * 32) is None  # the stand-in knows no call
    finally:
        close_client(client)
    assert "secret" not in log.read_text() and "12345678" not in log.read_text()
    entries = read_log(log)
    assert [(e.kind, e.number) for e in entries] == [
        ("deletion-recording", None), ("sms", "+336••••••78"),
    ]  # fmt: skip


def test_a_line_cut_short_is_skipped_and_a_missing_log_is_empty(tmp_path: Path):
    log = tmp_path / "stand-in.jsonl"
    assert read_log(log) == []
    log.write_text('{"kind": "sms", "at": "2026-11-24T09:00:00+00:00", "number": null}\n{"ki')
    assert [e.kind for e in read_log(log)] == ["sms"]


def instance(tmp_path: Path, text: str) -> dict[str, str]:
    (tmp_path / "settings.yaml").write_text(
        f"twilio_account_sid: {ACCOUNT}\ntwilio_auth_token: t\n{text}", encoding="utf-8"
    )
    return {"CALLCENTER_HOME": str(tmp_path)}


def test_the_settings_read_the_stand_in_and_the_longest_call(tmp_path: Path):
    settings = load_settings(instance(tmp_path, "twilio_stand_in: true\ncall_max_minutes: 90\n"))
    assert settings.twilio_stand_in and settings.call_max_minutes == 90
    env = instance(tmp_path, "")
    assert not load_settings(env).twilio_stand_in and load_settings(env).call_max_minutes == 240
    assert load_settings({**env, "TWILIO_STAND_IN": "1"}).twilio_stand_in
    with pytest.raises(SettingsError, match="CALL_MAX_MINUTES"):
        load_settings({**env, "CALL_MAX_MINUTES": "0"})
    with pytest.raises(SettingsError, match="TWILIO_STAND_IN"):
        load_settings({**env, "TWILIO_STAND_IN": "maybe"})
