"""Twilio real-time transcription (``<Start><Transcription>``): its events become a message.

No audio is recorded: Twilio streams the caller's voice to its transcription
provider and posts events to ``/twilio/realtime?ref=…`` (``ref`` is ours,
unique per message attempt): ``transcription-started``, then one
``transcription-content`` per utterance (only ``Final`` ones are kept), then
``transcription-stopped`` (or ``transcription-error``).  Each final utterance
is kept encrypted as a :class:`TranscriptPart` under (ref, SequenceId), so a
retried event is stored once; when the transcription has ended *and* the
message exists, the parts are joined in sequence order into the transcript
and deleted.

The message is created by the call's next request (the caller pressed a key)
or, when the caller hung up, by the stopped event itself: whichever comes
first, it is created once, and nothing said is lost.  A transcription that
ended with nothing heard after a hang-up leaves no empty message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from callcenter.calls import repository
from callcenter.calls.models import Call, CallRecord
from callcenter.config.practice import Practice
from callcenter.config.prompts import Catalogue
from callcenter.core.logs import get_logger
from callcenter.messages import desk as messages
from callcenter.messages.models import Message, TranscriptPart
from callcenter.storage.db import Database, new_id
from callcenter.storage.insert_once import insert_once

log = get_logger("callcenter.realtime")

CONTENT, STOPPED, ERROR = "content", "stopped", "error"
#: Markers have fixed sequence numbers, so a retried stop is stored once.
_MARKER_SEQUENCE = {STOPPED: -1, ERROR: -2}
_EVENTS = {"transcription-stopped": STOPPED, "transcription-error": ERROR}


def new_ref() -> str:
    """Our name for one real-time transcription (never personal)."""
    return new_id()


def _utterance(params: Mapping[str, str]) -> str:
    try:
        data = json.loads(params.get("TranscriptionData", "") or "{}")
    except ValueError:
        return ""
    words = data.get("transcript") if isinstance(data, dict) else None
    return " ".join(words.split()) if isinstance(words, str) else ""


def _add_part(session: Session, call: CallRecord, ref: str, sequence: int, kind: str,
              text: str | None, now: datetime) -> None:  # fmt: skip
    part = TranscriptPart(practice_id=call.practice_id, call_id=call.id, ref=ref,
                          sequence=sequence, kind=kind, text=text, created_at=now)  # fmt: skip
    values = {
        "id": part.id, "practice_id": part.practice_id, "call_id": call.id, "ref": ref,
        "sequence": sequence, "kind": kind, "text_ct": part.text_ct, "created_at": now,
    }  # fmt: skip
    insert_once(session, TranscriptPart, values, ("ref", "sequence"))


def heard_anything(session: Session, ref: str) -> bool:
    """Whether any words have arrived for ``ref`` yet."""
    query = select(TranscriptPart.id).where(
        TranscriptPart.ref == ref, TranscriptPart.kind == CONTENT
    )
    return session.scalars(query.limit(1)).first() is not None


def open_message(
    session: Session, call: CallRecord, ref: str, now: datetime, *, practice: Practice
) -> Message:
    """The message of transcription ``ref``, created once (by the call or by the stop event)."""
    message, created = messages.message_once(
        session,
        messages.new_message(call, now, transcription_ref=ref, status=messages.TRANSCRIBING,
                             engine="realtime"),
        "transcription_ref",
    )  # fmt: skip
    if created:
        messages.notify_if_urgent(session, message, practice, now)
    return message


def finish(
    session: Session,
    call: CallRecord,
    ref: str,
    now: datetime,
    *,
    practice: Practice,
    catalogue: Catalogue,
    force: bool = False,
) -> str:
    """Assemble the transcript once the transcription has ended and its words have arrived.

    ``force`` (the sweep) assembles whatever has arrived, ended or not.
    """
    parts = list(session.scalars(
        select(TranscriptPart).where(TranscriptPart.ref == ref).order_by(TranscriptPart.sequence)
    ))  # fmt: skip
    ended = {p.kind: p for p in parts if p.kind != CONTENT}
    content = [p for p in parts if p.kind == CONTENT]
    if not ended and not force:
        return "waiting"
    # Events are numbered from 1 (started) to N (stopped): a stop that
    # overtook some words waits for them (the sweep ends the wait).
    last = ended[STOPPED].text if STOPPED in ended else None
    expected = int(last) - 2 if last and last.isdigit() and ERROR not in ended else 0
    if not force and len(content) < expected:
        return "waiting"
    words = " ".join(p.text or "" for p in content).strip()
    message = session.scalars(select(Message).where(Message.transcription_ref == ref)).first()
    if message is None:
        if not words:  # the caller hung up having said nothing: no empty message
            _drop(session, ref)
            return "empty"
        message = open_message(session, call, ref, now, practice=practice)
    if words:
        messages.store_transcript(session, message, words, now, practice=practice,
                                  catalogue=catalogue)  # fmt: skip
    else:
        reason = "error" if ERROR in ended else "nothing-heard"
        messages.fail(session, message, now, reason=reason, practice=practice)
    _drop(session, ref)
    return message.status


def _drop(session: Session, ref: str) -> None:
    statement = delete(TranscriptPart).where(TranscriptPart.ref == ref)
    session.execute(statement.execution_options(synchronize_session=False))


def event(
    session: Session,
    params: Mapping[str, str],
    ref: str,
    now: datetime,
    lookup: messages.PracticeLookup,
) -> str:
    """One real-time transcription event; returns a short outcome for the log."""
    call = repository.call_by_sid(session, params.get("CallSid", ""))
    found = lookup(call.practice_id) if call is not None else None
    if call is None or found is None or not ref:
        return "unknown"  # 2xx anyway: nothing to attach it to, Twilio must stop retrying
    practice, catalogue = found
    kind = params.get("TranscriptionEvent", "")
    if kind == "transcription-content":
        if params.get("Final", "").lower() != "true":
            return "partial"  # only final results are kept
        if params.get("Track", "inbound_track") != "inbound_track":
            return "ignored"  # the caller's words only, never the prompts
        sequence = params.get("SequenceId", "")
        words = _utterance(params)
        if not sequence.isdigit() or len(sequence) > 9 or not words:
            return "ignored"
        _add_part(session, call, ref, int(sequence), CONTENT, words, now)
        # Words that come after the stop (events overtake each other) finish it.
        outcome = finish(session, call, ref, now, practice=practice, catalogue=catalogue)
        return "content" if outcome == "waiting" else outcome
    if kind in _EVENTS:
        marker = _EVENTS[kind]
        sequence = params.get("SequenceId", "")
        last = sequence if sequence.isdigit() and len(sequence) < 10 else None
        _add_part(session, call, ref, _MARKER_SEQUENCE[marker], marker, last, now)
        if marker == ERROR:
            log.warning("realtime_transcription_error",
                        code=params.get("TranscriptionErrorCode", "")[:8])  # fmt: skip
        return finish(session, call, ref, now, practice=practice, catalogue=catalogue)
    return "started" if kind == "transcription-started" else "ignored"


#: A real-time transcription still open this long after its message is stale.
STALE_AFTER = timedelta(minutes=10)


def sweep(db: Database, lookup: messages.PracticeLookup, now: datetime) -> int:
    """Finish transcriptions whose end (or some words) never came; returns how many.

    Nothing is left waiting for ever: what arrived becomes the transcript, or
    the message is marked failed.
    """
    cutoff = now - STALE_AFTER
    stale: set[tuple[str | None, str | None]]
    with db.session() as session:
        rows = list(session.execute(
            select(TranscriptPart.ref, TranscriptPart.call_id)
            .where(TranscriptPart.created_at <= cutoff)
        ))  # fmt: skip
        rows += session.execute(
            select(Message.transcription_ref, Message.call_id).where(
                Message.engine == "realtime", Message.status == messages.TRANSCRIBING,
                Message.created_at <= cutoff,
            )
        )  # fmt: skip
        stale = {(ref, call_id) for ref, call_id in rows}
    done = 0
    for ref, call_id in stale:
        with db.session() as session:
            call = session.get(Call, call_id) if call_id else None
            found = lookup(call.practice_id) if call else None
            if call is None or found is None or ref is None:
                continue
            finish(session, call, ref, now, practice=found[0], catalogue=found[1], force=True)
            done += 1
    return done
