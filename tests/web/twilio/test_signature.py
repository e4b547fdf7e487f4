"""Every webhook checks X-Twilio-Signature against the public URL (docs/operations/twilio.md)."""

from __future__ import annotations

import dataclasses
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import settings as budget
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from callcenter.config.file_modes import loose_secret_files
from callcenter.web.app import create_app
from callcenter.web.twilio.signature import signature_matches
from tests.conftest import AUTH_TOKEN, CALLER, PUBLIC_BASE, create_tables, services

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
    """The reference vector from twilio-python's tests (docs/operations/twilio.md)."""
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


# -- one HMAC, the same verdicts as twilio's RequestValidator ------------------------------------
URLS = st.builds(
    "{}://{}{}{}{}".format,
    st.sampled_from(["https", "http"]),
    st.sampled_from(["cc.example.test", "127.0.0.1", "localhost"]),
    st.sampled_from(["", ":443", ":80", ":8443", ":5000"]),
    st.sampled_from(["/twilio/voice", "/twilio/step", "/twilio/whisper/accept", "/"]),
    st.sampled_from(["", "?seq=1", "?call=%7Eodd&reason=other", "?a=1&a=2"]),
)
TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=12)
FORMS = st.lists(
    st.tuples(st.sampled_from(["CallSid", "From", "Digits", "SpeechResult", "é"]), TEXT),
    max_size=6,
)


@budget(max_examples=300, deadline=None)
@given(url=URLS, signed_url=URLS, form=FORMS, token=st.sampled_from(["tok", "tök", AUTH_TOKEN]))
def test_the_check_agrees_with_twilios_validator(url, signed_url, form, token):
    """Signed for this URL, for its other port form, for another URL: twilio's verdict each time."""
    params = MultiDict(form)
    for made_for in (url, signed_url):
        signature = RequestValidator(token).compute_signature(made_for, params)
        expected = RequestValidator(token).validate(url, params, signature)
        assert signature_matches(token, url, params, signature) is expected
    for wrong in ("", "x" * 28, "é", RequestValidator("other").compute_signature(url, params)):
        assert signature_matches(token, url, params, wrong) is False


@pytest.mark.parametrize("form", ["https://cc.example.test:443", "https://cc.example.test"])
def test_a_signature_over_the_public_url_with_or_without_its_default_port_signs(app, form):
    """Twilio's own validator accepts both forms; so does the check."""
    headers = signed(form + "/twilio/voice", PARAMS)
    response = app.test_client().post("/twilio/voice", data=PARAMS, headers=headers)
    assert response.status_code == 200


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
    assert "settings.yaml" not in caplog.text


def test_an_open_instance_folder_practice_file_or_database_is_reported(settings, caplog):
    """Practice files hold PIN hashes and the database every record: both were 0644."""
    practice = settings.home / "practices" / "demo.yaml"
    database = settings.home / "callcenter.db"
    database.touch()
    for path, mode in ((settings.home, 0o755), (settings.home / "practices", 0o755),
                       (practice, 0o644), (database, 0o644)):  # fmt: skip
        path.chmod(mode)
    found = dict(loose_secret_files(replace(settings, database_url=f"sqlite:///{database}"), []))
    assert found == {settings.home: 0o755, settings.home / "practices": 0o755,
                     practice: 0o644, database: 0o644}  # fmt: skip
    for path, mode in ((settings.home, 0o700), (settings.home / "practices", 0o700),
                       (practice, 0o600), (database, 0o600)):  # fmt: skip
        path.chmod(mode)
    settings.home.joinpath("settings.yaml").unlink(missing_ok=True)
    assert loose_secret_files(replace(settings, database_url=f"sqlite:///{database}"), []) == []


# -- behind reverse proxies: X-Forwarded-* believed only from TRUSTED_PROXIES -------------------
PROXIED_PUBLIC = "https://public.example"
INTERNAL = "http://127.0.0.1:8000"  # where the proxy forwards to
FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "public.example"}


@pytest.fixture
def behind_proxies(settings):
    """A client for the app with no PUBLIC_BASE_URL, trusting ``hops`` reverse proxies."""
    apps = []

    def client(hops: int, public_base_url: str | None = None):
        changes = {
            "trusted_proxies": hops,
            "public_base_url": public_base_url,
            "allowed_hosts": ("public.example",),
        }
        app = create_app(dataclasses.replace(settings, **changes))
        create_tables(services(app).db)
        apps.append(app)
        return app.test_client()

    yield client
    for app in apps:
        services(app).db.dispose()


def post_forwarded(client, route: str, signed_url: str, forwarded: dict[str, str]):
    """POST ``route`` as the proxy forwards it to 127.0.0.1, Twilio having signed ``signed_url``."""
    return client.post(
        route, base_url=INTERNAL, data=PARAMS, headers={**forwarded, **signed(signed_url, PARAMS)}
    )


@pytest.mark.parametrize(("hops", "status"), [(1, 200), (0, 403)])
def test_forwarded_headers_are_believed_only_from_trusted_proxies(behind_proxies, hops, status):
    """Twilio signed https://public.example/…; the proxy forwards to http://127.0.0.1:8000."""
    response = post_forwarded(
        behind_proxies(hops), "/twilio/voice", PROXIED_PUBLIC + "/twilio/voice", FORWARDED
    )
    assert response.status_code == status


def test_without_trusted_proxies_a_forged_forwarded_host_is_ignored(behind_proxies):
    """A signature Twilio made for another URL, sent with X-Forwarded-* naming that URL."""
    client = behind_proxies(0)
    forged = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "other.example"}
    response = post_forwarded(client, "/twilio/voice", "https://other.example/twilio/voice", forged)
    assert response.status_code == 403
    # What the request really arrived at still signs: the headers were simply not read.
    direct = post_forwarded(client, "/twilio/voice", INTERNAL + "/twilio/voice", forged)
    assert direct.status_code == 200


def test_a_trusted_proxy_believes_only_the_value_it_appended(behind_proxies):
    """A client's own X-Forwarded-Host comes first in the list; the proxy's last one counts."""
    client = behind_proxies(1)
    chain = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "other.example, public.example"}
    forged = post_forwarded(client, "/twilio/voice", "https://other.example/twilio/voice", chain)
    assert forged.status_code == 403
    real = post_forwarded(client, "/twilio/voice", PROXIED_PUBLIC + "/twilio/voice", chain)
    assert real.status_code == 200


def test_a_forwarded_port_and_the_raw_query_string_are_kept(behind_proxies):
    route = "/twilio/whisper?call=%7Eodd&reason=other"
    forwarded = {**FORWARDED, "X-Forwarded-Port": "8443"}
    client = behind_proxies(1)
    url = "https://public.example:8443" + route
    assert post_forwarded(client, route, url, forwarded).status_code == 200
    other_port = "https://public.example:9443" + route
    assert post_forwarded(client, route, other_port, forwarded).status_code == 403
    reencoded = url.replace("%7E", "~")
    assert post_forwarded(client, route, reencoded, forwarded).status_code == 403


def test_the_default_port_forwarded_by_nginx_matches_the_url_without_it(behind_proxies):
    """nginx's X-Forwarded-Port $server_port says 443; Twilio signed https://host/… without it."""
    forwarded = {**FORWARDED, "X-Forwarded-Port": "443"}
    url = PROXIED_PUBLIC + "/twilio/voice"
    assert post_forwarded(behind_proxies(1), "/twilio/voice", url, forwarded).status_code == 200


def test_the_public_base_url_wins_over_trusted_proxies(behind_proxies):
    client = behind_proxies(1, public_base_url=PUBLIC_BASE)
    forwarded_url = PROXIED_PUBLIC + "/twilio/voice"
    assert post_forwarded(client, "/twilio/voice", forwarded_url, FORWARDED).status_code == 403
    configured = PUBLIC_BASE + "/twilio/voice"
    assert post_forwarded(client, "/twilio/voice", configured, FORWARDED).status_code == 200


def test_a_forwarded_prefix_is_never_believed(behind_proxies):
    """Webhooks live at the root: a client's X-Forwarded-Prefix changes neither URL nor redirect."""
    forwarded = {**FORWARDED, "X-Forwarded-Prefix": "/ivr"}
    client = behind_proxies(1)
    prefixed = PROXIED_PUBLIC + "/ivr/twilio/voice"
    assert post_forwarded(client, "/twilio/voice", prefixed, forwarded).status_code == 403
    root = PROXIED_PUBLIC + "/twilio/voice"
    assert post_forwarded(client, "/twilio/voice", root, forwarded).status_code == 200
    evil = client.get(
        "/console/messages", base_url=INTERNAL,
        headers={**FORWARDED, "X-Forwarded-Prefix": "//evil.example"},
    )  # fmt: skip
    assert evil.status_code == 302
    assert evil.location.startswith("/console/login"), evil.location


# -- without PUBLIC_BASE_URL: the Host header, but only a host of ours ---------------------------


def test_without_a_public_base_url_a_signature_for_another_host_is_refused(behind_proxies):
    """Twilio signed a request for another application of the same account; it is replayed here."""
    client = behind_proxies(0)
    other = "https://other-app.example/twilio/voice"
    response = client.post(
        "/twilio/voice", base_url="https://other-app.example", data=PARAMS,
        headers=signed(other, PARAMS),
    )  # fmt: skip
    assert response.status_code == 403


def test_without_a_public_base_url_the_allowed_hosts_and_loopback_sign(behind_proxies):
    client = behind_proxies(0)
    for base in ("https://public.example", "http://localhost:5000", "http://127.0.0.1:8000"):
        response = client.post(
            "/twilio/voice", base_url=base, data=PARAMS,
            headers=signed(base + "/twilio/voice", PARAMS),
        )  # fmt: skip
        assert response.status_code == 200, base
