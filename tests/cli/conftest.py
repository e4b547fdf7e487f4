"""Shared by the administrator's command tests: the CLI against the fake Twilio, calls."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import func, select

from callcenter.cli.main import main
from callcenter.config.settings import DEFAULT_POLICY_FILE
from tests.conftest import CALLER, services
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN

OTHER = "+33698000000"


@pytest.fixture
def admin(cli_env, fake_twilio, monkeypatch, tmp_path):
    """The CLI, talking to the fake Twilio REST API, with a zero-day policy at hand."""
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setenv("TWILIO_API_BASE", fake_twilio.base_url)
    policy = yaml.safe_load(DEFAULT_POLICY_FILE.read_text())
    policy["retention_days"].update(
        recordings=0, transcripts=0, messages=0, calls=0, appointments_after=0
    )
    zero = tmp_path / "zero-policy.yaml"
    zero.write_text(yaml.safe_dump(policy, allow_unicode=True))
    return zero


def run(*args: str, **kwargs) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False, **kwargs)
    assert result.exit_code == 0, result.output
    return result.output


def count(app, model) -> int:
    with services(app).db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def calls_with_messages(twilio, number: str) -> None:
    # '*' skips identification: no patient is registered, only calls and messages.
    twilio.place_call(CALLER, number).press("2").press("*").silence().record(seconds=8)
    twilio.place_call(CALLER, number).press("3").answer()
    twilio.place_call(OTHER, number).press("2").press("*").silence().record(seconds=5)
