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
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

import yaml

from callcenter.config.settings import DEFAULT_POLICY_FILE

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


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate keys (the last one would silently win)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, Hashable):
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


class _Checker:
    """Reads one file's data, failing with ``<file>: <field>: <what is wrong>``."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, name: str, detail: str) -> NoReturn:
        raise PolicyError(f"{self.source}: {name}: {detail}")

    def section(
        self, data: Mapping[str, Any], name: str, fields: tuple[str, ...]
    ) -> Mapping[str, Any]:
        """A mapping at ``name`` holding only ``fields``."""
        value = data.get(name)
        if not isinstance(value, dict):
            self.fail(name, "required, a mapping")
        self.known(value, fields, prefix=f"{name}.")
        return value

    def known(self, data: Mapping[Any, Any], fields: tuple[str, ...], prefix: str = "") -> None:
        for key in data:
            if key not in fields:
                self.fail(f"{prefix}{key}", f"unknown field (expected: {', '.join(fields)})")

    def flag(self, data: Mapping[str, Any], name: str, path: str) -> bool:
        value = data.get(name)
        if not isinstance(value, bool):
            self.fail(path, "required, true or false")
        return value

    def purpose(
        self, data: Mapping[str, Any], name: str, switched_on: bool, path: str
    ) -> str | None:
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            self.fail(path, "must be a text or null")
        text = (value or "").strip()
        if switched_on and not text:
            self.fail(path, f"required when {path.removesuffix('_purpose')} is true (GDPR art. 5)")
        return text or None

    def whole(self, data: Mapping[str, Any], name: str, path: str, unit: str) -> int:
        if name not in data:
            self.fail(path, f"required, a whole number of {unit}")
        value = data[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.fail(path, f"{value!r} is not a whole number of {unit} (0 or more)")
        return value


def _recording(check: _Checker, data: Mapping[str, Any]) -> Recording:
    names = ("calls", "calls_purpose", "messages", "messages_purpose")
    section = check.section(data, "recording", names)
    calls = check.flag(section, "calls", "recording.calls")
    messages = check.flag(section, "messages", "recording.messages")
    return Recording(
        calls=calls,
        calls_purpose=check.purpose(section, "calls_purpose", calls, "recording.calls_purpose"),
        messages=messages,
        messages_purpose=check.purpose(
            section, "messages_purpose", messages, "recording.messages_purpose"
        ),
    )


def _notices(check: _Checker, data: Mapping[str, Any], recording: Recording) -> dict[str, str]:
    raw = data.get("notice")
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        check.fail("notice", "must be a mapping of language (fr-FR) to text")
    notices: dict[str, str] = {}
    for language, text in raw.items():
        name = f"notice.{language}"
        if not isinstance(language, str) or not _LANGUAGE.fullmatch(language):
            check.fail(name, "not a language tag like fr-FR")
        if not isinstance(text, str) or not text.strip():
            check.fail(name, "must be a non-empty text")
        if len(text) > NOTICE_MAX_CHARS:
            check.fail(name, f"{len(text)} characters, over the {NOTICE_MAX_CHARS} a call can say")
        notices[language] = " ".join(text.split())
    if recording.any and DEFAULT_LANGUAGE not in notices:
        check.fail(f"notice.{DEFAULT_LANGUAGE}", "required when any recording is on (CNIL)")
    return notices


def _engine(check: _Checker, data: Mapping[str, Any]) -> tuple[str, str | None, str | None]:
    """The engine, and for ``local`` the backend and model the administrator provides."""
    section = check.section(data, "transcription", ("engine", "local_backend", "local_model"))
    engine = section.get("engine")
    if engine not in ENGINES:
        check.fail("transcription.engine", f"{engine!r} is not one of {', '.join(ENGINES)}")
    local: list[str | None] = []
    for name in ("local_backend", "local_model"):
        value = section.get(name)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            check.fail(f"transcription.{name}", "must be a non-empty text")
        local.append(value)
    if engine == "local" and local[0] is None:
        check.fail("transcription.local_backend", "required when the engine is local (e.g. vosk)")
    return str(engine), local[0], local[1]


def _retention(check: _Checker, data: Mapping[str, Any]) -> Retention:
    section = check.section(data, "retention_days", (*_RETENTION_DAYS, _RETRY_FIELD))
    days = {
        name: check.whole(section, name, f"retention_days.{name}", "days")
        for name in _RETENTION_DAYS
    }
    if days["recordings"] > RECORDINGS_CAP_DAYS:
        check.fail(
            "retention_days.recordings",
            f"{days['recordings']} is over the {RECORDINGS_CAP_DAYS}-day cap (CNIL: six months)",
        )
    if days["audit"] < AUDIT_MIN_DAYS:
        check.fail(
            "retention_days.audit",
            f"{days['audit']} is under the {AUDIT_MIN_DAYS}-day minimum (audit documentation)",
        )
    retry = check.whole(section, _RETRY_FIELD, f"retention_days.{_RETRY_FIELD}", "minutes")
    if retry < 1:
        # Zero would retry a failing deletion on every run, hammering Twilio.
        check.fail(f"retention_days.{_RETRY_FIELD}", "must be at least 1 minute")
    return Retention(**days, remote_deletion_retry_minutes=retry)


def parse_policy(data: object, source: str = "recordings_policy.yaml") -> Policy:
    """Check already-parsed YAML data; ``source`` names the file in errors."""
    check = _Checker(source)
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: must be a mapping (recording, notice, ...)")
    check.known(data, ("recording", "notice", "transcription", "retention_days"))
    recording = _recording(check, data)
    engine, local_backend, local_model = _engine(check, data)
    return Policy(
        recording=recording,
        retention=_retention(check, data),
        transcription_engine=engine,
        local_backend=local_backend,
        local_model=local_model,
        notices=MappingProxyType(_notices(check, data, recording)),
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
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        line = f" at line {exc.problem_mark.line + 1}" if exc.problem_mark else ""
        raise PolicyError(f"{source}: not valid YAML{line} ({exc.problem})") from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"{source}: not valid YAML ({exc.__class__.__name__})") from None
    return parse_policy(data, source)
