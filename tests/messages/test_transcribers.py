"""Local transcription backends: the registry, clear errors, the audio format."""

from __future__ import annotations

import io
import wave

import pytest

from callcenter.messages.transcribers import (
    BACKENDS,
    TranscriberUnavailable,
    load_transcriber,
    pcm_frames,
)
from callcenter.services import StartupError, build_services
from tests.fake_transcriber import text_wav


def test_the_shipped_backends_are_registered_by_name():
    assert {"vosk", "faster-whisper", "text-in-wav"} <= set(BACKENDS)


def test_an_unknown_backend_is_named_in_the_error():
    with pytest.raises(TranscriberUnavailable, match="'whisperx' is not one of"):
        load_transcriber("whisperx", None)


@pytest.mark.parametrize("backend", ["vosk", "faster-whisper"])
def test_a_real_backend_without_its_package_or_model_says_what_is_missing(backend, tmp_path):
    with pytest.raises(TranscriberUnavailable) as caught:
        load_transcriber(backend, str(tmp_path / "missing-model"))
    message = str(caught.value)
    assert "pip install" in message or "local_model" in message


def test_a_generated_recording_reads_back():
    rate, frames = pcm_frames(text_wav("bonjour"))
    assert rate == 8000 and frames.decode().strip() == "bonjour"
    assert load_transcriber("text-in-wav", None).transcribe(text_wav("bonjour"), "fr-FR") == (
        "bonjour"
    )


def test_stereo_audio_is_refused():
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as audio:
        audio.setnchannels(2)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(b"\0" * 16)
    with pytest.raises(ValueError, match="mono"):
        pcm_frames(buffer.getvalue())


@pytest.fixture
def transcription_engine() -> str:
    return "local"


def test_start_up_refuses_a_local_engine_whose_backend_is_unknown(settings):
    text = settings.policy_file.read_text().replace("text-in-wav", "nonesuch")
    settings.policy_file.write_text(text)
    with pytest.raises(StartupError, match="local_backend: 'nonesuch' is not one of"):
        build_services(settings)
