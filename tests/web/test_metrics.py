"""``/metrics``: webhooks, calls and backlogs in Prometheus format, with no personal data,
for the scraper that holds the bearer token only."""

from __future__ import annotations

import dataclasses

import pytest
from prometheus_client.parser import text_string_to_metric_families

from callcenter.web.app import create_app
from tests.conftest import CALLER, services

METRICS_TOKEN = "scraper-token-0123456789"
BEARER = {"Authorization": f"Bearer {METRICS_TOKEN}"}


@pytest.fixture
def settings(settings):
    """The test instance, with a token for the scraper."""
    return dataclasses.replace(settings, metrics_token=METRICS_TOKEN)


def scrape(app) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = app.test_client().get("/metrics", headers=BEARER)
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    body = response.get_data(as_text=True)
    assert CALLER not in body and "612345678" not in body and "CA" not in body.replace("CALL", "")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def test_webhooks_calls_and_the_queue_are_counted(app, twilio, practice_number):
    before = scrape(app)
    call = twilio.place_call(CALLER, practice_number).press("3").busy()
    after = scrape(app)
    voice = ("callcenter_webhooks_total", (("outcome", "answered"), ("route", "/twilio/voice")))
    assert after[voice] - before.get(voice, 0) == 1
    waits = ("callcenter_webhooks_total", (("outcome", "waiting"), ("route", "/twilio/queue/wait")))
    assert after[waits] - before.get(waits, 0) == 1
    assert after[("callcenter_queue_waiting", ())] == 1
    assert after[("callcenter_database_up", ())] == 1
    latency = ("callcenter_webhook_seconds_count", (("route", "/twilio/step"),))
    assert after[latency] - before.get(latency, 0) == 2
    call.hangup()
    closed = scrape(app)
    abandoned = ("callcenter_calls_total", (("outcome", "abandoned"),))
    assert closed[abandoned] - before.get(abandoned, 0) == 1
    assert closed[("callcenter_queue_waiting", ())] == 0


def test_with_the_database_down_metrics_still_answer_and_say_so(
    app, twilio, practice_number, database_down
):
    before = scrape(app)
    twilio.place_call(CALLER, practice_number)
    after = scrape(app)
    assert after[("callcenter_database_up", ())] == 0
    errors = ("callcenter_webhooks_total", (("outcome", "error"), ("route", "/twilio/voice")))
    assert after[errors] - before.get(errors, 0) == 1


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {METRICS_TOKEN}"}],
)
def test_without_the_token_metrics_answer_401(app, headers):
    response = app.test_client().get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "callcenter_" not in response.get_data(as_text=True)


def test_with_no_token_configured_metrics_are_not_served(settings):
    app = create_app(dataclasses.replace(settings, metrics_token=None))
    try:
        for headers in ({}, BEARER):
            assert app.test_client().get("/metrics", headers=headers).status_code == 404
    finally:
        services(app).db.dispose()
