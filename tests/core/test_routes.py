"""The webhook paths: one list, which the app serves exactly."""

from __future__ import annotations

from callcenter.core import routes


def declared_paths() -> set[str]:
    return {
        value
        for name, value in vars(routes).items()
        if name.isupper() and isinstance(value, str) and name not in ("TWILIO", "QUEUE")
    }


def test_the_app_serves_every_declared_path_and_no_other(app) -> None:
    served = {rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/twilio")}
    assert served == declared_paths()


def test_the_paths_twilio_is_given_do_not_change() -> None:
    """Twilio numbers point at these: a rename is a change of every number's setup."""
    assert (routes.VOICE, routes.STATUS, routes.FALLBACK, routes.QUEUE_AGENT) == (
        "/twilio/voice",
        "/twilio/status",
        "/twilio/fallback",
        "/twilio/queue/agent",
    )


def test_url_adds_the_query_only_when_there_is_one() -> None:
    assert routes.url(routes.STEP, {"seq": 3}) == "/twilio/step?seq=3"
    assert routes.url(routes.FALLBACK, {"stage": "a b", "practice": "p"}) == (
        "/twilio/fallback?stage=a+b&practice=p"
    )
    assert routes.url(routes.RECORDING) == routes.url(routes.RECORDING, {}) == "/twilio/recording"
