"""Instance settings: loaded once, typed and strict.

The instance folder (``$CALLCENTER_HOME``, default ``./instance``) holds
``settings.yaml``; the environment overrides it.  A missing or invalid value
raises :class:`SettingsError` whose message is one line naming the setting, so
start-up stops before any call is answered rather than failing mid-call.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from callcenter.core.mailer import MailSettingsError, SmtpSettings, smtp_settings
from callcenter.core.yaml_fields import Fields, NotYaml, in_file, load_yaml

#: The flows and prompt catalogue shipped with the project.
DEFAULT_FLOWS_DIR = Path(__file__).resolve().parents[2] / "flows"
DEFAULT_POLICY_FILE = Path(__file__).resolve().parents[2] / "recordings_policy.yaml"

SETTINGS_FILE = "settings.yaml"
LOG_FORMATS = ("console", "json")


class SettingsError(Exception):
    """A setting is missing or invalid; the message names it in one line."""


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    twilio_account_sid: str
    twilio_auth_token: str
    public_base_url: str | None = None
    # Reverse proxies in front of the server whose X-Forwarded-* headers are
    # believed (TRUSTED_PROXIES); 0: those headers are ignored.
    trusted_proxies: int = 0
    # Without PUBLIC_BASE_URL, the hosts a webhook's Host header may name
    # (ALLOWED_HOSTS); loopback names are always allowed (the demo, the emulator).
    allowed_hosts: tuple[str, ...] = ()
    # The bearer token /metrics asks for (METRICS_TOKEN); unset: /metrics answers 404.
    metrics_token: str | None = None
    flows_dir: Path = DEFAULT_FLOWS_DIR
    log_format: str = "console"
    now: datetime | None = None
    policy_file: Path = DEFAULT_POLICY_FILE
    twilio_api_base: str | None = None
    # A demo's REST calls go to an in-process stand-in that records them (TWILIO_STAND_IN).
    twilio_stand_in: bool = False
    # A call with no webhook for this long and no final status is closed as lost
    # (CALL_MAX_MINUTES): Twilio ends a call after 4 hours by default.
    call_max_minutes: int = 240
    # During a rotation of the auth token at Twilio, signatures made with the
    # previous one are still accepted (TWILIO_AUTH_TOKEN_PREVIOUS).
    twilio_previous_token: str | None = None
    smtp: SmtpSettings | None = None  # None: digests wait in the outbox
    # The tele-secretariat's name in the console header when it serves several
    # practices (ORGANISATION_NAME); one practice's console shows that practice's name.
    organisation_name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def practices_dir(self) -> Path:
        return self.home / "practices"


def home_from_env(environ: os._Environ[str] | dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(env.get("CALLCENTER_HOME", "instance")).resolve()


def parse_now(value: str) -> datetime:
    """Parse ``CALLCENTER_NOW``: an ISO 8601 date-time that must carry an offset."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise SettingsError(
            f"CALLCENTER_NOW: {value!r} is not an ISO 8601 date-time "
            "(e.g. 2026-11-24T10:00:00+01:00)"
        ) from None
    if moment.tzinfo is None:
        raise SettingsError(f"CALLCENTER_NOW: {value!r} needs a UTC offset (e.g. +01:00)")
    return moment


def _read_file(home: Path) -> dict[str, Any]:
    path = home / SETTINGS_FILE
    if not path.exists():
        raise SettingsError(
            f"{path}: no instance settings; run 'callcenter init' (or set CALLCENTER_HOME)"
        )
    try:
        data = load_yaml(path) or {}
    except NotYaml as exc:
        raise SettingsError(f"{path}: {exc}") from None
    shape = "a mapping of setting names to values"
    Fields(data, shape=shape, error=in_file(SettingsError, str(path)))  # refuses a non-mapping
    return data


def _url(name: str, value: str | None) -> str | None:
    if value in (None, ""):
        return None
    assert value is not None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"{name}: {value!r} is not an http(s) URL")
    if parts.query or parts.fragment:
        raise SettingsError(f"{name}: {value!r} must not carry a query or fragment")
    if parts.path not in ("", "/"):
        # Webhook actions are root paths (/twilio/step…): Twilio would drop a prefix.
        raise SettingsError(f"{name}: {value!r} must be scheme and host only, with no path")
    return value.rstrip("/")


def _hops(name: str, value: Any) -> int:
    """A count of reverse-proxy hops: a whole number, 0 (the default) trusting none."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise SettingsError(
            f"{name}: {value!r} is not a number of proxies "
            "(a whole number, 0 to ignore X-Forwarded-* headers)"
        )
    return value


def _flag(name: str, value: Any) -> bool:
    """A yes/no setting: a YAML boolean, or true/false, 1/0 from the environment."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no", ""):
        return value.lower() in ("true", "1", "yes")
    raise SettingsError(f"{name}: {value!r} is not true or false")


def _minutes(name: str, value: Any) -> int:
    """A positive whole number of minutes."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise SettingsError(f"{name}: {value!r} is not a whole number of minutes (1 or more)")
    return value


def _hosts(name: str, value: Any) -> tuple[str, ...]:
    """Host names, from a YAML list or a comma-separated string; lower-cased, no port."""
    if value in (None, ""):
        return ()
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise SettingsError(f"{name}: {value!r} is not a list of host names")
    hosts = tuple(i.strip().lower() for i in items if i.strip())
    for host in hosts:
        if not host.replace(".", "").replace("-", "").isalnum():
            raise SettingsError(f"{name}: {host!r} is not a host name (no scheme, no port)")
    return hosts


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read ``settings.yaml`` from the instance folder, then apply the environment."""
    env: dict[str, str] = dict(os.environ if environ is None else environ)
    home = home_from_env(env)
    data = _read_file(home)

    def pick(env_name: str, key: str, default: Any = None) -> Any:
        # Values read from secret files often end with a newline: strip it, or
        # every signature would be computed with it.
        value = env[env_name] if env.get(env_name) else data.get(key, default)
        return value.strip() if isinstance(value, str) else value

    def secret(env_name: str, key: str) -> Any:
        """A secret from the environment, a file named by ``<NAME>_FILE``, or settings."""
        path = env.get(f"{env_name}_FILE")
        if path and not env.get(env_name):
            try:
                return Path(path).read_text(encoding="utf-8").strip()
            except OSError:
                raise SettingsError(f"{env_name}_FILE: cannot read {path}") from None
        return pick(env_name, key)

    database_url = secret("DATABASE_URL", "database_url") or f"sqlite:///{home / 'callcenter.db'}"
    sid = pick("TWILIO_ACCOUNT_SID", "twilio_account_sid")
    token = secret("TWILIO_AUTH_TOKEN", "twilio_auth_token")
    previous = secret("TWILIO_AUTH_TOKEN_PREVIOUS", "twilio_auth_token_previous")
    metrics_token = secret("METRICS_TOKEN", "metrics_token")
    if not sid or not isinstance(sid, str) or not sid.startswith("AC"):
        raise SettingsError("TWILIO_ACCOUNT_SID: missing or not an account SID (AC…)")
    if not token or not isinstance(token, str):
        raise SettingsError("TWILIO_AUTH_TOKEN: missing")
    log_format = pick("CALLCENTER_LOG_FORMAT", "log_format", "console")
    if log_format not in LOG_FORMATS:
        raise SettingsError(f"log_format: {log_format!r} is not one of {', '.join(LOG_FORMATS)}")
    flows_dir = Path(pick("CALLCENTER_FLOWS", "flows_dir", DEFAULT_FLOWS_DIR))
    if not flows_dir.is_absolute():
        flows_dir = (home / flows_dir).resolve()
    if not flows_dir.is_dir():
        raise SettingsError(f"flows_dir: {flows_dir} is not a folder")
    now = parse_now(env["CALLCENTER_NOW"]) if env.get("CALLCENTER_NOW") else None
    policy_file = Path(pick("CALLCENTER_POLICY", "policy_file", DEFAULT_POLICY_FILE))
    if not policy_file.is_absolute():
        policy_file = (home / policy_file).resolve()
    try:
        smtp = smtp_settings(data.get("smtp"), env, home)
    except MailSettingsError as exc:
        raise SettingsError(str(exc)) from None
    known = {
        "smtp",
        "policy_file",
        "twilio_api_base",
        "twilio_stand_in",
        "call_max_minutes",
        "database_url",
        "twilio_account_sid",
        "twilio_auth_token",
        "twilio_auth_token_previous",
        "public_base_url",
        "trusted_proxies",
        "allowed_hosts",
        "metrics_token",
        "flows_dir",
        "log_format",
        "organisation_name",
    }
    organisation = str(pick("ORGANISATION_NAME", "organisation_name", "") or "").strip()
    return Settings(
        home=home,
        database_url=str(database_url),
        twilio_account_sid=sid,
        twilio_auth_token=token,
        public_base_url=_url("PUBLIC_BASE_URL", pick("PUBLIC_BASE_URL", "public_base_url")),
        trusted_proxies=_hops("TRUSTED_PROXIES", pick("TRUSTED_PROXIES", "trusted_proxies", 0)),
        allowed_hosts=_hosts("ALLOWED_HOSTS", pick("ALLOWED_HOSTS", "allowed_hosts")),
        metrics_token=str(metrics_token) if metrics_token else None,
        flows_dir=flows_dir,
        log_format=log_format,
        now=now,
        policy_file=policy_file,
        twilio_api_base=_url("TWILIO_API_BASE", pick("TWILIO_API_BASE", "twilio_api_base")),
        twilio_stand_in=_flag("TWILIO_STAND_IN", pick("TWILIO_STAND_IN", "twilio_stand_in", False)),
        call_max_minutes=_minutes(
            "CALL_MAX_MINUTES", pick("CALL_MAX_MINUTES", "call_max_minutes", 240)
        ),
        smtp=smtp,
        twilio_previous_token=str(previous) if previous else None,
        organisation_name=organisation or None,
        extra={k: v for k, v in data.items() if k not in known},
    )
