"""The instance's and practices' settings as the administrator's page shows them: secrets masked.

Masking happens here, before anything reaches a template: a secret becomes a
:class:`Setting` that only says it is set, so no template (or a later edit of
one) can print it.  Masked: the Twilio auth tokens, the SMTP password, the
password (and password-like query fields) of the database URL, credentials in
any URL, the secretaries' PIN hashes, and any extra setting whose name looks
like a secret.  The key ring itself never comes near: only where it is read from.
Paths (certificates, signing keys, flows) are shown: they are not secrets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from callcenter.config.practice import Practice
from callcenter.config.settings import Settings
from callcenter.config.staff import WEEKDAYS
from callcenter.core.french import phone

Value = str | int | bool | None
# Names of settings (and URL query fields) whose values are never shown.
SECRET_NAME = re.compile(r"pass|secret|token|key|credential|auth|pin", re.IGNORECASE)


@dataclass(frozen=True)
class Setting:
    """One line of the page: ``name`` as written in the file, what may be shown of it.

    ``shown`` is None when the setting is unset, or when it is ``masked``: a
    secret that is set (its value never leaves this module).
    """

    name: str
    shown: Value
    masked: bool = False


@dataclass(frozen=True)
class Person:
    """A doctor or secretary of a practice, as the page lists them (staff, not patients)."""

    id: str
    settings: list[Setting]


@dataclass(frozen=True)
class PracticeSettings:
    id: str
    name: str
    settings: list[Setting]
    doctors: list[Person]
    secretaries: list[Person]


def secret(name: str, value: object) -> Setting:
    return Setting(name, None, masked=bool(value))


def plain(name: str, value: object) -> Setting:
    if value is None or value == "":
        return Setting(name, None)
    if isinstance(value, bool | int | str):
        return Setting(name, value)
    return Setting(name, str(value))


def masked_url(value: str | None) -> str | None:
    """An http(s) URL without the password of any ``user:password@``."""
    if not value:
        return None
    try:
        parts = urlsplit(value)
        if parts.password is None:
            return value
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "***"  # unparseable: show nothing of it
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}{port}"))


def masked_database_url(value: str) -> str:
    """The database URL with its password and any password-like query field as ``***``."""
    try:
        url = make_url(value)
    except ArgumentError:
        return "***"  # unparseable: it might be anything, so show nothing of it
    query = {k: ("***" if SECRET_NAME.search(k) else v) for k, v in url.query.items()}
    return url.set(query=query).render_as_string(hide_password=True)


def _flatten(name: str, value: Any) -> list[Setting]:
    """Extra settings, nested ones as ``a.b``; a secret-looking name hides its whole subtree."""
    if SECRET_NAME.search(name):
        return [secret(name, value)]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _flatten(f"{name}.{k}", v)]
    if isinstance(value, list):
        return [s for i, v in enumerate(value) for s in _flatten(f"{name}[{i}]", v)]
    if isinstance(value, str) and "://" in value:
        return [plain(name, masked_url(value))]
    return [plain(name, value)]


def instance(settings: Settings, keyring_file: Path | None) -> list[Setting]:
    """The instance settings (``settings.yaml`` and the environment), secrets masked.

    ``keyring_file``: where the key ring is read from (None: the environment).
    """
    smtp = settings.smtp
    found = [
        plain("home", settings.home),
        plain("database_url", masked_database_url(settings.database_url)),
        plain("twilio_account_sid", settings.twilio_account_sid),
        secret("twilio_auth_token", settings.twilio_auth_token),
        secret("twilio_auth_token_previous", settings.twilio_previous_token),
        plain("public_base_url", masked_url(settings.public_base_url)),
        plain("allowed_hosts", ", ".join(settings.allowed_hosts) or None),
        secret("metrics_token", settings.metrics_token),
        plain("twilio_api_base", masked_url(settings.twilio_api_base)),
        plain("twilio_stand_in", "true" if settings.twilio_stand_in else "false"),
        plain("call_max_minutes", settings.call_max_minutes),
        plain("flows_dir", settings.flows_dir),
        plain("policy_file", settings.policy_file),
        plain("log_format", settings.log_format),
        plain("keyring", keyring_file if keyring_file else "CALLCENTER_KEYRING"),
        plain("CALLCENTER_NOW", settings.now.isoformat() if settings.now else None),
        plain("smtp", None) if smtp is None else plain("smtp.host", smtp.host),
    ]
    if smtp is not None:
        found += [
            plain("smtp.port", smtp.port),
            plain("smtp.security", smtp.security),
            plain("smtp.from", smtp.sender),
            plain("smtp.username", smtp.username),
            secret("smtp.password", smtp.password),
            plain("smtp.ca_file", smtp.ca_file),
            plain("smtp.timeout", str(smtp.timeout)),
        ]
    for name, value in sorted(settings.extra.items()):
        found += _flatten(str(name), value)
    return found


def _sessions(sessions: tuple[tuple[time, time], ...]) -> str:
    return ", ".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in sessions)


def _hours(hours: dict[int, tuple[tuple[time, time], ...]] | None) -> str | None:
    if not hours:
        return None
    return "; ".join(f"{WEEKDAYS[day]} {_sessions(hours[day])}" for day in sorted(hours))


def practice(found: Practice) -> PracticeSettings:
    """One practice file, as loaded and checked at start-up, secrets masked."""
    rota = "; ".join(
        f"{shift.doctor}: {','.join(WEEKDAYS[d][:3] for d in sorted(shift.days))} "
        f"{shift.start:%H:%M}-{shift.end.strftime('%H:%M') if shift.end else '24:00'}"
        for shift in found.on_call
    )
    rules = found.appointments
    settings = [
        plain("id", found.id),
        plain("name", found.name),
        plain("number", phone(found.number)),
        plain("language", found.language),
        plain("voice", found.voice),
        plain("timezone", found.timezone),
        plain("holidays", found.holiday_country),
        plain("closures", ", ".join(sorted(d.isoformat() for d in found.closures))),
        plain("hours", _hours(found.hours)),
        plain("on_call", rota),
        plain("instructions", found.instructions),
        plain("transfer.mode", found.transfer_mode),
        plain("transfer.ring_seconds", found.ring_seconds),
        plain("transfer.caller_id", "caller" if found.present_caller else "practice"),
        plain("transfer.queue.size", found.queue_size),
        plain("transfer.queue.minutes_per_caller", found.minutes_per_caller),
        plain("transfer.queue.hold_music", masked_url(found.hold_music)),
        plain("limits.calls_per_minute", found.calls_per_minute),
        plain("signing.certificate", found.signing_certificate),
        plain("signing.key", found.signing_key),  # the path only
        plain("flows_dir", found.flows_dir),
        plain("start_flow", found.start_flow),
        plain("prompts", ", ".join(sorted(found.prompts))),  # overridden keys
        plain("blind_index_bits", found.blind_index_bits),
        plain("appointments", rules is not None),
    ]
    if rules is not None:
        settings += [
            plain("appointments.kinds", ", ".join(k.title for k in rules.kinds.values())),
            plain("appointments.horizon_days", rules.horizon_days),
            plain("appointments.sms_confirmation", rules.sms_confirmation),
            plain("appointments.sms_reminder", rules.sms_reminder),
            plain("appointments.ics_patient_names", rules.ics_patient_names),
        ]
    doctors = [
        Person(d.id, [
            plain("name", d.name), plain("called", d.called), plain("email", d.email),
            plain("certificate", d.certificate),
            plain("on_call_phone", phone(d.on_call_phone) or None),
            plain("digest.at", "hourly" if d.digest.hourly
                  else ", ".join(f"{t:%H:%M}" for t in d.digest.times)),
            plain("digest.days", ",".join(WEEKDAYS[n][:3] for n in sorted(d.digest.days))),
            plain("digest.when_empty", d.digest.when_empty),
        ])
        for d in found.doctors
    ]  # fmt: skip
    secretaries = [
        Person(s.id, [
            plain("name", s.name), plain("phone", phone(s.phone) or None),
            plain("hours", _hours(s.hours)),
            secret("pin_hash", s.pin_hash),
        ])
        for s in found.secretaries
    ]  # fmt: skip
    return PracticeSettings(found.id, found.name, settings, doctors, secretaries)
