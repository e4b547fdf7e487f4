"""Logging without personal data.

One structlog chain for our events and for the standard library's loggers
(werkzeug, sqlalchemy, apscheduler, twilio).  :func:`redact` runs before the
renderer: personal fields are dropped by name, and anything that looks like a
phone number, a date of birth or a recording URL is masked in every value,
and so is the secret token of a calendar feed's path (``/calendar/<token>.ics``),
which request logs would otherwise print whole.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

MASK = "[redacted]"

# Field names whose values never reach a log line (compared lower-cased).
PERSONAL_FIELDS = frozenset(
    {
        "from",
        "to",
        "caller",
        "called",
        "callername",
        "forwardedfrom",
        "digits",
        "speechresult",
        "unstablespeechresult",
        "stablespeechresult",
        "transcriptiontext",
        "transcriptiondata",
        "recordingurl",
        "transcriptionurl",
        "body",
        "phone",
        "phone_number",
        "number",
        "from_number",
        "to_number",
        "name",
        "first_name",
        "last_name",
        "dob",
        "birth_date",
        "date_of_birth",
        "transcript",
        "message",
        "speech",
        "callback_number",
        "auth_token",
        "token",
        "password",
        "signature",
        "x-twilio-signature",
        "cookie",
        "secret",
        "key",
    }
)

_PERSONAL_KEYS = frozenset(f.replace("_", "").replace("-", "") for f in PERSONAL_FIELDS)

# A calendar feed's path carries its credential: everything after /calendar/ goes.
_FEED_PATH = re.compile(r"(/calendar/)[^\s\"'?#\\]+")

_PATTERNS = [
    # Recording and media URLs (they open the audio) and any URL with credentials.
    re.compile(r"https?://[^\s\"']*(?:/Recordings/|/Transcriptions/|/Media/)[^\s\"']*", re.I),
    re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s/:@]*:[^\s/@]+@[^\s\"']*", re.I),
    # Phone numbers: seven digits or more, possibly with +, spaces, dots or dashes,
    # also URL-encoded ("From=%2B336...") as in a request line.
    re.compile(r"%2B\d(?:[\s.\-]?\d){6,}", re.I),
    re.compile(r"\+\d(?:[\s.\-]?\d){6,}"),  # "+336…" even glued to a word
    re.compile(r"(?<![\w])\+?\d(?:[\s.\-]?\d){6,}(?![\w])"),
    # Dates as callers key them or speak them.
    re.compile(r"\b\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}\b"),
    re.compile(r"\b\d{4}-\d{2}-\d{2}\b"),
]
# Timestamps (ISO 8601 or with a space) are operational, not personal: they are
# set aside before masking so that their digits are not taken for a number.
_TIMESTAMP = re.compile(
    r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
)


# Every pattern above needs a digit, "://" or "/calendar/": most values (event and route
# names, node keys, outcomes) hold none and skip the passes below.
_MAYBE_PERSONAL = re.compile(r"\d|://|/calendar/")


def _mask_plain(text: str) -> str:
    text = _FEED_PATH.sub(rf"\g<1>{MASK}", text)
    for pattern in _PATTERNS:
        text = pattern.sub(MASK, text)
    return text


def _personal(name: object) -> bool:
    """Field names compared lower-cased, without '_' or '-': speech_result = SpeechResult."""
    return str(name).lower().replace("_", "").replace("-", "") in _PERSONAL_KEYS


# An event's own field names come from the code (keyword arguments), a few dozen in all:
# decided once each.  Keys inside values may be data, so they are never kept.
_personal_field = functools.lru_cache(maxsize=512)(_personal)


def mask_text(text: str) -> str:
    """Mask numbers, dates and sensitive URLs; timestamps are kept as they are."""
    if not _MAYBE_PERSONAL.search(text):
        return text
    parts: list[str] = []
    last = 0
    for match in _TIMESTAMP.finditer(text):
        parts.append(_mask_plain(text[last : match.start()]))
        parts.append(match.group(0))
        last = match.end()
    parts.append(_mask_plain(text[last:]))
    return "".join(parts)


def _clean(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if depth > 4:
        return MASK
    if isinstance(value, dict):
        return {
            mask_text(str(k)): MASK if _personal(k) else _clean(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set):
        return [_clean(v, depth + 1) for v in value]
    return value


def redact(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> Any:
    """structlog processor: personal fields dropped by name, patterns masked in values."""
    for key in list(event_dict):
        if _personal_field(key):
            event_dict[key] = MASK
        elif key == "exc_info":
            continue
        else:
            event_dict[key] = _clean(event_dict[key])
    return event_dict


def _mask_rendered(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> Any:
    # Tracebacks are rendered into "exception" by format_exc_info: mask them too.
    if isinstance(event_dict.get("exception"), str):
        event_dict["exception"] = mask_text(event_dict["exception"])
    return event_dict


class _HandOver:
    """The stdlib logger our events go to, without the caller's frame looked up.

    ``logging.Logger._log`` walks the stack for the caller's file and line, which
    no renderer of ours prints (a webhook's stack is deep): the record is made and
    handled directly, through the same levels, filters and handlers.
    """

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self.name = logger.name

    def _emit(self, level: int, msg: Any, *args: Any, **kw: Any) -> None:
        if not self._logger.isEnabledFor(level):
            return
        exc_info = kw.get("exc_info")
        if exc_info and not isinstance(exc_info, tuple):
            exc_info = sys.exc_info() if exc_info is True else None
        record = self._logger.makeRecord(self.name, level, "(structlog)", 0, msg, args,
                                         exc_info or None, None, kw.get("extra"))  # fmt: skip
        self._logger.handle(record)

    def debug(self, msg: Any, *args: Any, **kw: Any) -> None:
        self._emit(logging.DEBUG, msg, *args, **kw)

    def info(self, msg: Any, *args: Any, **kw: Any) -> None:
        self._emit(logging.INFO, msg, *args, **kw)

    def warning(self, msg: Any, *args: Any, **kw: Any) -> None:
        self._emit(logging.WARNING, msg, *args, **kw)

    def error(self, msg: Any, *args: Any, **kw: Any) -> None:
        self._emit(logging.ERROR, msg, *args, **kw)

    def critical(self, msg: Any, *args: Any, **kw: Any) -> None:
        self._emit(logging.CRITICAL, msg, *args, **kw)

    warn = warning
    exception = error
    fatal = critical

    def __getattr__(self, name: str) -> Any:  # level, handlers...: the stdlib logger's
        return getattr(self._logger, name)


def _hand_over(*args: Any) -> _HandOver:
    return _HandOver(structlog.stdlib.LoggerFactory()(*args))


def configure(log_format: str = "console", level: int = logging.INFO, stream: Any = None) -> None:
    """Route structlog and stdlib logging through one redacting chain."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        redact,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        _mask_rendered,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=_hand_over,
        wrapper_class=structlog.stdlib.BoundLogger,
        # A logger binds its processors once, at its first event, not at every event; the
        # chain up to the stdlib hand-over is the same at every configure(), and the
        # stream is the stdlib handler's, replaced by configure(): caching is safe.
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_callcenter", False):
            root.removeHandler(old)
    handler._callcenter = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # Twilio's client logs request bodies (SMS texts) at DEBUG and INFO: keep it quiet.
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
    # Alembic says which dialect it found at every start: noise above the demo's welcome.
    logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)


def get_logger(name: str = "callcenter") -> Any:
    return structlog.get_logger(name)
