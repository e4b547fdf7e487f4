"""Instance settings: settings.yaml in CALLCENTER_HOME, overridden by the environment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from callcenter.config.settings import DEFAULT_FLOWS_DIR, Settings, SettingsError, load_settings

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "file-token-0123456789"


def write_settings(home: Path, **values: Any) -> None:
    """settings.yaml with valid Twilio credentials, plus ``values`` (None drops a key)."""
    data = {"twilio_account_sid": SID, "twilio_auth_token": TOKEN, **values}
    data = {k: v for k, v in data.items() if v is not None}
    home.mkdir(parents=True, exist_ok=True)
    (home / "settings.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")


def load(home: Path, **env: str) -> Settings:
    return load_settings(environ={"CALLCENTER_HOME": str(home), **env})


def refusal(home: Path, **env: str) -> str:
    """The message of the SettingsError that loading raises; it must be one line."""
    with pytest.raises(SettingsError) as excinfo:
        load(home, **env)
    message = str(excinfo.value)
    assert "\n" not in message
    return message


def test_a_missing_settings_file_tells_to_run_callcenter_init(tmp_path: Path) -> None:
    """Without settings.yaml, the error points at 'callcenter init'."""
    message = refusal(tmp_path)
    assert "callcenter init" in message
    assert "settings.yaml" in message


def test_a_settings_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    """A YAML list (or any non-mapping) is not a settings file."""
    (tmp_path / "settings.yaml").write_text("- a\n- b\n", encoding="utf-8")
    assert "settings.yaml" in refusal(tmp_path)


def test_the_file_alone_gives_working_settings(tmp_path: Path) -> None:
    """Values come from settings.yaml when the environment is silent."""
    write_settings(tmp_path, public_base_url="https://cc.example.test", log_format="json")
    settings = load(tmp_path)
    assert settings.home == tmp_path.resolve()
    assert settings.twilio_account_sid == SID
    assert settings.twilio_auth_token == TOKEN
    assert settings.public_base_url == "https://cc.example.test"
    assert settings.log_format == "json"
    assert settings.flows_dir == DEFAULT_FLOWS_DIR
    assert settings.now is None


def test_the_environment_overrides_the_file(tmp_path: Path) -> None:
    """DATABASE_URL, TWILIO_AUTH_TOKEN, TWILIO_ACCOUNT_SID and PUBLIC_BASE_URL win over the file."""
    write_settings(
        tmp_path,
        database_url="sqlite:///from-file.db",
        public_base_url="https://file.example.test",
    )
    env_sid = "AC" + "f" * 32
    settings = load(
        tmp_path,
        DATABASE_URL="postgresql://db.example.test/cc",
        TWILIO_AUTH_TOKEN="env-token",
        TWILIO_ACCOUNT_SID=env_sid,
        PUBLIC_BASE_URL="https://env.example.test",
    )
    assert settings.database_url == "postgresql://db.example.test/cc"
    assert settings.twilio_auth_token == "env-token"
    assert settings.twilio_account_sid == env_sid
    assert settings.public_base_url == "https://env.example.test"


def test_an_empty_environment_variable_does_not_override_the_file(tmp_path: Path) -> None:
    """An exported but empty variable leaves the file's value in place."""
    write_settings(tmp_path)
    assert load(tmp_path, TWILIO_AUTH_TOKEN="").twilio_auth_token == TOKEN


def test_the_default_database_is_a_sqlite_file_in_the_instance_folder(tmp_path: Path) -> None:
    """Without database_url, the database is callcenter.db beside settings.yaml."""
    write_settings(tmp_path)
    expected = f"sqlite:///{tmp_path.resolve() / 'callcenter.db'}"
    assert load(tmp_path).database_url == expected


def test_a_missing_auth_token_is_refused_by_name(tmp_path: Path) -> None:
    """No token anywhere: TWILIO_AUTH_TOKEN is named."""
    write_settings(tmp_path, twilio_auth_token=None)
    assert "TWILIO_AUTH_TOKEN" in refusal(tmp_path)


@pytest.mark.parametrize("sid", ["SK" + "0" * 32, "0123456789", "ac" + "0" * 32])
def test_an_account_sid_not_starting_with_ac_is_refused_by_name(tmp_path: Path, sid: str) -> None:
    """The account SID must begin with 'AC' (an API key SID 'SK…' is not one)."""
    write_settings(tmp_path)
    assert "TWILIO_ACCOUNT_SID" in refusal(tmp_path, TWILIO_ACCOUNT_SID=sid)


def test_a_missing_account_sid_is_refused_by_name(tmp_path: Path) -> None:
    """No SID anywhere: TWILIO_ACCOUNT_SID is named."""
    write_settings(tmp_path, twilio_account_sid=None)
    assert "TWILIO_ACCOUNT_SID" in refusal(tmp_path)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://cc.example.test",
        "https://cc.example.test/?token=1",
        "https://cc.example.test/#top",
        "cc.example.test",
        "https://",
    ],
)
def test_a_bad_public_base_url_is_refused_by_name(tmp_path: Path, url: str) -> None:
    """PUBLIC_BASE_URL must be http(s), with a host, and no query or fragment."""
    write_settings(tmp_path)
    assert "PUBLIC_BASE_URL" in refusal(tmp_path, PUBLIC_BASE_URL=url)


def test_the_public_base_url_loses_its_trailing_slash(tmp_path: Path) -> None:
    """Paths are appended to it, so a trailing slash is dropped."""
    write_settings(tmp_path)
    settings = load(tmp_path, PUBLIC_BASE_URL="https://cc.example.test/")
    assert settings.public_base_url == "https://cc.example.test"


def test_a_public_base_url_with_a_trailing_newline_is_trimmed_or_refused(tmp_path: Path) -> None:
    """A value read from a secret file often ends in a newline; it must not reach the URL."""
    write_settings(tmp_path)
    try:
        settings = load(tmp_path, PUBLIC_BASE_URL="https://cc.example.test/\n")
    except SettingsError:
        return
    assert settings.public_base_url == "https://cc.example.test"


def test_an_auth_token_with_a_trailing_newline_is_trimmed_or_refused(tmp_path: Path) -> None:
    """A token pasted with a newline must not silently become a different HMAC key."""
    write_settings(tmp_path)
    try:
        settings = load(tmp_path, TWILIO_AUTH_TOKEN="env-token\n")
    except SettingsError:
        return
    assert settings.twilio_auth_token == "env-token"


def test_an_unknown_log_format_is_refused_by_name(tmp_path: Path) -> None:
    """log_format is 'console' or 'json', nothing else."""
    write_settings(tmp_path, log_format="xml")
    assert "log_format" in refusal(tmp_path)


def test_the_log_format_can_come_from_the_environment(tmp_path: Path) -> None:
    """CALLCENTER_LOG_FORMAT overrides log_format."""
    write_settings(tmp_path, log_format="console")
    assert load(tmp_path, CALLCENTER_LOG_FORMAT="json").log_format == "json"


def test_a_flows_dir_that_does_not_exist_is_refused_by_name(tmp_path: Path) -> None:
    """A relative flows_dir is resolved in the instance folder and must exist."""
    write_settings(tmp_path, flows_dir="no-such-flows")
    assert "flows_dir" in refusal(tmp_path)


def test_a_flows_dir_that_is_a_file_is_refused_by_name(tmp_path: Path) -> None:
    """flows_dir must be a folder, not a file."""
    (tmp_path / "flows.yaml").write_text("{}", encoding="utf-8")
    write_settings(tmp_path, flows_dir="flows.yaml")
    assert "flows_dir" in refusal(tmp_path)


def test_a_relative_flows_dir_is_found_in_the_instance_folder(tmp_path: Path) -> None:
    """flows_dir: my-flows means <home>/my-flows."""
    (tmp_path / "my-flows").mkdir()
    write_settings(tmp_path, flows_dir="my-flows")
    assert load(tmp_path).flows_dir == (tmp_path / "my-flows").resolve()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "2026-11-24T10:00:00+01:00",
            datetime(2026, 11, 24, 10, 0, tzinfo=timezone(timedelta(hours=1))),
        ),
        ("2026-11-24T09:00:00Z", datetime(2026, 11, 24, 9, 0, tzinfo=UTC)),
    ],
)
def test_callcenter_now_is_read_with_its_offset(
    tmp_path: Path, value: str, expected: datetime
) -> None:
    """CALLCENTER_NOW freezes the clock at that instant, offset kept."""
    write_settings(tmp_path)
    now = load(tmp_path, CALLCENTER_NOW=value).now
    assert now == expected
    assert now is not None and now.utcoffset() == expected.utcoffset()


def test_callcenter_now_without_an_offset_is_refused(tmp_path: Path) -> None:
    """A naive date-time is ambiguous: refused, naming CALLCENTER_NOW."""
    write_settings(tmp_path)
    message = refusal(tmp_path, CALLCENTER_NOW="2026-11-24T10:00:00")
    assert "CALLCENTER_NOW" in message
    assert "offset" in message


@pytest.mark.parametrize("value", ["tomorrow", "24/11/2026 10:00", "2026-13-01T10:00:00+01:00"])
def test_callcenter_now_that_is_not_a_date_is_refused(tmp_path: Path, value: str) -> None:
    """Anything that is not an ISO 8601 date-time is refused, naming CALLCENTER_NOW."""
    write_settings(tmp_path)
    assert "CALLCENTER_NOW" in refusal(tmp_path, CALLCENTER_NOW=value)


def test_unknown_keys_of_the_file_are_kept_as_extra(tmp_path: Path) -> None:
    """Settings other modules read (e.g. retention) pass through in ``extra``."""
    write_settings(tmp_path, retention_days=30)
    settings = load(tmp_path)
    assert settings.extra == {"retention_days": 30}


def test_a_public_base_url_with_a_path_is_refused(tmp_path):
    """Actions are root paths: Twilio would drop the prefix and every step would 404."""
    (tmp_path / "settings.yaml").write_text(
        "twilio_account_sid: AC" + "0" * 32 + "\ntwilio_auth_token: t\n"
        "public_base_url: https://ivr.example.fr/cabinet\n"
    )
    with pytest.raises(SettingsError, match=r"PUBLIC_BASE_URL: .* no path"):
        load_settings({"CALLCENTER_HOME": str(tmp_path)})


def test_secrets_can_come_from_files_named_by_file_variables(tmp_path: Path) -> None:
    home = tmp_path / "instance"
    write_settings(home, twilio_auth_token=None)
    token_file = tmp_path / "token"
    token_file.write_text("token-from-a-file\n")
    settings = load(home, TWILIO_AUTH_TOKEN_FILE=str(token_file))
    assert settings.twilio_auth_token == "token-from-a-file"  # its newline stripped
    # The variable itself, when set, wins over the file.
    assert load(home, TWILIO_AUTH_TOKEN="t2", TWILIO_AUTH_TOKEN_FILE=str(token_file)) \
        .twilio_auth_token == "t2"  # fmt: skip


def test_an_unreadable_secret_file_is_named(tmp_path: Path) -> None:
    home = tmp_path / "instance"
    write_settings(home)
    message = refusal(home, TWILIO_AUTH_TOKEN_FILE=str(tmp_path / "missing"))
    assert message.startswith("TWILIO_AUTH_TOKEN_FILE: cannot read")


def test_a_previous_auth_token_is_read_for_a_rotation(tmp_path: Path) -> None:
    home = tmp_path / "instance"
    write_settings(home)
    assert load(home).twilio_previous_token is None
    assert load(home, TWILIO_AUTH_TOKEN_PREVIOUS="old").twilio_previous_token == "old"


def test_no_proxy_is_trusted_by_default(tmp_path: Path) -> None:
    """Without TRUSTED_PROXIES, X-Forwarded-* headers are ignored (0 hops)."""
    write_settings(tmp_path)
    assert load(tmp_path).trusted_proxies == 0


def test_trusted_proxies_come_from_the_file_or_the_environment(tmp_path: Path) -> None:
    write_settings(tmp_path, trusted_proxies=2)
    assert load(tmp_path).trusted_proxies == 2
    assert load(tmp_path, TRUSTED_PROXIES="1").trusted_proxies == 1
    assert load(tmp_path, TRUSTED_PROXIES="0").trusted_proxies == 0
    assert "trusted_proxies" not in load(tmp_path).extra


@pytest.mark.parametrize("value", ["-1", "one", "1.5", "1e3", "²"])
def test_a_bad_trusted_proxies_variable_is_refused_by_name(tmp_path: Path, value: str) -> None:
    write_settings(tmp_path)
    message = refusal(tmp_path, TRUSTED_PROXIES=value)
    assert message.startswith("TRUSTED_PROXIES: ") and "whole number" in message


@pytest.mark.parametrize("value", [-1, True, 1.5, "many", [1]])
def test_a_bad_trusted_proxies_setting_is_refused_by_name(tmp_path: Path, value: Any) -> None:
    write_settings(tmp_path, trusted_proxies=value)
    assert refusal(tmp_path).startswith("TRUSTED_PROXIES: ")


def test_allowed_hosts_come_from_a_list_or_a_comma_separated_variable(tmp_path: Path) -> None:
    write_settings(tmp_path, allowed_hosts=["Calls.Example.org"])
    assert load(tmp_path).allowed_hosts == ("calls.example.org",)
    both = load(tmp_path, ALLOWED_HOSTS="a.example, b.example")
    assert both.allowed_hosts == ("a.example", "b.example")
    assert "allowed_hosts" not in load(tmp_path).extra


@pytest.mark.parametrize("value", ["https://calls.example.org", "calls.example.org:443"])
def test_an_allowed_host_with_a_scheme_or_port_is_refused(tmp_path: Path, value: str) -> None:
    write_settings(tmp_path)
    assert refusal(tmp_path, ALLOWED_HOSTS=value).startswith("ALLOWED_HOSTS: ")


def test_the_metrics_token_comes_from_a_file_and_stays_out_of_extra(tmp_path: Path) -> None:
    write_settings(tmp_path)
    assert load(tmp_path).metrics_token is None
    secret = tmp_path / "metrics-token"
    secret.write_text("scraper-token\n", encoding="utf-8")
    assert load(tmp_path, METRICS_TOKEN_FILE=str(secret)).metrics_token == "scraper-token"
    write_settings(tmp_path, metrics_token="from-file")
    assert load(tmp_path).metrics_token == "from-file"
    assert "metrics_token" not in load(tmp_path).extra
