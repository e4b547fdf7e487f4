"""Messages callers leave: stored encrypted, turned into text, their audio deleted.

Whatever the engine (``transcription.engine`` in the recordings policy), a
message ends ``transcribed`` or ``transcription-failed``: it is never dropped,
and a failed one still carries the call-back number.  The transcript is
encrypted like every personal value.  The recording is queued for deletion
at Twilio the moment its transcript is stored (or its transcription has
failed); the deletion queue (:mod:`callcenter.notify.deletions`) retries until
Twilio confirms.

Twilio's callbacks (recording status, transcription, real-time events) may
come in any order, late, or twice (docs/operations/twilio.md): a message is created
once per recording SID or transcription reference by whichever request
comes first (an insert that does nothing on conflict), and every later one
finds it.  A message left in the urgent flow, or whose words match an
urgent intent of the catalogue, is flagged urgent and queues the on-call
notice at once (one per call; the SMS holds no personal data).

Statuses: ``recorded`` (audio held, not yet handed to an engine) →
``transcribing`` → ``transcribed`` | ``transcription-failed``.

Nothing here knows Flask: functions take a session and never commit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.calls import repository
from callcenter.calls.models import Call, CallRecord
from callcenter.core.logs import get_logger
from callcenter.core.twilio_rest import valid_sid
from callcenter.messages.models import Message
from callcenter.notify.deletions import enqueue_deletion
from callcenter.notify.notices import queue_notice
from callcenter.storage.insert_once import insert_once
from callcenter.storage.unit_of_work import Task, after_commit

if TYPE_CHECKING:
    from callcenter.config.practice import Practice
    from callcenter.config.prompts import Catalogue

log = get_logger("callcenter.messages")

RECORDED = "recorded"
TRANSCRIBING = "transcribing"
TRANSCRIBED = "transcribed"
FAILED = "transcription-failed"
DONE = frozenset({TRANSCRIBED, FAILED})
#: Engines that record audio (at Twilio) before it becomes text.
RECORDING_ENGINES = frozenset({"twilio", "local"})
#: Shorter recordings hold no words (Twilio does not transcribe them either).
MIN_RECORDING_SECONDS = 2
#: A transcript longer than this is cut: two minutes of speech is far less.
MAX_TRANSCRIPT_CHARS = 4000

#: What a callback needs about a practice: the practice and its prompt catalogue.
PracticeLookup = Callable[[str], "tuple[Practice, Catalogue] | None"]


def seconds(value: str | None) -> int | None:
    """A duration parameter from Twilio, or None when absent or odd."""
    return int(value) if value and value.isdigit() and len(value) < 6 else None


def new_message(call: CallRecord, now: datetime, **values: Any) -> Message:
    """A message of ``call``: its caller's number (encrypted) for the call-back, and the
    patient identified on the call (so the digest can name them)."""
    values.setdefault("urgent", call.urgent)
    values.setdefault("kind", (call.state or {}).get("message_kind"))
    values.setdefault("patient_id", call.patient_id)
    return Message(
        practice_id=call.practice_id,
        call_id=call.id,
        callback_number=call.caller,
        callback_index=call.caller_index,
        created_at=now,
        **values,
    )


def message_once(session: Session, message: Message, unique: str) -> tuple[Message, bool]:
    """Insert ``message`` unless a row with the same ``unique`` column exists; (row, created).

    An insert that does nothing on conflict, not a read-then-write: two
    callbacks racing for the same recording create one message.
    """
    values = {
        attr.key: value
        for attr in sa_inspect(Message).column_attrs
        if (value := getattr(message, attr.key)) is not None
    }
    created = insert_once(session, Message, values, (unique,))
    row = session.scalars(select(Message).where(getattr(Message, unique) == values[unique])).one()
    return row, created


def by_recording(session: Session, sid: str) -> Message | None:
    return session.scalars(select(Message).where(Message.recording_sid == sid)).one_or_none()


def recorded(
    session: Session,
    call: CallRecord,
    sid: str,
    duration: int | None,
    now: datetime,
    *,
    engine: str,
    practice: Practice,
) -> Message:
    """The message holding recording ``sid``: created by the first request that names it.

    With Twilio's engine it is already being transcribed; with the local one
    it waits for the recording-status callback (the audio is ready then).
    """
    status = TRANSCRIBING if engine == "twilio" else RECORDED
    message, created = message_once(
        session,
        new_message(call, now, recording_sid=sid, recording_duration=duration, status=status,
                    engine=engine),
        "recording_sid",
    )  # fmt: skip
    if created:
        notify_if_urgent(session, message, practice, now)
    elif duration is not None and message.recording_duration is None:
        message.recording_duration = duration
    return message


def spoken(
    session: Session,
    call: CallRecord,
    words: str,
    now: datetime,
    *,
    practice: Practice,
    catalogue: Catalogue,
) -> Message:
    """A message taken by speech recognition: text only, never audio (``speech`` engine)."""
    message = new_message(call, now, status=TRANSCRIBING, engine="speech")
    session.add(message)
    store_transcript(session, message, words, now, practice=practice, catalogue=catalogue)
    return message


def notify_if_urgent(session: Session, message: Message, practice: Practice, now: datetime) -> None:
    """Queue the on-call doctor's notice for an urgent message (once per call)."""
    if not message.urgent or message.call_id is None:
        return
    doctor = practice.on_call_doctor(now)
    if doctor is None:  # office hours: the secretaries read the messages
        return
    queue_notice(session, practice_id=message.practice_id, call_id=message.call_id,
                 doctor_id=doctor.id, kind="urgent-message", now=now)  # fmt: skip


def _lock(session: Session, message: Message) -> Message:
    """The row again, locked (PostgreSQL), so two callbacks never finish it twice.

    A row not yet flushed (a message taken just now) is this request's alone.
    """
    if sa_inspect(message).persistent:
        session.refresh(message, with_for_update=True)
    return message


def store_transcript(
    session: Session,
    message: Message,
    words: str,
    now: datetime,
    *,
    practice: Practice,
    catalogue: Catalogue,
) -> bool:
    """Keep the words (encrypted), flag urgency, delete the audio; False when already done.

    Empty words mean the engine heard nothing usable: the message is kept,
    marked failed, so the practice still calls back.
    """
    message = _lock(session, message)
    if message.status in DONE:
        return False
    text = " ".join(words.split())[:MAX_TRANSCRIPT_CHARS]
    if not text:
        return fail(session, message, now, reason="empty", practice=practice)
    message.transcript = text
    message.status, message.transcribed_at = TRANSCRIBED, now
    if not message.urgent and catalogue.match_intent(text, ["urgent"]):
        message.urgent = True
    notify_if_urgent(session, message, practice, now)
    delete_audio(session, message, now)
    log.info("message_transcribed", message=message.id, engine=message.engine,
             urgent=message.urgent)  # fmt: skip
    return True


def fail(
    session: Session, message: Message, now: datetime, *, reason: str, practice: Practice
) -> bool:
    """Mark the message failed (kept, with its call-back number) and delete the audio."""
    message = _lock(session, message)
    if message.status in DONE:
        return False
    message.status, message.transcribed_at = FAILED, now
    notify_if_urgent(session, message, practice, now)
    delete_audio(session, message, now)
    log.warning("message_transcription_failed", message=message.id, engine=message.engine,
                reason=reason[:32])  # fmt: skip
    return True


def delete_audio(session: Session, message: Message, now: datetime) -> None:
    """Queue the recording's deletion at Twilio, due now: audio lives minutes, not days."""
    if message.recording_sid and valid_sid("recording", message.recording_sid):
        enqueue_deletion(session, message.practice_id, "recording", message.recording_sid, now)
        after_commit(session, Task.REQUEST_DELETIONS)  # due now: the boundary asks at once


def delete_at_twilio(
    session: Session, practice_id: str, kind: str, sid: str, now: datetime
) -> None:
    """Queue the deletion of anything else Twilio holds (a transcription, a stray recording)."""
    if valid_sid(kind, sid):
        enqueue_deletion(session, practice_id, kind, sid, now)
        after_commit(session, Task.REQUEST_DELETIONS)  # due now: the boundary asks at once


class MessageDesk:
    """Twilio's message callbacks: recording status and transcription (the real-time
    events live in :mod:`callcenter.messages.realtime`).  Each returns a short outcome for the log.
    """

    def __init__(self, lookup: PracticeLookup, engine: str) -> None:
        self.lookup = lookup
        self.engine = engine

    def _call(self, session: Session, params: Mapping[str, str]) -> Call | None:
        return repository.call_by_sid(session, params.get("CallSid", ""))

    def recording_status(self, session: Session, params: Mapping[str, str], now: datetime) -> str:
        """A recording is complete (or absent): make sure its message exists, or delete it."""
        sid = params.get("RecordingSid", "")
        call = self._call(session, params)
        if not valid_sid("recording", sid) or call is None:
            return "unknown"  # nothing of ours to attach it to; 2xx so Twilio stops
        found = self.lookup(call.practice_id)
        if found is None:
            return "unknown"
        practice, _ = found
        status = params.get("RecordingStatus", "")
        duration = seconds(params.get("RecordingDuration"))
        if status == "absent" or (
            status == "completed" and (duration or 0) < MIN_RECORDING_SECONDS
        ):
            if by_recording(session, sid) is None:  # too short to hold words: not a message
                delete_at_twilio(session, call.practice_id, "recording", sid, now)
            return "too-short"
        if status != "completed":
            return "ignored"
        message = recorded(session, call, sid, duration, now, engine=self.engine,
                           practice=practice)  # fmt: skip
        if message.status == RECORDED and message.engine == "local":
            message.status = TRANSCRIBING  # the audio can be fetched now
            return "queued-local"
        return "recorded"

    def transcription(self, session: Session, params: Mapping[str, str], now: datetime) -> str:
        """Twilio's transcription of a recording: keep the words, delete audio and text there."""
        sid = params.get("RecordingSid", "")
        if not valid_sid("recording", sid):
            return "unknown"
        message = by_recording(session, sid)
        call = self._call(session, params)
        if message is None and call is not None:
            found = self.lookup(call.practice_id)
            if found is not None:
                message = recorded(session, call, sid, None, now, engine="twilio",
                                   practice=found[0])  # fmt: skip
        if message is None:
            return "unknown"
        found = self.lookup(message.practice_id)
        if found is None:
            return "unknown"
        practice, catalogue = found
        delete_at_twilio(
            session, message.practice_id, "transcription", params.get("TranscriptionSid", ""), now
        )
        if params.get("TranscriptionStatus") == "completed":
            done = store_transcript(session, message, params.get("TranscriptionText", ""), now,
                                    practice=practice, catalogue=catalogue)  # fmt: skip
        else:
            done = fail(session, message, now, reason="twilio", practice=practice)
        return message.status if done else "replayed"
