"""An SMS to a practice's number: read as a keyword, handed to its handler, answered once.

The practice is the one whose number the text was sent to; the sender is
found through the blind index only, by the handlers that need them.  What
each keyword does comes from a registry the composition root fills
(:class:`SmsReplies`: keyword → :data:`Handler`): ANNULER cancels the
reminded appointment (:mod:`callcenter.replies.cancel`), OUI accepts a
waiting-list offer once that feature registers it.  STOP and START belong
here: they record or lift the opt-out (:mod:`callcenter.notify.optout`),
and STOP also runs the registered :data:`StopHook` functions (a feature
that holds a number for later SMS lets it go).  A keyword with no handler,
a handler with nothing open for the sender, or any other text gets one
short answer: the practice's number.

Twilio may deliver the same text twice: the first delivery claims its
``MessageSid`` (:class:`~callcenter.replies.models.SmsReply`, the SID, the
keyword and the outcome, never the text or the number) and a retry finds
the claim, does nothing and answers nothing, so a patient gets one
cancellation and one answer.  After STOP the number gets no SMS from the
practice at all, answers included, except START's confirmation (an ANNULER
still cancels, silently).

The generic answer is rationed per practice (:data:`GENERIC_CAP` in
:data:`GENERIC_WINDOW`): an auto-responder that answers every SMS would
otherwise ping-pong with it for ever.  Past the cap nothing is answered, so
such a loop ends by itself; counting needs no sender, only the SIDs' rows.
Never commits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from callcenter.config.practice import Practice, PracticeDirectory
from callcenter.config.prompts import Catalogue
from callcenter.core.french import phone
from callcenter.core.phone_numbers import normalize
from callcenter.notify import optout
from callcenter.replies.keywords import START, STOP, keyword
from callcenter.replies.models import SmsReply
from callcenter.security.crypto import FieldCipher
from callcenter.storage.insert_once import insert_once

#: An answer's prompt key and its variables (the practice's name is added).
Prompt = tuple[str, Mapping[str, Any]]
#: What a keyword does: ``(session, cipher, practice, sender E.164, now)`` → the answer's
#: prompt key (or key and variables), or None when the sender has nothing open for it
#: (the generic answer then).  It never commits.
Handler = Callable[[Session, FieldCipher, Practice, str, datetime], "str | Prompt | None"]
#: Run on every STOP: ``(session, cipher, practice id, sender E.164, now)``; never commits.
StopHook = Callable[[Session, FieldCipher, str, str, datetime], object]

OTHER = "other"  # the keyword of a text that is none
GENERIC = "sms_reply_other"
#: At most this many generic answers per practice in the window; then none.
GENERIC_CAP = 30
GENERIC_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True)
class Inbound:
    """Twilio's parameters of one SMS, bounded by the web layer; never stored."""

    message_sid: str
    sender: str
    to: str
    body: str


@dataclass(frozen=True)
class Answer:
    """The SMS to send back (None: none), and what happened, with no personal data."""

    text: str | None
    keyword: str
    outcome: str


class SmsReplies:
    """The replies' registry and what reads a text into it (see the module)."""

    def __init__(
        self,
        practices: PracticeDirectory,
        catalogues: Mapping[str, Catalogue],
        handlers: Mapping[str, Handler] | None = None,
        stop_hooks: Sequence[StopHook] = (),
    ) -> None:
        self.practices, self.catalogues = practices, catalogues
        self.handlers: dict[str, Handler] = dict(handlers or {})
        self.stop_hooks: list[StopHook] = list(stop_hooks)

    def generic(self, practice: Practice) -> str:
        """The one short answer to anything else: the practice's number, nothing read back."""
        return self._text(practice, GENERIC, {})

    def receive(
        self, session: Session, cipher: FieldCipher, inbound: Inbound, now: datetime
    ) -> Answer:
        """Read one SMS and act on it; the answer to send back."""
        practice = self.practices.by_number(inbound.to)
        word = keyword(inbound.body) or OTHER
        if practice is None:
            return Answer(None, word, "unknown-practice")
        if not _claim(session, inbound.message_sid, practice.id, word, now):
            return Answer(None, word, "duplicate")
        sender = normalize(inbound.sender)
        if sender is None:  # withheld or not a number: no one to answer, nothing to match
            answer = Answer(None, word, "no-sender")
        else:
            answer = self._act(session, cipher, practice, sender, word, now)
        session.execute(
            update(SmsReply)
            .where(SmsReply.message_sid == inbound.message_sid)
            .values(outcome=answer.outcome)
        )
        return answer

    def _act(self, session: Session, cipher: FieldCipher, practice: Practice, sender: str,
             word: str, now: datetime) -> Answer:  # fmt: skip
        bits = practice.blind_index_bits
        if word == STOP:
            added = optout.opt_out(session, cipher, practice.id, sender, bits, now)
            for hook in self.stop_hooks:
                hook(session, cipher, practice.id, sender, now)
            # One confirmation: a second STOP is not answered (the number opted out).
            text = self._text(practice, "sms_reply_stop", {}) if added else None
            return Answer(text, word, "opted-out")
        if word == START:
            optout.opt_in(session, cipher, practice.id, sender, bits)
            return Answer(self._text(practice, "sms_reply_start", {}), word, "opted-in")
        silent = optout.is_opted_out(session, cipher, practice.id, sender, bits)
        handler = self.handlers.get(word)
        found = handler(session, cipher, practice, sender, now) if handler else None
        if found is None and _generic_answers(session, practice.id, now) >= GENERIC_CAP:
            text, outcome = None, "quiet"
        elif found is None:
            text, outcome = self.generic(practice), "none"
        else:
            key, variables = (found, {}) if isinstance(found, str) else found
            text, outcome = self._text(practice, key, variables), "done"
        return Answer(None if silent else text, word, outcome)

    def _text(self, practice: Practice, key: str, variables: Mapping[str, Any]) -> str:
        values = {"practice_name": practice.name, "phone": phone(practice.number), **variables}
        return self.catalogues[practice.id].text(key, values)


def _generic_answers(session: Session, practice_id: str, now: datetime) -> int:
    """Generic answers this practice gave in the last :data:`GENERIC_WINDOW`."""
    return int(session.execute(
        select(func.count()).select_from(SmsReply).where(
            SmsReply.practice_id == practice_id, SmsReply.outcome == "none",
            SmsReply.received_at > now - GENERIC_WINDOW,
        )
    ).scalar_one())  # fmt: skip


def _claim(session: Session, message_sid: str, practice_id: str, word: str,
           now: datetime) -> bool:  # fmt: skip
    """Record the SID once; False when it was there (a retry, or the same text at once).

    On PostgreSQL a concurrent delivery of the same SID waits for the first
    one's commit, then inserts nothing.
    """
    values = {"message_sid": message_sid, "practice_id": practice_id, "keyword": word,
              "outcome": "received", "received_at": now}  # fmt: skip
    return insert_once(session, SmsReply, values, ("message_sid",))
