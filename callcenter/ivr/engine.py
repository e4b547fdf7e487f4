"""Running flows on calls: the domain behind the voice webhooks.

It knows nothing of Flask.  Each request of a call carries a sequence
number; the answer to it is stored with the call's new state in one
transaction under a unique (call, seq) key, so a request Twilio retries finds
the first answer and changes nothing twice (docs/security/threat-model.md, rule 3).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from callcenter.calls import live, repository
from callcenter.calls.live import WITHHELD
from callcenter.calls.models import Call, CallStep
from callcenter.config.practice import Practice, PracticeDirectory
from callcenter.config.prompts import Catalogue
from callcenter.core import routes
from callcenter.core.phone_numbers import normalize
from callcenter.ivr.fallback import SafeAnswers
from callcenter.ivr.loader import MAX_CHAIN, FlowSet
from callcenter.ivr.nodes.base import CallContext, FlowError, Node
from callcenter.ivr.nodes.waiting import QueueDesk
from callcenter.ivr.runtime import PracticeRuntime, call_context
from callcenter.ivr.twiml import Reply, Voice
from callcenter.ivr.urgency import URGENT_FLOW, URGENT_ROUTE
from callcenter.ivr.urgency import asked as asks_urgency
from callcenter.messages.models import Message
from callcenter.security.crypto import FieldCipher

__all__ = ["Answer", "CallEngine", "PracticeRuntime"]

MAX_REQUESTS = 80  # answers in one call; a booking takes about twenty
TERMINAL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


@dataclass(frozen=True)
class Answer:
    """TwiML and what the log line may say about it (no personal data)."""

    twiml: str
    node: str = ""
    outcome: str = ""


class CallEngine:
    def __init__(
        self,
        practices: PracticeDirectory,
        runtimes: Mapping[str, PracticeRuntime],
        default_catalogue: Catalogue,
        cipher: FieldCipher,
    ) -> None:
        self.cipher = cipher
        self.practices = practices
        self.runtimes = dict(runtimes)
        self.safe = SafeAnswers(practices, self.runtimes, default_catalogue)
        self.queue = QueueDesk(practices, self.runtimes, cipher, default_catalogue)

    # -- calls -------------------------------------------------------------
    def incoming(self, session: Session, params: Mapping[str, str], now: datetime) -> Answer:
        """A new call: pick the practice by the called number and start its flows.

        Twilio's retry of this request is found when the call's row is written
        (its SID is unique): the flows' work is rolled back and the first answer
        replayed, so the first request of every call costs no read of its own.
        """
        call_sid = params["CallSid"]
        practice = self.practices.by_number(params.get("To"))
        if practice is None:
            known, stored = live.load(session, call_sid, 0, self.cipher)
            if known is not None:
                return self._replay(session, known, stored)
            return Answer(self.safe.unknown_number(), outcome="unknown-number")
        runtime = self.runtimes[practice.id]
        flow = runtime.flows.flows[practice.start_flow]
        caller = normalize(params.get("From"))
        index = (
            self.cipher.phone_index(caller, practice=practice.id, bits=practice.blind_index_bits)
            if caller
            else None
        )
        throttled = self._too_many_calls(session, practice, caller, index, now)
        withheld_over = caller is None and self._too_many_withheld(session, practice, now)
        call = live.LiveCall.start(
            practice_id=practice.id,
            call_sid=call_sid,
            caller=caller,
            caller_index=index,
            started_at=now,
            flow=flow.name,
            node=flow.start,
            seq=0,
            # Marked at once: a number keyed later replaces ``caller``, and the
            # per-practice count of withheld calls must still find this call.
            state={WITHHELD: True} if caller is None else {},
        )
        ctx = CallContext(
            practice,
            runtime.catalogue,
            call,
            now,
            params,
            seq=0,
            session=session,
            cipher=self.cipher,
            notice=runtime.notice,
            transcription=runtime.transcription,
            public_base_url=runtime.public_base_url,
            understanding=runtime.understanding,
        )
        reply = Reply(runtime.voice)
        if throttled:
            # Still told where to turn in a life-threatening emergency, and kept
            # (outcome "throttled") so the count goes on while the calls go on.
            call.outcome = "throttled"
            reply.say(ctx.text("emergency_advice"), ctx.text("throttled")).hangup()
        elif withheld_over:
            # Too many withheld calls for this practice (someone testing numbers):
            # no identification at all, but the advice and a message, never a bare hang-up.
            call.outcome = "throttled"
            reply.say(ctx.text("emergency_advice"), ctx.text("withheld_throttled"))
            self.safe.leave_message(practice, reply)
        else:
            self._run(runtime.flows, ctx, reply, flow.nodes[flow.start], resume=False)
        return self._store(session, call, 0, reply, now)

    def _too_many_calls(
        self,
        session: Session,
        practice: Practice,
        caller: str | None,
        index: int | None,
        now: datetime,
    ) -> bool:
        """More than the practice allows from this number in the last minute.

        The blind index narrows the calls to a few candidates; their numbers are
        decrypted and compared, so two numbers sharing a bucket never throttle
        each other.
        """
        if not practice.calls_per_minute or caller is None or index is None:
            return False
        since = now - timedelta(minutes=1)
        numbers = live.recent_numbers(session, practice.id, index, since, now, self.cipher)
        return numbers.count(caller) >= practice.calls_per_minute

    @staticmethod
    def _too_many_withheld(session: Session, practice: Practice, now: datetime) -> bool:
        """This practice's withheld calls of the last hour reached its limit.

        A withheld caller has no number to be counted by, and a keyed number is
        theirs to choose: they are counted together, per practice.  Only the
        hour's calls are counted, by the database (one number back, however many calls).
        """
        if not practice.withheld_calls_per_hour:
            return False
        withheld = live.withheld_calls(session, practice.id, now - timedelta(hours=1), now)
        return withheld >= practice.withheld_calls_per_hour

    def step(self, session: Session, params: Mapping[str, str], seq: int, now: datetime) -> Answer:
        """Twilio's request back to the waiting node (Gather, Record or Dial action)."""
        call, stored = live.load(session, params["CallSid"], seq, self.cipher)
        if call is None or call.practice_id not in self.runtimes:
            # Not a call we know (or its practice left): route it to people.
            practice = self.practices.by_number(params.get("To"))
            return Answer(self.safe.reach_someone(practice), outcome="unknown-call")
        if stored is not None or seq != call.seq:
            return self._replay(session, call, stored)
        runtime = self.runtimes[call.practice_id]
        if seq >= MAX_REQUESTS:
            # However the flows are written, a call never loops for ever: after
            # this many answers it leaves the flows for a person or a message.
            return Answer(self.safe.reach_someone(runtime.practice), outcome="too-long")
        ctx = CallContext(
            runtime.practice,
            runtime.catalogue,
            call,
            now,
            params,
            seq=seq,
            session=session,
            cipher=self.cipher,
            notice=runtime.notice,
            transcription=runtime.transcription,
            public_base_url=runtime.public_base_url,
            understanding=runtime.understanding,
        )
        reply = Reply(runtime.voice)
        node = runtime.flows.node(call.flow, call.node)
        jump = self._urgency(runtime, ctx, node)
        self._run(runtime.flows, ctx, reply, node, resume=True, jump=jump)
        return self._store(session, call, seq, reply, now)

    @staticmethod
    def _urgency(runtime: PracticeRuntime, ctx: CallContext, node: Node) -> str | None:
        """The urgent route, when this answer asks for it (see :mod:`callcenter.ivr.urgency`).

        Checked here, before the waiting node sees the answer, so every menu and
        question of every flow honours 9 and the words of urgency alike.
        """
        if ctx.call.urgent or URGENT_FLOW not in runtime.flows.flows:
            return None
        if not asks_urgency(ctx.params, ctx.catalogue, node.barge_in(ctx)):
            return None
        ctx.remember(phase=None, urgent_from=node.key)
        return URGENT_ROUTE

    def status(self, session: Session, params: Mapping[str, str], now: datetime) -> str:
        """Close the call record: its outcome, or ``ignored`` for a late, repeated or
        unknown callback (which changes nothing)."""
        status = params.get("CallStatus", "")
        if status not in TERMINAL_STATUSES:
            return "ignored"
        duration = params.get("CallDuration", "")
        # A plain conditional UPDATE, not the versioned row: the callback may
        # race the call's last step (a Record action on hang-up), and Twilio
        # does not send it again.  A caller who hung up while waiting leaves
        # the queue too, even if the Enqueue action never comes.
        outcome = live.close(
            session,
            params.get("CallSid", ""),
            status,
            int(duration) if duration.isdigit() and len(duration) < 7 else None,
            now,
        )
        return "ignored" if outcome is None else outcome

    # -- transfers ---------------------------------------------------------
    def whisper(self, session: Session, call_id: str, reason: str) -> Answer:
        """What a secretary hears before taking the call: practice first, no name or number."""
        call = session.get(Call, call_id)
        runtime = self.runtimes.get(call.practice_id) if call else None
        if call is None or runtime is None:
            return Answer(Reply(Voice()).hangup().to_xml(), outcome="whisper-unknown")
        texts = [*call_context(runtime, call, reason), runtime.catalogue.text("whisper_accept")]
        action = routes.url(routes.WHISPER_ACCEPT, {"call": call.id})
        reply = Reply(runtime.voice).gather(action, texts, digits=1, speech=False, timeout=8)
        # The redirect after the Gather comes back without digits: that is a refusal.
        return Answer(reply.to_xml(), outcome="whisper")

    def keep_fallback_message(
        self,
        session: Session,
        params: Mapping[str, str],
        practice: Practice | None,
        now: datetime,
    ) -> str:
        """Store a message recorded on the fallback path, so the digest shows it."""
        sid = params.get("RecordingSid", "")
        if practice is None or not (sid.startswith("RE") and len(sid) == 34):
            return "no-recording"
        if session.scalars(select(Message.id).where(Message.recording_sid == sid)).first():
            return "replayed"
        call = repository.call_by_sid(session, params.get("CallSid", ""))
        caller = call.caller if call else normalize(params.get("From"))
        bits = practice.blind_index_bits
        session.add(Message(
            practice_id=practice.id,
            call_id=call.id if call else None,
            callback_number=caller,
            callback_index=self.cipher.phone_index(caller, practice=practice.id, bits=bits)
            if caller else None,
            urgent=call.urgent if call else False,
            recording_sid=sid,
            created_at=now,
        ))  # fmt: skip
        return "stored"

    @staticmethod
    def whisper_accept(digits: str) -> Answer:
        """Pressing 1 bridges the call; anything else (or a voicemail) hangs up this leg."""
        if digits == "1":
            return Answer('<?xml version="1.0" encoding="UTF-8"?><Response />', outcome="accepted")
        return Answer(Reply(Voice()).hangup().to_xml(), outcome="refused")

    # -- internals -----------------------------------------------------------
    def _run(
        self,
        flows: FlowSet,
        ctx: CallContext,
        reply: Reply,
        node: Node,
        resume: bool,
        jump: str | None = None,
    ) -> None:
        """Enter or resume ``node`` (or leave it for ``jump``), then follow references."""
        if jump is not None:
            ref: str | None = jump
        else:
            ref = node.resume(ctx, reply) if resume else node.enter(ctx, reply)
        hops = 0
        while ref is not None:
            hops += 1
            if hops > MAX_CHAIN:
                raise FlowError(node.file, node.id, None, "too many nodes without waiting")
            target = flows.resolve(node.flow, ref)
            if target.key != node.key:  # a node failing back to itself keeps its count
                ctx.reset_attempts(target.key)
            node = target
            ctx.call.flow, ctx.call.node = node.flow, node.id
            ref = node.enter(ctx, reply)
        if not reply.waits and not reply.ends:
            reply.hangup()

    def _store(
        self, session: Session, call: live.LiveCall, seq: int, reply: Reply, now: datetime
    ) -> Answer:
        twiml = reply.to_xml()
        node = f"{call.flow}.{call.node}"
        error: IntegrityError | None = None
        try:
            moved = live.store_step(session, call, seq, node, twiml, now, self.cipher)
        except IntegrityError as exc:
            moved, error = False, exc
        if not moved:
            # The same request was answered meanwhile by another worker (the step
            # key and the call SID are unique, the call row is versioned by seq):
            # use its answer.
            session.rollback()
            known, stored = live.load(session, call.call_sid, seq, self.cipher)
            if known is None or stored is None:
                # Another constraint failed: the caller gets the safe answer.
                raise error or StaleCall("the call moved on without an answer stored")
            return self._replay(session, known, stored)
        return Answer(twiml, node=node, outcome=call.outcome or "")

    def _replay(self, session: Session, call: live.LiveCall, stored: live.Stored | None) -> Answer:
        """The answer stored under the request's seq, else the call's last one (a request
        out of order hears the current question again)."""
        found: live.Stored | CallStep | None = stored or repository.last_step(session, call.id)
        if found is None:
            runtime = self.runtimes.get(call.practice_id)
            return Answer(
                self.safe.reach_someone(runtime.practice if runtime else None), outcome="no-step"
            )
        return Answer(found.twiml, node=found.node, outcome="replayed")


class StaleCall(Exception):
    """The call's row could not be written and no other request answered it either."""
