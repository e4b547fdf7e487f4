"""Pointing a practice's Twilio number at this server, through Twilio's REST API.

A number's four webhooks decide where its calls and texts go: Voice URL,
Voice fallback URL, status callback and SMS URL, each requested with POST.
Typing them in Twilio's console is error-prone (a missing fallback goes
unnoticed until the day the server fails), so ``callcenter twilio configure``
sets them from the paths in :mod:`callcenter.core.routes` and the public base
URL, and ``--check`` compares them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from twilio.rest import Client

from callcenter.core import routes

#: Twilio's name for each field (the REST resource's), in the order they are shown.
FIELDS = (
    "voice_url", "voice_method", "voice_fallback_url", "voice_fallback_method",
    "status_callback", "status_callback_method", "sms_url", "sms_method",
)  # fmt: skip


class NumberNotFound(Exception):
    """The account holds no such number (or Twilio could not be asked)."""


@dataclass(frozen=True)
class Change:
    """One field of the number: what Twilio holds, what this server wants."""

    field: str
    current: str | None
    wanted: str

    @property
    def differs(self) -> bool:
        return (self.current or "") != self.wanted


def wanted(base_url: str) -> dict[str, str]:
    """Every field as this server wants it, under ``base_url`` (scheme and host)."""
    base = base_url.rstrip("/")
    return {
        "voice_url": base + routes.VOICE, "voice_method": "POST",
        "voice_fallback_url": base + routes.FALLBACK, "voice_fallback_method": "POST",
        "status_callback": base + routes.STATUS, "status_callback_method": "POST",
        "sms_url": base + routes.SMS, "sms_method": "POST",
    }  # fmt: skip


def find_number(client: Client, phone_number: str) -> Any:
    """The account's IncomingPhoneNumber resource for ``phone_number`` (E.164)."""
    try:
        found = client.incoming_phone_numbers.list(phone_number=phone_number, limit=2)
    except Exception as exc:  # TwilioRestException, a connection error: one line for the CLI
        raise NumberNotFound(f"Twilio did not answer ({type(exc).__name__})") from None
    exact = [n for n in found if n.phone_number == phone_number]
    if not exact:
        raise NumberNotFound(f"{phone_number} is not a number of this Twilio account")
    return exact[0]


def compare(number: Any, base_url: str) -> list[Change]:
    """Each field: Twilio's value beside the wanted one."""
    return [Change(name, getattr(number, name, None), value)
            for name, value in wanted(base_url).items()]  # fmt: skip


def apply(client: Client, number: Any, changes: list[Change]) -> Any:
    """Update the fields that differ, in one request; the resource as Twilio now holds it."""
    values = {c.field: c.wanted for c in changes if c.differs}
    return client.incoming_phone_numbers(number.sid).update(**values)
