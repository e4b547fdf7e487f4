"""A generated "model" for the local engine: the WAV's samples are the UTF-8 words.

Registered as the ``text-in-wav`` backend exactly as ``vosk`` is, so the
local engine's whole path (fetch from the REST API, transcribe, store, delete)
runs without a real model; only the model-dependent test needs one.
"""

from __future__ import annotations

import io
import wave

from callcenter.messages.transcribers import pcm_frames, transcriber


def text_wav(words: str, rate: int = 8000) -> bytes:
    """A valid 16-bit mono WAV (Twilio's format) whose samples spell ``words``."""
    data = words.encode()
    if len(data) % 2:
        data += b" "
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(rate)
        audio.writeframes(data)
    return buffer.getvalue()


@transcriber("text-in-wav")
class TextInWav:
    """Reads the words back; a WAV that holds no UTF-8 fails as a real model would."""

    def __init__(self, model: str | None) -> None:
        self.model = model

    def transcribe(self, wav: bytes, language: str) -> str:
        _, frames = pcm_frames(wav)
        return frames.decode("utf-8").strip()
