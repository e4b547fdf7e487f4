"""``callcenter twilio configure``: the practice's number pointed at this server, at the fake."""

from __future__ import annotations

from click.testing import CliRunner

from callcenter.cli.main import main
from tests.cli.conftest import run

PUBLIC = "https://cc.example.test"
WANTED = {
    "voice_url": f"{PUBLIC}/twilio/voice", "voice_method": "POST",
    "voice_fallback_url": f"{PUBLIC}/twilio/fallback", "voice_fallback_method": "POST",
    "status_callback": f"{PUBLIC}/twilio/status", "status_callback_method": "POST",
    "sms_url": f"{PUBLIC}/twilio/sms", "sms_method": "POST",
}  # fmt: skip


def invoke(*args: str):
    return CliRunner().invoke(main, ["twilio", "configure", *args], catch_exceptions=False)


def test_configure_sets_the_four_webhooks_and_prints_what_changed(
    admin, fake_twilio, practice_number, monkeypatch
):
    monkeypatch.setenv("PUBLIC_BASE_URL", PUBLIC)
    fake_twilio.add_number("+33100000000")  # another number of the account
    number = fake_twilio.add_number(practice_number, voice_url="https://old.example/voice",
                                    voice_method="POST", sms_method="GET")  # fmt: skip
    output = run("twilio", "configure", "--practice", "demo")
    assert f"voice_url: https://old.example/voice -> {PUBLIC}/twilio/voice" in output
    assert f"sms_url: (none) -> {PUBLIC}/twilio/sms" in output
    assert "sms_method: GET -> POST" in output and "voice_method" not in output
    assert f"{practice_number}: 7 setting(s) changed" in output
    held = fake_twilio.numbers[number["sid"]]
    assert {key: held[key] for key in WANTED} == WANTED
    lookup = [r for r in fake_twilio.requests if r.method == "GET"]
    assert lookup[0].query["PhoneNumber"] == practice_number
    [update] = [r for r in fake_twilio.requests if r.method == "POST"]
    assert update.path.endswith(f"/IncomingPhoneNumbers/{number['sid']}.json")
    assert set(update.form) == {
        "VoiceUrl", "VoiceFallbackUrl", "VoiceFallbackMethod", "StatusCallback",
        "StatusCallbackMethod", "SmsUrl", "SmsMethod",
    }  # fmt: skip

    again = run("twilio", "configure", "--practice", "demo")
    assert "nothing changed" in again
    assert len([r for r in fake_twilio.requests if r.method == "POST"]) == 1


def test_check_only_compares_and_exits_1_when_twilio_differs(
    admin, fake_twilio, practice_number, monkeypatch
):
    monkeypatch.setenv("PUBLIC_BASE_URL", PUBLIC)
    number = fake_twilio.add_number(practice_number, **{**WANTED, "status_callback": None})
    result = invoke("--practice", "demo", "--check")
    assert result.exit_code == 1
    assert f"status_callback: (none) -> {PUBLIC}/twilio/status" in result.output
    assert not [r for r in fake_twilio.requests if r.method == "POST"]
    fake_twilio.numbers[number["sid"]]["status_callback"] = WANTED["status_callback"]
    result = invoke("--practice", "demo", "--check")
    assert result.exit_code == 0 and f"configured for {PUBLIC}" in result.output


def test_one_line_errors_for_a_missing_number_practice_or_base_url(admin, fake_twilio, monkeypatch):
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    result = invoke("--practice", "demo")
    assert result.exit_code == 1 and "PUBLIC_BASE_URL" in result.output
    monkeypatch.setenv("PUBLIC_BASE_URL", PUBLIC)
    result = invoke("--practice", "nowhere")
    assert result.exit_code == 1 and "no practice 'nowhere'" in result.output
    result = invoke("--practice", "demo")  # the account holds no number
    assert result.exit_code == 1 and "is not a number of this Twilio account" in result.output
    fake_twilio.fail_next("/IncomingPhoneNumbers", status=500)
    result = invoke("--practice", "demo")
    assert result.exit_code == 1 and "Twilio did not answer" in result.output
