"""Local transcription (``local`` engine): recordings become text on the practice's machine.

The worker fetches each recording from Twilio (REST, Basic auth), hands the
WAV to a backend, stores the transcript encrypted and deletes the recording
at Twilio at once.  The audio is held in memory only: it is never written to
this machine's disk, so nothing is left to delete here once the transcript
is stored.  No third party sees the text.

A backend is a small class registered by name with :func:`transcriber`; the
recordings policy names it (``transcription.local_backend``) with the model
the administrator provides (``local_model``), never an import path.  The
shipped backends are optional extras: ``vosk`` (``pip install
'callcenter[vosk]'`` and a Vosk model folder, e.g. vosk-model-small-fr) and
``faster-whisper`` (``pip install 'callcenter[whisper]'`` and a CTranslate2
model folder).  Neither downloads anything: a missing model is an error.
"""

from __future__ import annotations

import io
import json
import wave
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import select, update

from callcenter.core.logs import get_logger
from callcenter.core.twilio_rest import RecordingFetchFailed
from callcenter.messages import desk as messages
from callcenter.messages.models import Message
from callcenter.storage.db import Database

log = get_logger("callcenter.transcribers")

#: Attempts to fetch a recording before the message is marked failed.
MAX_ATTEMPTS = 5


class Transcriber(Protocol):
    def transcribe(self, wav: bytes, language: str) -> str:
        """The words in a WAV recording (``language`` like fr-FR); raises on a bad file."""
        ...


class TranscriberUnavailable(Exception):
    """The backend is unknown, not installed, or its model is missing (one line, no data)."""


#: Makes a backend from the model path the policy gives (usually the backend's class).
Factory = Callable[[str | None], Transcriber]
BACKENDS: dict[str, Factory] = {}


def transcriber(name: str) -> Callable[[Factory], Factory]:
    """Register a backend (a class taking the model path) under the name policies use."""

    def register(factory: Factory) -> Factory:
        BACKENDS[name] = factory
        return factory

    return register


def load_transcriber(name: str | None, model: str | None) -> Transcriber:
    """The policy's backend with its model; raises :class:`TranscriberUnavailable`."""
    factory = BACKENDS.get(name or "")
    if factory is None:
        known = ", ".join(sorted(BACKENDS))
        raise TranscriberUnavailable(f"transcription.local_backend: {name!r} is not one of {known}")
    return factory(model)


def _model_folder(model: str | None, backend: str) -> Path:
    if not model or not Path(model).is_dir():
        raise TranscriberUnavailable(
            f"transcription.local_model: no {backend} model folder at {model!r}"
        )
    return Path(model)


def pcm_frames(wav: bytes) -> tuple[int, bytes]:
    """Sample rate and 16-bit mono PCM frames of a WAV file (Twilio's recording format)."""
    with wave.open(io.BytesIO(wav)) as audio:
        if audio.getnchannels() != 1 or audio.getsampwidth() != 2:
            raise ValueError("expected 16-bit mono PCM")
        return audio.getframerate(), audio.readframes(audio.getnframes())


@transcriber("vosk")
class VoskTranscriber:
    """Kaldi models through Vosk: small, CPU-only, good for short French messages."""

    def __init__(self, model: str | None) -> None:
        try:
            import vosk
        except ImportError:
            raise TranscriberUnavailable(
                "vosk is not installed (pip install 'callcenter[vosk]')"
            ) from None
        vosk.SetLogLevel(-1)  # its log lines would carry the words
        self._vosk = vosk
        self.model = vosk.Model(str(_model_folder(model, "Vosk")))

    def transcribe(self, wav: bytes, language: str) -> str:
        rate, frames = pcm_frames(wav)
        recognizer = self._vosk.KaldiRecognizer(self.model, rate)
        for start in range(0, len(frames), 8000):
            recognizer.AcceptWaveform(frames[start : start + 8000])
        return str(json.loads(recognizer.FinalResult()).get("text", ""))


@transcriber("faster-whisper")
class WhisperTranscriber:
    """Whisper through CTranslate2: better French, heavier; a local model folder only."""

    def __init__(self, model: str | None) -> None:
        try:
            from faster_whisper import WhisperModel
        except ImportError:
            raise TranscriberUnavailable(
                "faster-whisper is not installed (pip install 'callcenter[whisper]')"
            ) from None
        folder = _model_folder(model, "faster-whisper")
        self.model = WhisperModel(str(folder), device="cpu", compute_type="int8")

    def transcribe(self, wav: bytes, language: str) -> str:
        segments, _ = self.model.transcribe(io.BytesIO(wav), language=language.split("-")[0])
        return " ".join(segment.text.strip() for segment in segments)


@dataclass
class Report:
    transcribed: int = 0
    failed: int = 0
    retry: int = 0


def transcribe_pending(
    db: Database,
    backend: Transcriber,
    fetch: Callable[[str], bytes],
    lookup: messages.PracticeLookup,
    now: datetime,
    limit: int = 20,
) -> Report:
    """Transcribe the local engine's waiting messages; each ends transcribed or failed.

    A message is claimed by bumping its attempt count with a conditional
    UPDATE (two workers never take it in the same pass).  A recording Twilio
    will not hand over is retried on the next pass, then failed after
    :data:`MAX_ATTEMPTS`; a backend that cannot read it fails it at once.
    Either way the audio is deleted at Twilio (queued, due now).
    """
    report = Report()
    with db.session() as session:
        waiting = session.execute(
            select(Message.id, Message.recording_sid, Message.transcription_attempts)
            .where(Message.engine == "local", Message.status == messages.TRANSCRIBING)
            .order_by(Message.created_at)
            .limit(limit)
        ).all()
    for message_id, sid, attempts in waiting:
        with db.session() as session:
            claimed = session.execute(
                update(Message)
                .where(Message.id == message_id, Message.transcription_attempts == attempts,
                       Message.status == messages.TRANSCRIBING)
                .values(transcription_attempts=attempts + 1)
                .execution_options(synchronize_session=False)
            )  # fmt: skip
            if not claimed.rowcount:  # type: ignore[attr-defined]
                continue
        outcome = _transcribe_one(db, backend, fetch, lookup, now, message_id, sid, attempts + 1)
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report


def _transcribe_one(
    db: Database,
    backend: Transcriber,
    fetch: Callable[[str], bytes],
    lookup: messages.PracticeLookup,
    now: datetime,
    message_id: str,
    sid: str | None,
    attempt: int,
) -> str:
    words: str | None = None
    reason = ""
    try:
        audio = fetch(sid or "")
    except RecordingFetchFailed as exc:
        if attempt < MAX_ATTEMPTS:
            log.warning("recording_fetch_failed", message=message_id, code=exc.code)
            return "retry"
        reason = f"fetch-{exc.code}"
    else:
        found = None
        try:
            with db.session() as session:
                row = session.get(Message, message_id)
                found = lookup(row.practice_id) if row else None
            language = found[0].language if found else "fr-FR"
            words = backend.transcribe(audio, language)
        except Exception as exc:  # a backend's failure must not lose the message
            reason = f"backend-{type(exc).__name__}"
        finally:
            del audio  # in memory only: nothing of it is left on this machine
    with db.session() as session:
        message = session.get(Message, message_id)
        found = lookup(message.practice_id) if message else None
        if message is None or found is None:
            return "failed"
        practice, catalogue = found
        if words is not None:
            messages.store_transcript(session, message, words, now, practice=practice,
                                      catalogue=catalogue)  # fmt: skip
        else:
            messages.fail(session, message, now, reason=reason, practice=practice)
        return "transcribed" if message.status == messages.TRANSCRIBED else "failed"
