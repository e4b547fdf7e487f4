"""The recordings policy: the shipped file is valid, and every bad value stops start-up
with one line naming the file and the field (docs/configuration/recordings-policy.md)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from callcenter.config.policy import (
    DEFAULT_POLICY_FILE,
    Policy,
    PolicyError,
    load_policy,
    parse_policy,
)


def shipped() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DEFAULT_POLICY_FILE.read_text(encoding="utf-8"))
    return data


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "recordings_policy.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def changed(path: str, value: object) -> dict[str, Any]:
    """The shipped data with one field (dotted path) set; a value of ... deletes it."""
    data = copy.deepcopy(shipped())
    *parents, last = path.split(".")
    target = data
    for name in parents:
        target = target[name]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return data


def test_the_shipped_policy_is_valid_and_private_by_default() -> None:
    """Whole calls are not recorded; message audio lives a day; a French notice exists."""
    policy = load_policy()
    assert policy.source == str(DEFAULT_POLICY_FILE)
    assert not policy.recording.calls and policy.recording.calls_purpose is None
    assert policy.recording.messages and policy.recording.messages_purpose
    assert policy.transcription_engine == "speech"
    r = policy.retention
    assert (r.recordings, r.transcripts, r.messages, r.calls) == (1, 90, 90, 180)
    assert (r.appointments_after, r.audit, r.remote_deletion_retry_minutes) == (365, 2190, 15)


def test_the_notice_names_controller_purpose_recipients_rights_and_the_refusal_key() -> None:
    """CNIL: inform before recording — controller, purpose, recipients, rights, how to refuse."""
    notice = load_policy().notice("fr-FR").lower()
    for words in (
        "responsable",
        "message",
        "médecins",
        "accès",
        "rectification",
        "opposition",
        "refuser l'enregistrement",
        "touche",
    ):
        assert words in notice
    assert "\n" not in notice and len(notice) < 4000


def test_a_missing_language_falls_back_to_french(tmp_path: Path) -> None:
    data = changed("notice", {"fr-FR": "Bonjour.", "en-US": "Hello."})
    policy = load_policy(write(tmp_path, data))
    assert policy.notice("en-US") == "Hello."
    assert policy.notice("en-GB") == "Hello."  # same language, other region
    assert policy.notice("fr-CA") == "Bonjour."
    assert policy.notice("de-DE") == "Bonjour."


def test_without_recording_a_notice_is_optional(tmp_path: Path) -> None:
    data = changed("recording.messages", False)
    del data["notice"]
    assert load_policy(write(tmp_path, data)).notice("fr-FR") == ""


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        (
            "retention_days.recordings",
            400,
            "retention_days.recordings: 400 is over the 183-day cap (CNIL: six months)",
        ),
        (
            "retention_days.recordings",
            184,
            "retention_days.recordings: 184 is over the 183-day cap (CNIL: six months)",
        ),
        ("retention_days.audit", 179, "retention_days.audit: 179 is under the 180-day minimum"),
        ("retention_days.messages", -1, "retention_days.messages: -1 is not a whole number"),
        ("retention_days.messages", 1.5, "retention_days.messages: 1.5 is not a whole number"),
        ("retention_days.messages", "90", "retention_days.messages: '90' is not a whole number"),
        ("retention_days.calls", True, "retention_days.calls: True is not a whole number"),
        ("retention_days.transcripts", ..., "retention_days.transcripts: required"),
        (
            "retention_days.remote_deletion_retry_minutes",
            0,
            "retention_days.remote_deletion_retry_minutes: must be at least 1 minute",
        ),
        ("retention_days.recording", 1, "retention_days.recording: unknown field"),
        ("recording.calls", True, "recording.calls_purpose: required when recording.calls"),
        (
            "recording.messages_purpose",
            "  ",
            "recording.messages_purpose: required when recording.messages",
        ),
        ("recording.messages", "yes please", "recording.messages: required, true or false"),
        ("recording.video", True, "recording.video: unknown field"),
        ("transcription.engine", "whisper", "transcription.engine: 'whisper' is not one of"),
        ("notice.fr-FR", ..., "notice.fr-FR: required when any recording is on"),
        ("notice.fr-FR", "", "notice.fr-FR: must be a non-empty text"),
        ("notice.french", "Bonjour", "notice.french: not a language tag"),
        ("notice.fr-FR", "x" * 4001, "notice.fr-FR: 4001 characters"),
        ("retention", {"calls": 1}, "retention: unknown field"),
        ("transcription", ..., "transcription: required, a mapping"),
    ],
)
def test_a_bad_value_names_the_file_and_the_field(
    tmp_path: Path, field: str, value: object, expected: str
) -> None:
    path = write(tmp_path, changed(field, value))
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {expected}")
    assert "\n" not in message


def test_the_cap_itself_is_allowed(tmp_path: Path) -> None:
    """183 days of recordings and 180 days of audit are the limits, not over them."""
    data = changed("retention_days.recordings", 183)
    data["retention_days"]["audit"] = 180
    policy = load_policy(write(tmp_path, data))
    assert (policy.retention.recordings, policy.retention.audit) == (183, 180)


def test_a_zero_day_policy_is_valid(tmp_path: Path) -> None:
    """Zero means delete at the next purge (audit excepted: it has a floor)."""
    data = shipped()
    data["retention_days"] = {name: 0 for name in data["retention_days"]}
    data["retention_days"].update(audit=180, remote_deletion_retry_minutes=1)
    policy = load_policy(write(tmp_path, data))
    assert policy.retention.messages == policy.retention.recordings == 0


def test_a_relative_path_is_named_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, changed("retention_days.recordings", 400))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PolicyError) as caught:
        load_policy("recordings_policy.yaml")
    assert str(caught.value) == (
        "recordings_policy.yaml: retention_days.recordings: 400 is over the 183-day cap "
        "(CNIL: six months)"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("recording: [unclosed", "not valid YAML at line"),
        ("- a\n- b\n", "must be a mapping"),
        ("", "must be a mapping"),
        ("recording:\n  calls: false\nrecording:\n  calls: true\n", "duplicate key 'recording'"),
    ],
)
def test_a_malformed_file_is_refused_in_one_line(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "recordings_policy.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert str(caught.value).startswith(str(path)) and expected in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(PolicyError, match=r"nowhere\.yaml: not found"):
        load_policy(path)


def test_a_policy_is_immutable() -> None:
    policy = parse_policy(shipped())
    assert isinstance(policy, Policy)
    with pytest.raises(AttributeError):
        policy.retention.recordings = 400  # type: ignore[misc]
    with pytest.raises(TypeError):
        policy.notices["fr-FR"] = "autre"  # type: ignore[index]


# -- the transcription engine (messages) -------------------------------------------


def test_the_local_engine_needs_a_backend_named(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"transcription.local_backend: required"):
        load_policy(write(tmp_path, changed("transcription.engine", "local")))


def test_the_local_engine_reads_its_backend_and_model(tmp_path: Path) -> None:
    data = changed("transcription.engine", "local")
    data["transcription"].update(local_backend="vosk", local_model="/srv/models/fr")
    policy = load_policy(write(tmp_path, data))
    assert (policy.local_backend, policy.local_model) == ("vosk", "/srv/models/fr")
    assert policy.message_engine == "local"


def test_an_empty_model_path_is_refused(tmp_path: Path) -> None:
    data = changed("transcription.local_model", " ")
    with pytest.raises(PolicyError, match=r"transcription.local_model: must be a non-empty text"):
        load_policy(write(tmp_path, data))


@pytest.mark.parametrize("engine", ["twilio", "local"])
def test_with_message_recording_off_no_engine_records_audio(tmp_path: Path, engine: str) -> None:
    """recording.messages false: the engines that record fall back to speech (no audio)."""
    data = changed("recording.messages", False)
    data["transcription"].update(engine=engine, local_backend="vosk")
    assert load_policy(write(tmp_path, data)).message_engine == "speech"


def test_realtime_records_nothing_and_stays_when_message_recording_is_off(tmp_path: Path) -> None:
    data = changed("recording.messages", False)
    data["transcription"]["engine"] = "realtime"
    assert load_policy(write(tmp_path, data)).message_engine == "realtime"


def test_the_waiting_list_period_is_read_and_defaults_for_older_files() -> None:
    data = shipped()
    assert parse_policy(data).retention.waiting_list == 30
    del data["retention_days"]["waiting_list"]
    assert parse_policy(data).retention.waiting_list == 30  # a file older than the list
    data["retention_days"]["waiting_list"] = 7
    assert parse_policy(data).retention.waiting_list == 7
