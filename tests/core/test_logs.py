"""Logs without personal data, checked on the rendered output of both structlog and stdlib."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
import structlog
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.core import logs

Configure = Callable[[str], io.StringIO]
MASK = "[redacted]"
CALL_SID = "CA" + "0123456789abcdef" * 2
RECORDING_URL = (
    "https://api.twilio.com/2010-04-01/Accounts/AC" + "1" * 32 + "/Recordings/RE" + "2" * 32
)


@pytest.fixture
def configured() -> Iterator[Configure]:
    """configure(log_format, stream=StringIO); logging is put back as it was afterwards."""
    root = logging.getLogger()
    ours_before = [h for h in root.handlers if getattr(h, "_callcenter", False)]
    level_before = root.level
    twilio = logging.getLogger("twilio.http_client")
    twilio_level_before = twilio.level
    structlog_before = structlog.get_config()

    def setup(log_format: str = "json") -> io.StringIO:
        stream = io.StringIO()
        logs.configure(log_format=log_format, stream=stream)
        return stream

    yield setup
    for handler in list(root.handlers):
        if getattr(handler, "_callcenter", False):
            root.removeHandler(handler)
    for handler in ours_before:
        root.addHandler(handler)
    root.setLevel(level_before)
    twilio.setLevel(twilio_level_before)
    structlog.configure(**structlog_before)
    structlog.contextvars.clear_contextvars()


def records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def werkzeug() -> logging.Logger:
    return logging.getLogger("werkzeug")


# --- personal fields -------------------------------------------------------------------------

PERSONAL = {
    "From": "+33612345678",
    "To": "+33184880000",
    "Caller": "+33612345678",
    "SpeechResult": "je suis Jean Dupont",
    "Digits": "1985",
    "TranscriptionText": "rappelez Jean Dupont",
    "RecordingUrl": RECORDING_URL,
    "phone": "0612345678",
    "name": "Jean Dupont",
    "dob": "12/03/1985",
    "transcript": "Bonjour, Jean Dupont",
}


def test_personal_fields_are_replaced_by_the_mask(configured: Configure) -> None:
    """Fields named like caller data are rendered as '[redacted]', whatever their value."""
    stream = configured("json")
    structlog.get_logger().info("webhook", **PERSONAL)
    (record,) = records(stream)
    for field in PERSONAL:
        assert record[field] == MASK, field
    assert "Dupont" not in stream.getvalue()
    assert "1985" not in stream.getvalue()


def test_personal_fields_inside_a_mapping_are_masked(configured: Configure) -> None:
    """A logged request form keeps CallSid but loses From and SpeechResult."""
    stream = configured("json")
    form = {"CallSid": CALL_SID, "From": "+33612345678", "SpeechResult": "Jean Dupont"}
    structlog.get_logger().info("form", params=form)
    (record,) = records(stream)
    assert record["params"] == {"CallSid": CALL_SID, "From": MASK, "SpeechResult": MASK}


def test_personal_fields_bound_to_the_context_are_masked(configured: Configure) -> None:
    """Context variables pass through the same redaction."""
    stream = configured("json")
    structlog.contextvars.bind_contextvars(Caller="+33612345678", call_sid=CALL_SID)
    structlog.get_logger().info("answered")
    (record,) = records(stream)
    assert record["Caller"] == MASK
    assert record["call_sid"] == CALL_SID


# --- patterns in free text -------------------------------------------------------------------

PHONES = ["+33612345678", "06 12 34 56 78", "06.12.34.56.78", "06-12-34-56-78", "0033612345678"]
DATES = ["12/03/1985", "1985-03-12", "12.03.1985", "12-03-85"]


@pytest.mark.parametrize("number", PHONES)
def test_phone_numbers_in_structlog_text_are_masked(configured: Configure, number: str) -> None:
    """A number in the event or in any text field is masked."""
    stream = configured("json")
    structlog.get_logger().info(f"rappeler le {number}", note=f"patient au {number} ce soir")
    (record,) = records(stream)
    assert record["event"] == f"rappeler le {MASK}"
    assert record["note"] == f"patient au {MASK} ce soir"
    assert number not in stream.getvalue()


@pytest.mark.parametrize("number", PHONES)
def test_phone_numbers_in_stdlib_messages_are_masked(configured: Configure, number: str) -> None:
    """A library logger's message, %-arguments merged, is masked too."""
    stream = configured("json")
    werkzeug().warning("call from %s refused", number)
    (record,) = records(stream)
    assert record["event"] == f"call from {MASK} refused"
    assert record["logger"] == "werkzeug"
    assert number not in stream.getvalue()


@pytest.mark.parametrize("day", DATES)
def test_dates_of_birth_are_masked(configured: Configure, day: str) -> None:
    """A date as a caller keys or speaks it never reaches the log."""
    stream = configured("json")
    structlog.get_logger().info("lookup", note=f"né le {day}")
    werkzeug().info("born %s", day)
    first, second = records(stream)
    assert first["note"] == f"né le {MASK}"
    assert second["event"] == f"born {MASK}"
    assert day not in stream.getvalue()


def test_a_twilio_recording_url_is_masked(configured: Configure) -> None:
    """Recording URLs open the audio: masked wherever they appear."""
    stream = configured("json")
    structlog.get_logger().info("recorded", detail=f"saved {RECORDING_URL}.mp3 ok")
    werkzeug().info("GET %s", RECORDING_URL)
    first, second = records(stream)
    assert first["detail"] == f"saved {MASK} ok"
    assert second["event"] == f"GET {MASK}"
    assert "/Recordings/" not in stream.getvalue()


def test_a_url_with_credentials_is_masked(configured: Configure) -> None:
    """user:password@ URLs (database, proxies) are masked."""
    stream = configured("json")
    structlog.get_logger().info("db", target="postgresql://cc:s3cr3t@db.example.test:5432/cc")
    werkzeug().info("proxy https://bob:hunter2@proxy.example.test/ in use")
    assert "s3cr3t" not in stream.getvalue()
    assert "hunter2" not in stream.getvalue()
    first, second = records(stream)
    assert first["target"] == MASK
    assert second["event"] == f"proxy {MASK} in use"


def test_a_traceback_from_structlog_is_masked(configured: Configure) -> None:
    """An exception message holding a number is masked in the rendered traceback."""
    stream = configured("json")
    try:
        raise LookupError("no patient for +33612345678")
    except LookupError:
        structlog.get_logger().exception("lookup_failed")
    (record,) = records(stream)
    assert "Traceback" in record["exception"]
    assert f"LookupError: no patient for {MASK}" in record["exception"]
    assert "+33612345678" not in stream.getvalue()


def test_a_traceback_from_a_stdlib_logger_is_masked(configured: Configure) -> None:
    """werkzeug's 'Error on request' tracebacks are masked too."""
    stream = configured("json")
    try:
        raise ValueError("bad caller 06 12 34 56 78")
    except ValueError:
        werkzeug().exception("Error on request")
    (record,) = records(stream)
    assert f"ValueError: bad caller {MASK}" in record["exception"]
    assert "06 12 34 56 78" not in stream.getvalue()


# --- what stays ------------------------------------------------------------------------------


def test_call_sids_latencies_and_iso_timestamps_are_kept(configured: Configure) -> None:
    """The log stays useful: identifiers, numbers and ISO instants are not masked."""
    stream = configured("json")
    at = "2026-11-24T09:30:00+00:00"
    structlog.get_logger().info(
        "step_done", call_sid=CALL_SID, latency_ms=1234.5, status=200, at=at, detail=f"{CALL_SID}"
    )
    werkzeug().info("call %s took 842 ms at %s", CALL_SID, "2026-11-24T09:30:00Z")
    first, second = records(stream)
    assert first["call_sid"] == CALL_SID
    assert first["detail"] == CALL_SID
    assert first["latency_ms"] == 1234.5
    assert first["status"] == 200
    assert first["at"] == at
    assert second["event"] == f"call {CALL_SID} took 842 ms at 2026-11-24T09:30:00Z"
    for record in (first, second):
        assert datetime.fromisoformat(record["timestamp"]).tzinfo is not None
        assert record["level"] == "info"
    assert MASK not in stream.getvalue()


def test_an_iso_timestamp_with_microseconds_is_kept(configured: Configure) -> None:
    """datetime.now(UTC).isoformat() carries microseconds; it is not a phone number."""
    stream = configured("json")
    at = "2026-11-24T09:30:00.123456+00:00"
    structlog.get_logger().info("step_done", at=at)
    (record,) = records(stream)
    assert record["at"] == at


def test_a_timestamp_written_with_a_space_is_kept(configured: Configure) -> None:
    """str(datetime) is ISO 8601 with a space; it is not a phone number."""
    stream = configured("json")
    logging.getLogger("apscheduler.scheduler").info(
        "Next wakeup is due at %s", datetime(2026, 11, 24, 10, 0)
    )
    (record,) = records(stream)
    assert record["event"] == "Next wakeup is due at 2026-11-24 10:00:00"


def test_a_url_encoded_number_in_a_request_line_is_masked(configured: Configure) -> None:
    """A webhook called by GET puts From in the query string the access log prints."""
    stream = configured("json")
    werkzeug().info(
        '%s - - "%s" %s -', "127.0.0.1", "GET /twilio/voice?From=%2B33612345678 HTTP/1.1", 200
    )
    assert "33612345678" not in stream.getvalue()


def test_the_twilio_client_info_logs_are_silenced(configured: Configure) -> None:
    """twilio.http_client logs request bodies at INFO: only warnings pass."""
    stream = configured("json")
    logging.getLogger("twilio.http_client").info("POST /Messages Body=Bonjour Jean")
    assert stream.getvalue() == ""


# --- console format --------------------------------------------------------------------------


def test_the_console_format_renders_and_redacts(configured: Configure) -> None:
    """Human-readable lines, with the same masking as JSON."""
    stream = configured("console")
    structlog.get_logger().info("answered", From="+33612345678", call_sid=CALL_SID)
    werkzeug().info("call from 06 12 34 56 78")
    try:
        raise ValueError("bad caller 06.12.34.56.78")
    except ValueError:
        structlog.get_logger().exception("failed")
    output = stream.getvalue()
    assert "answered" in output
    assert f"From={MASK}" in output
    assert f"call_sid={CALL_SID}" in output
    assert f"call from {MASK}" in output
    assert f"ValueError: bad caller {MASK}" in output
    for number in ("+33612345678", "06 12 34 56 78", "06.12.34.56.78"):
        assert number not in output
    with pytest.raises(json.JSONDecodeError):
        json.loads(output.splitlines()[0])


def test_configuring_twice_keeps_a_single_handler(configured: Configure) -> None:
    """Re-configuring replaces the previous handler: no line is written twice."""
    first = configured("json")
    second = configured("json")
    structlog.get_logger().info("once")
    assert first.getvalue() == ""
    assert len(records(second)) == 1


def test_field_names_match_whatever_their_spelling(configured):
    """speech_result, Speech-Result and SpeechResult are all the same personal field."""
    stream = configured()
    structlog.get_logger().info("heard", speech_result="Jean Dupont", **{"Speech-Result": "Zoé"})
    assert "Jean Dupont" not in stream.getvalue() and "Zoé" not in stream.getvalue()


def test_a_number_glued_to_a_word_is_masked(configured):
    stream = configured()
    structlog.get_logger().info("raw", detail="From+33612345678To+33184880000")
    output = stream.getvalue()
    assert "612345678" not in output and "184880000" not in output


def _masked_the_long_way(text: str) -> str:
    """mask_text without its shortcut: every pattern on every part."""
    parts, last = [], 0
    for match in logs._TIMESTAMP.finditer(text):
        parts += [logs._mask_plain(text[last : match.start()]), match.group(0)]
        last = match.end()
    return "".join([*parts, logs._mask_plain(text[last:])])


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(list("0123456789+-./: %2Bé٣۶")),
            st.sampled_from(["https://", "/calendar/", "/Recordings/", "user:pw@", "T"]),
            st.characters(blacklist_categories=["Cs"]),
        ),
        max_size=40,
    ).map("".join)
)
def test_the_shortcut_for_values_without_digits_or_urls_masks_the_same(text: str) -> None:
    """Values skipped by the shortcut are exactly those no pattern could have changed."""
    assert logs.mask_text(text) == _masked_the_long_way(text)


def test_our_events_keep_the_standard_levels_and_reach_every_handler(configured: Configure) -> None:
    """Handed to the stdlib logger directly: its level still filters, other handlers still hear."""
    stream = configured("json")
    heard: list[logging.LogRecord] = []
    other = logging.Handler()
    other.emit = heard.append  # type: ignore[method-assign]
    root = logging.getLogger()
    root.addHandler(other)
    try:
        root.setLevel(logging.WARNING)
        structlog.get_logger("callcenter.test").info("quiet_event")
        structlog.get_logger("callcenter.test").warning("loud_event", call_sid=CALL_SID)
    finally:
        root.removeHandler(other)
    assert [r["event"] for r in records(stream)] == ["loud_event"]
    assert [r.levelno for r in heard] == [logging.WARNING]
