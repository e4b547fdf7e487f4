"""The recordings and retention policy (``recordings_policy.yaml``), loaded once and checked.

The policy decides what may be recorded, for which purpose, what callers are
told first, where speech becomes text, and how many days each kind of data
lives.  A wrong value must stop start-up rather than keep data too long, so
:func:`load_policy` refuses anything doubtful with a :class:`PolicyError`
whose message is one line naming the file and the field, e.g.
``recordings_policy.yaml: retention_days.recordings: 400 is over the
183-day cap (CNIL: six months)``.

The rules, and where they come from, are in
docs/configuration/recordings-policy.md: no recording without a named
purpose, recordings kept six months at most (CNIL NS-57), a notice before any
recording, audit documentation kept long enough (at least 180 days here;
six years for HIPAA).  Unknown fields are refused so that a misspelt key
never silently falls back to a default.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from callcenter.config.settings import DEFAULT_POLICY_FILE
from callcenter.core.yaml_fields import Fields, NotYaml, in_file, parse_yaml

#: CNIL NS-57: recordings kept six months at most.
RECORDINGS_CAP_DAYS = 183
#: Audit rows document purges and erasures; keep them at least this long.
AUDIT_MIN_DAYS = 180
#: Where speech becomes text (docs/configuration/recordings-policy.md says what each sends where).
ENGINES = ("speech", "twilio", "realtime", "local")
#: The language every practice must have a notice in, and the fallback.
DEFAULT_LANGUAGE = "fr-FR"
#: ``<Say>`` reads at most 4096 characters (docs/operations/twilio.md, TwiML); keep a margin.
NOTICE_MAX_CHARS = 4000

_LANGUAGE = re.compile(r"[a-z]{2,3}-[A-Z]{2}")
_RETENTION_DAYS = (
    "recordings",
    "transcripts",
    "messages",
    "calls",
    "appointments_after",
    "audit",
)
_RETRY_FIELD = "remote_deletion_retry_minutes"
#: Optional: files written before requests existed keep working (messages' days apply).
_REQUESTS_FIELD = "requests"
_WAITING_FIELD = "waiting_list"
#: Ended waiting-list entries when the policy file does not say (files older than the list).
WAITING_LIST_DAYS = 30


class PolicyError(Exception):
    """The policy file is missing or invalid; the message names file and field in one line."""


@dataclass(frozen=True)
class Recording:
    """What may be recorded, and why (a purpose is required for anything switched on)."""

    calls: bool = False
    calls_purpose: str | None = None
    messages: bool = False
    messages_purpose: str | None = None

    @property
    def any(self) -> bool:
        return self.calls or self.messages


@dataclass(frozen=True)
class Retention:
    """Days each kind of data lives (a row goes once it is that old)."""

    recordings: int
    transcripts: int
    messages: int
    calls: int
    appointments_after: int
    audit: int
    remote_deletion_retry_minutes: int
    # Ended waiting-list entries (and their offers), counted from their end.
    waiting_list: int = WAITING_LIST_DAYS
    #: Requests (prescriptions, results, certificates); the messages' days when not given.
    requests: int | None = None

    @property
    def requests_days(self) -> int:
        return self.messages if self.requests is None else self.requests


@dataclass(frozen=True)
class Policy:
    """The checked policy.  Build it with :func:`load_policy`."""

    recording: Recording
    retention: Retention
    transcription_engine: str = "speech"
    #: The ``local`` engine's registered backend (``vosk``...) and its model path.
    local_backend: str | None = None
    local_model: str | None = None
    notices: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    source: str = "recordings_policy.yaml"

    @property
    def message_engine(self) -> str:
        """The engine messages use: never one that records audio when message recording is off."""
        if self.transcription_engine in ("twilio", "local") and not self.recording.messages:
            return "speech"
        return self.transcription_engine

    def notice(self, language: str) -> str:
        """The notice to read in ``language``; the French one when there is none in it.

        Empty only when nothing is recorded and the file gives no notice.
        """
        if language in self.notices:
            return self.notices[language]
        prefix = language.split("-", 1)[0]
        for tag, text in self.notices.items():
            if tag.split("-", 1)[0] == prefix:
                return text
        return self.notices.get(DEFAULT_LANGUAGE, "")


def _section(data: Fields, name: str, fields: tuple[str, ...]) -> Fields:
    """The mapping at ``name``, required, holding only ``fields``."""
    section = data.section(name, required=True)
    section.refuse_unknown(fields, list_known=True)
    return section


def _purpose(section: Fields, name: str, switched_on: bool) -> str | None:
    value = section.get(name)
    if value is not None and not isinstance(value, str):
        section.fail(name, "must be a text or null")
    text = (value or "").strip()
    if switched_on and not text:
        path = section.at(name)
        section.fail(name, f"required when {path.removesuffix('_purpose')} is true (GDPR art. 5)")
    return text or None


def _recording(data: Fields) -> Recording:
    names = ("calls", "calls_purpose", "messages", "messages_purpose")
    section = _section(data, "recording", names)
    calls = section.flag("calls")
    messages = section.flag("messages")
    return Recording(
        calls=calls,
        calls_purpose=_purpose(section, "calls_purpose", calls),
        messages=messages,
        messages_purpose=_purpose(section, "messages_purpose", messages),
    )


def _notices(data: Fields, recording: Recording) -> dict[str, str]:
    raw = data.get("notice", {})
    if not isinstance(raw, dict):
        data.fail("notice", "must be a mapping of language (fr-FR) to text")
    notices: dict[str, str] = {}
    for language, text in raw.items():
        name = f"notice.{language}"
        if not isinstance(language, str) or not _LANGUAGE.fullmatch(language):
            data.fail(name, "not a language tag like fr-FR")
        if not isinstance(text, str) or not text.strip():
            data.fail(name, "must be a non-empty text")
        if len(text) > NOTICE_MAX_CHARS:
            data.fail(name, f"{len(text)} characters, over the {NOTICE_MAX_CHARS} a call can say")
        notices[language] = " ".join(text.split())
    if recording.any and DEFAULT_LANGUAGE not in notices:
        data.fail(f"notice.{DEFAULT_LANGUAGE}", "required when any recording is on (CNIL)")
    return notices


def _engine(data: Fields) -> tuple[str, str | None, str | None]:
    """The engine, and for ``local`` the backend and model the administrator provides."""
    section = _section(data, "transcription", ("engine", "local_backend", "local_model"))
    engine = section.one_of("engine", ENGINES)
    local: list[str | None] = []
    for name in ("local_backend", "local_model"):
        value = section.get(name)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            section.fail(name, "must be a non-empty text")
        local.append(value)
    if engine == "local" and local[0] is None:
        section.fail("local_backend", "required when the engine is local (e.g. vosk)")
    return str(engine), local[0], local[1]


def _retention(data: Fields) -> Retention:
    fields = (*_RETENTION_DAYS, _RETRY_FIELD, _REQUESTS_FIELD, _WAITING_FIELD)
    section = _section(data, "retention_days", fields)
    days = {name: section.whole(name, unit="days") for name in _RETENTION_DAYS}
    if days["recordings"] > RECORDINGS_CAP_DAYS:
        section.fail(
            "recordings",
            f"{days['recordings']} is over the {RECORDINGS_CAP_DAYS}-day cap (CNIL: six months)",
        )
    if days["audit"] < AUDIT_MIN_DAYS:
        section.fail(
            "audit",
            f"{days['audit']} is under the {AUDIT_MIN_DAYS}-day minimum (audit documentation)",
        )
    retry = section.whole(_RETRY_FIELD, unit="minutes")
    if retry < 1:
        # Zero would retry a failing deletion on every run, hammering Twilio.
        section.fail(_RETRY_FIELD, "must be at least 1 minute")
    given = section.get(_REQUESTS_FIELD) is not None
    requests = section.whole(_REQUESTS_FIELD, unit="days") if given else None
    waiting = section.whole(_WAITING_FIELD, default=WAITING_LIST_DAYS, unit="days")
    return Retention(
        **days, remote_deletion_retry_minutes=retry, requests=requests, waiting_list=waiting
    )


def parse_policy(data: object, source: str = "recordings_policy.yaml") -> Policy:
    """Check already-parsed YAML data; ``source`` names the file in errors."""
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: must be a mapping (recording, notice, ...)")
    # Terse wording: "retention_days.audit: required, a whole number of days".
    top = Fields(
        data,
        error=in_file(PolicyError, source),
        missing="required, {what}",
        wrong="required, {what}",
    )
    top.refuse_unknown(("recording", "notice", "transcription", "retention_days"), list_known=True)
    recording = _recording(top)
    engine, local_backend, local_model = _engine(top)
    return Policy(
        recording=recording,
        retention=_retention(top),
        transcription_engine=engine,
        local_backend=local_backend,
        local_model=local_model,
        notices=MappingProxyType(_notices(top, recording)),
        source=source,
    )


def load_policy(path: str | os.PathLike[str] = DEFAULT_POLICY_FILE) -> Policy:
    """Read and check the policy file; raises :class:`PolicyError` naming file and field."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(f"{source}: not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{source}: cannot be read ({exc.__class__.__name__})") from None
    try:
        # A key given twice is refused: the last one would silently win.
        data = parse_yaml(text, unique_keys=True)
    except NotYaml as exc:
        raise PolicyError(f"{source}: {exc}") from None
    return parse_policy(data, source)
