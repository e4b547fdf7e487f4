"""Every webhook checks X-Twilio-Signature against the public URL (DESIGN.md rule 2)."""

from __future__ import annotations

import pytest
from twilio.request_validator import RequestValidator

from tests.conftest import AUTH_TOKEN, CALLER, PUBLIC_BASE

SID = "CA" + "a" * 32
PARAMS = {"CallSid": SID, "From": CALLER, "To": "+33184880000", "CallStatus": "ringing"}
ROUTES = [
    "/twilio/voice",
    "/twilio/step?seq=0",
    "/twilio/status",
    "/twilio/fallback",
    "/twilio/whisper?call=x",
    "/twilio/whisper/accept?call=x",
]


def signed(url: str, params: dict[str, str], token: str = AUTH_TOKEN) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, params)}


def test_twilios_own_signature_vector_validates():
    """The reference vector from twilio-python's tests (TWILIO.md §2)."""
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675309",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert (
        RequestValidator("12345").compute_signature(url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    )


@pytest.mark.parametrize("route", ROUTES)
def test_a_request_without_a_signature_is_refused(app, route):
    response = app.test_client().post(route, data=PARAMS)
    assert response.status_code == 403


@pytest.mark.parametrize("route", ROUTES)
def test_a_forged_signature_is_refused(app, route):
    headers = signed(PUBLIC_BASE + route, PARAMS, token="another-token")
    response = app.test_client().post(route, data=PARAMS, headers=headers)
    assert response.status_code == 403


def test_a_changed_parameter_breaks_the_signature(app):
    headers = signed(PUBLIC_BASE + "/twilio/voice", PARAMS)
    response = app.test_client().post(
        "/twilio/voice", data={**PARAMS, "To": "+33100000000"}, headers=headers
    )
    assert response.status_code == 403


def test_a_signature_for_another_url_is_refused(app):
    headers = signed("https://attacker.example/twilio/voice", PARAMS)
    response = app.test_client().post("/twilio/voice", data=PARAMS, headers=headers)
    assert response.status_code == 403


def test_a_signature_over_the_public_url_is_accepted_behind_a_proxy(app):
    """The app is reached as http://localhost but Twilio signed the public https URL."""
    headers = signed(PUBLIC_BASE + "/twilio/voice", PARAMS)
    response = app.test_client().post("/twilio/voice", data=PARAMS, headers=headers)
    assert response.status_code == 200
    assert "<Response>" in response.get_data(as_text=True)


def test_the_raw_query_string_is_signed_not_a_reencoded_one(app):
    """Werkzeug would turn %7E into ~ in request.url; the raw query must be used."""
    route = "/twilio/whisper?call=%7Eodd&reason=other"
    params = {"CallSid": "CA" + "b" * 32}
    response = app.test_client().post(
        route, data=params, headers=signed(PUBLIC_BASE + route, params)
    )
    assert response.status_code == 200


def _app_with(settings, **changes):
    import dataclasses

    from callcenter.app import create_app

    return create_app(dataclasses.replace(settings, **changes))


def test_during_a_token_rotation_both_tokens_sign(settings):
    app = _app_with(settings, twilio_auth_token="new-token", twilio_previous_token=AUTH_TOKEN)
    try:
        client, url = app.test_client(), PUBLIC_BASE + "/twilio/status"
        for token in ("new-token", AUTH_TOKEN):
            response = client.post(
                "/twilio/status", data=PARAMS, headers=signed(url, PARAMS, token)
            )
            assert response.status_code == 204
        other = client.post("/twilio/status", data=PARAMS, headers=signed(url, PARAMS, "third"))
        assert other.status_code == 403
    finally:
        app.extensions["callcenter"].db.dispose()


def test_after_the_rotation_the_old_token_is_refused(settings):
    app = _app_with(settings, twilio_auth_token="new-token")
    try:
        url = PUBLIC_BASE + "/twilio/status"
        response = app.test_client().post("/twilio/status", data=PARAMS,
                                          headers=signed(url, PARAMS, AUTH_TOKEN))  # fmt: skip
        assert response.status_code == 403
    finally:
        app.extensions["callcenter"].db.dispose()


def test_secret_files_readable_by_others_are_reported_at_start_up(settings, caplog):
    secrets = settings.home / "settings.yaml"  # it may hold the auth token
    secrets.write_text("twilio_auth_token: x\n")
    secrets.chmod(0o644)
    app = _app_with(settings)
    app.extensions["callcenter"].db.dispose()
    assert "secret_file_readable_by_others" in caplog.text and "settings.yaml" in caplog.text
    caplog.clear()
    secrets.chmod(0o600)
    app = _app_with(settings)
    app.extensions["callcenter"].db.dispose()
    assert "secret_file_readable_by_others" not in caplog.text
