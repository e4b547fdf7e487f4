"""Waiting for a busy secretariat: the queue, call-back requests, the secretaries' line.

A caller whose secretaries are all busy waits in the practice's queue
(``<Enqueue>``; urgent calls in a queue of their own).  While they wait,
Twilio requests the wait URL again and again: each time they hear their
position and expected wait and may press 1 to be called back or 2 to leave a
message.  A secretary who is free calls the secretaries' line (a number whose
Voice URL is ``/twilio/queue/agent``), keys their PIN and takes the next
caller with ``<Dial><Queue>``: urgent queues first, then the longest wait.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from callcenter.audit import trail as audit
from callcenter.calls import repository
from callcenter.calls.models import Call, QueueEntry
from callcenter.core import routes
from callcenter.core.logs import get_logger
from callcenter.ivr.nodes.base import CallContext, Node, node_type
from callcenter.ivr.runtime import call_context
from callcenter.ivr.twiml import Reply, Voice
from callcenter.ivr.urgency import URGENT_KEY, URGENT_ROUTE
from callcenter.messages.desk import new_message
from callcenter.patients import identification
from callcenter.security.pins import verify_pin

if TYPE_CHECKING:
    from callcenter.config.practice import Practice, PracticeDirectory
    from callcenter.config.prompts import Catalogue
    from callcenter.config.staff import Secretary
    from callcenter.ivr.runtime import PracticeRuntime
    from callcenter.security.crypto import FieldCipher

    Desks = list[tuple[Practice, Secretary]]

log = get_logger("callcenter.queue")

CALLBACK_KEY, MESSAGE_KEY, NEXT_CALLER_KEY = "1", "2", "1"
WAIT_PAUSE = 20  # seconds of hold music or silence between two announcements
LINE = "secretaries-line"  # the brute-force guard's key space for the line's PINs
BRIDGED = frozenset({"bridged", "bridging-in-process"})


def queue_name(practice_id: str, urgent: bool) -> str:
    """Twilio's queue for a practice (64 characters at most); urgent callers apart."""
    return f"{practice_id[:48]}-urgent" if urgent else practice_id[:48]


@node_type("queue")
class Queue(Node):
    """Wait for the next free secretary, or choose a call-back or a message instead."""

    FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"prompt", "on_callback", "on_message", "on_failure", "next"}
    )

    def parse(self) -> None:
        self.prompt: str | None = self.opt("prompt", str)
        self.on_callback: str = self.req("on_callback", str)
        self.on_message: str = self.req("on_message", str)
        self.on_failure: str = self.req("on_failure", str)
        self.next: str | None = self.opt("next", str)

    def targets(self) -> dict[str, str]:
        refs = {k: getattr(self, k) for k in ("on_callback", "on_message", "on_failure")}
        if self.next:
            refs["next"] = self.next
        return refs

    def prompts(self) -> dict[str, str]:
        return {"prompt": self.prompt} if self.prompt else {}

    def enter(self, ctx: CallContext, reply: Reply) -> str | None:
        practice, call = ctx.practice, ctx.call
        if len(waiting(ctx.session, [practice.id])) >= practice.queue_size:
            log.info("queue_full", call=call.id, size=practice.queue_size)
            return self.on_failure
        entry = ctx.session.get(QueueEntry, call.id) or QueueEntry(call_id=call.id)
        entry.practice_id, entry.urgent = practice.id, call.urgent
        entry.queue = queue_name(practice.id, call.urgent)
        entry.enqueued_at, entry.choice, entry.left_at, entry.result = ctx.now, None, None, None
        ctx.session.add(entry)
        if self.prompt:
            reply.say(ctx.text(self.prompt))
        wait = routes.url(routes.QUEUE_WAIT, {"call": call.id})
        reply.enqueue(entry.queue, wait_url=wait, action=ctx.action())
        return None

    def resume(self, ctx: CallContext, reply: Reply) -> str | None:
        result = ctx.params.get("QueueResult", "")[:32]
        entry = ctx.session.get(QueueEntry, ctx.call.id)
        choice = entry.choice if entry else None
        if entry is not None and entry.left_at is None:
            entry.left_at, entry.result = ctx.now, result or "unknown"
        if result in BRIDGED:
            ctx.call.outcome = "transferred"
            if self.next:
                return self.next
            reply.hangup()
            return None
        if result == "hangup":
            ctx.call.outcome = "abandoned"
            reply.hangup()
            return None
        if result == "leave" and choice == "callback":
            return self.on_callback
        if result == "leave" and choice == "message":
            return self.on_message
        if result == "leave" and choice == "urgent":
            return URGENT_ROUTE
        return self.on_failure  # queue-full, error, system-error, redirected


@node_type("callback_request")
class CallbackRequest(Node):
    """Keep the caller's wish to be called back: their number, encrypted, for the secretaries."""

    FIELDS: ClassVar[frozenset[str]] = frozenset({"next", "on_failure"})

    def parse(self) -> None:
        self.next: str = self.req("next", str)
        self.on_failure: str = self.req("on_failure", str)

    def targets(self) -> dict[str, str]:
        return {"next": self.next, "on_failure": self.on_failure}

    def enter(self, ctx: CallContext, reply: Reply) -> str | None:
        if ctx.call.caller is None:  # nobody to call back: a message instead
            return self.on_failure
        ctx.session.add(new_message(ctx.call, ctx.now, callback_requested=True, status="callback"))
        ctx.call.outcome = "callback"
        return self.next


def waiting(session: Session, practice_ids: Sequence[str]) -> list[QueueEntry]:
    """Callers waiting now for these practices: urgent first, then the longest wait."""
    query = (
        select(QueueEntry)
        .where(QueueEntry.practice_id.in_(practice_ids), QueueEntry.left_at.is_(None))
        .order_by(QueueEntry.urgent.desc(), QueueEntry.enqueued_at, QueueEntry.call_id)
    )
    return list(session.scalars(query))


class QueueDesk:
    """The queue's webhooks, beside the engine: what callers hear and what secretaries get."""

    def __init__(
        self,
        practices: PracticeDirectory,
        runtimes: Mapping[str, PracticeRuntime],
        cipher: FieldCipher,
        default_catalogue: Catalogue,
    ) -> None:
        self.practices, self.runtimes, self.cipher = practices, runtimes, cipher
        self.default_catalogue = default_catalogue

    # -- the caller's side ---------------------------------------------------
    def wait(self, session: Session, call_id: str, params: Mapping[str, str], now: datetime) -> str:
        """Announce the position and expected wait, and offer a call-back or a message."""
        call = session.get(Call, call_id)
        runtime = self.runtimes.get(call.practice_id) if call else None
        if call is None or runtime is None:
            return Reply(Voice()).pause(WAIT_PAUSE).to_xml()  # keep waiting; a person comes
        practice, catalogue = runtime.practice, runtime.catalogue
        position = _number(params.get("QueuePosition"), default=1)
        per_secretary = max(1, len(practice.secretaries_on_duty(now)))
        minutes = math.ceil(position * practice.minutes_per_caller / per_secretary)
        texts = [
            catalogue.text("queue_position", {"position": position}),
            catalogue.text("queue_wait" if minutes > 1 else "queue_wait_one", {"minutes": minutes}),
            catalogue.text("queue_options" if call.caller else "queue_options_message"),
        ]
        action = routes.url(routes.QUEUE_CHOICE, {"call": call.id})
        reply = Reply(runtime.voice)
        reply.gather_while(action, texts, music=practice.hold_music, pause=WAIT_PAUSE)
        return reply.to_xml()

    def choose(self, session: Session, call_id: str, digits: str) -> str:
        """A key pressed while waiting: leave the queue (call-back, message, urgent route)."""
        call = session.get(Call, call_id)
        entry = session.get(QueueEntry, call_id)
        runtime = self.runtimes.get(call.practice_id) if call else None
        if call is None or entry is None or runtime is None:
            return Reply(Voice()).pause(1).to_xml()
        choice = {CALLBACK_KEY: "callback", MESSAGE_KEY: "message"}.get(digits[:1])
        if choice == "callback" and call.caller is None:
            choice = None
        if digits[:1] == URGENT_KEY and not call.urgent:
            choice = "urgent"  # 9 leaves the queue for the urgent route, as everywhere
        if choice is None:
            return Reply(runtime.voice).say(runtime.catalogue.text("queue_choice_invalid")).to_xml()
        entry.choice = choice
        return Reply(runtime.voice).leave().to_xml()

    def connect(self, session: Session, params: Mapping[str, str], now: datetime) -> str:
        """Said to the caller a secretary has just taken off the queue."""
        call = repository.call_by_sid(session, params.get("CallSid", ""))
        runtime = self.runtimes.get(call.practice_id) if call else None
        if call is None or runtime is None:
            return Reply(Voice()).to_xml()
        session.execute(
            update(QueueEntry)
            .where(QueueEntry.call_id == call.id, QueueEntry.left_at.is_(None))
            .values(left_at=now, result="bridged")
            .execution_options(synchronize_session=False)
        )
        return Reply(runtime.voice).say(runtime.catalogue.text("queue_connecting")).to_xml()

    # -- the secretaries' line -------------------------------------------------
    def agent(self, session: Session, caller: str | None, now: datetime) -> str:
        """A secretary calls the line: known numbers key their PIN, others hear a refusal."""
        desks = self.practices.desks_of(caller)
        reply, text = self._agent_voice(desks)
        if not desks:
            log.warning("secretaries_line_refused", reason="unknown-number")
            return reply.say(text("agent_unknown")).hangup().to_xml()
        if identification.is_locked(session, LINE, self._guard_index(caller), now):
            return reply.say(text("agent_locked")).hangup().to_xml()
        reply.gather(routes.QUEUE_AGENT_PIN, [text("agent_pin")], digits=None, speech=False,
                     timeout=10, finish_on_key="#")  # fmt: skip
        return reply.to_xml()

    def agent_pin(self, session: Session, caller: str | None, pin: str, now: datetime) -> str:
        """Check the PIN (bounded by the brute-force guard), then offer the next caller."""
        desks = self.practices.desks_of(caller)
        reply, text = self._agent_voice(desks)
        if not desks:
            return reply.say(text("agent_unknown")).hangup().to_xml()
        index = self._guard_index(caller)
        secretary = desks[0][1]
        if identification.is_locked(session, LINE, index, now):
            return reply.say(text("agent_locked")).hangup().to_xml()
        if not any(s.pin_hash and verify_pin(pin[:16], s.pin_hash) for _, s in desks):
            failure = identification.record_failure(session, LINE, index, now)
            if failure.locked_now:
                audit.append(session, actor="system:secretaries-line", action="secretary.locked",
                             object_ref=secretary.id, now=now)  # fmt: skip
            log.warning("secretaries_line_refused", reason="wrong-pin", secretary=secretary.id)
            return reply.say(text("agent_pin_wrong")).hangup().to_xml()
        identification.reset_failures(session, LINE, index, now)
        audit.append(session, actor=f"secretary:{secretary.id}", action="secretary.line",
                     details={"practices": [p.id for p, _ in desks]}, now=now)  # fmt: skip
        return self._take(session, desks, reply, text)

    def agent_done(self, caller: str | None) -> str:
        """The bridged call ended (or the queue stayed empty): offer the next caller."""
        desks = self.practices.desks_of(caller)
        reply, text = self._agent_voice(desks)
        if not desks:
            return reply.hangup().to_xml()
        reply.gather(routes.QUEUE_AGENT_TAKE, [text("agent_next")], digits=1, speech=False,
                     timeout=8)  # fmt: skip
        return reply.to_xml()

    def agent_take(self, session: Session, caller: str | None, digits: str) -> str:
        """1 takes the next caller; anything else, or silence, says goodbye.

        Reachable only from TwiML served after a correct PIN: Twilio signs each
        request with the URL it was given, and this URL is in no other answer.
        """
        desks = self.practices.desks_of(caller)
        reply, text = self._agent_voice(desks)
        if not desks or digits[:1] != NEXT_CALLER_KEY:
            return reply.say(text("agent_goodbye")).hangup().to_xml()
        return self._take(session, desks, reply, text)

    def _take(
        self, session: Session, desks: Desks, reply: Reply, text: Callable[[str], str]
    ) -> str:
        entries = waiting(session, [p.id for p, _ in desks])
        if not entries:
            reply.gather(routes.QUEUE_AGENT_TAKE, [text("agent_none_waiting"),
                         text("agent_next")], digits=1, speech=False, timeout=8)  # fmt: skip
            return reply.to_xml()
        entry = entries[0]
        call = session.get(Call, entry.call_id)
        runtime = self.runtimes.get(entry.practice_id)
        if call is not None and runtime is not None:
            reason = str(call.state.get("transfer_reason", "other"))
            reply.say(*call_context(runtime, call, reason), runtime.practice.instructions)
        reply.dial_queue(entry.queue, url=routes.QUEUE_CONNECT,
                         action=routes.QUEUE_AGENT_DONE)  # fmt: skip
        return reply.to_xml()

    def _guard_index(self, caller: str | None) -> int:
        return identification.guard_key(self.cipher, LINE, caller or "")

    def _agent_voice(self, desks: Desks) -> tuple[Reply, Callable[[str], str]]:
        """A reply in the (first) practice's voice, and its catalogue's texts."""
        runtime = self.runtimes.get(desks[0][0].id) if desks else None
        catalogue = runtime.catalogue if runtime else self.default_catalogue
        return Reply(runtime.voice if runtime else Voice()), catalogue.text


def _number(value: str | None, default: int) -> int:
    return int(value) if value and value.isdigit() and len(value) < 6 else default
