"""The node types flow files can use.

Each is a small class: its fields (checked in ``parse``, errors naming the
field), the references and prompts it uses (for ``flows check``) and what it
does on a call.  A new journey adds node types here or in a module of its own
registered the same way; the engine does not change.
"""

from __future__ import annotations

from typing import Any, ClassVar

from callcenter.core import routes
from callcenter.ivr.nodes.base import MAX_SILENCES, CallContext, Node, node_type
from callcenter.ivr.twiml import Reply
from callcenter.ivr.urgency import ANSWER, CAPTURE, URGENT_INTENT, WORDS, BargeIn, says_urgent
from callcenter.messages import desk as messages
from callcenter.messages import realtime
from callcenter.messages.models import Message


def detail_asked(ctx: CallContext) -> list[str]:
    """What to say in one sentence, when the open question understood the message's kind."""
    kind = ctx.state.get("message_kind")
    key = f"message_detail_{kind}"
    return [ctx.text(key)] if kind and ctx.catalogue.has(key) else []


@node_type("say")
class Say(Node):
    """Speak one or more prompts, then go on (or hang up when there is no ``next``)."""

    FIELDS: ClassVar[frozenset[str]] = frozenset({"prompts", "next"})

    def parse(self) -> None:
        self.texts = self.prompt_list("prompts")
        if not self.texts:
            raise self.error("prompts", "needs at least one prompt key")
        self.next: str | None = self.opt("next", str)

    def targets(self) -> dict[str, str]:
        return {"next": self.next} if self.next else {}

    def prompts(self) -> dict[str, str]:
        return {f"prompts[{i}]": key for i, key in enumerate(self.texts)}

    def enter(self, ctx: CallContext, reply: Reply) -> str | None:
        reply.say(*(ctx.text(key) for key in self.texts))
        if self.next is None:
            reply.hangup()
        return self.next


@node_type("hangup")
class Hangup(Node):
    """Say goodbye and end the call; ``urgent_prompts`` instead on an urgent call.

    An urgent call never ends without the emergency advice: its goodbye says it.
    """

    FIELDS: ClassVar[frozenset[str]] = frozenset({"prompts", "urgent_prompts", "outcome"})

    def parse(self) -> None:
        self.texts = self.prompt_list("prompts")
        self.urgent_texts = self.prompt_list("urgent_prompts") or self.texts
        self.outcome: str | None = self.opt("outcome", str)

    def prompts(self) -> dict[str, str]:
        keys = {f"prompts[{i}]": key for i, key in enumerate(self.texts)}
        keys.update({f"urgent_prompts[{i}]": key for i, key in enumerate(self.urgent_texts)})
        return keys

    def enter(self, ctx: CallContext, reply: Reply) -> str | None:
        if self.outcome:
            ctx.call.outcome = self.outcome
        texts = self.urgent_texts if ctx.call.urgent else self.texts
        reply.say(*(ctx.text(key) for key in texts)).hangup()
        return None


@node_type("goto")
class Goto(Node):
    """Continue in another flow (from its start node)."""

    FIELDS: ClassVar[frozenset[str]] = frozenset({"flow"})

    def parse(self) -> None:
        self.target = "@" + self.req("flow", str)

    def targets(self) -> dict[str, str]:
        return {"flow": self.target}

    def enter(self, ctx: CallContext, reply: Reply) -> str | None:
        return self.target


@node_type("flag")
class Flag(Node):
    """Mark the call (urgent, outcome) and go on: facts the digests and console count."""

    FIELDS: ClassVar[frozenset[str]] = frozenset({"urgent", "outcome", "next"})

    def parse(self) -> None:
        self.urgent: bool | None = self.opt("urgent", bool)
        self.outcome: str | None = self.opt("outcome", str)
        self.next: str = self.req("next", str)

    def targets(self) -> dict[str, str]:
        return {"next": self.next}

    def enter(self, ctx: CallContext, reply: Reply) -> str | None:
        if self.urgent is not None:
            ctx.call.urgent = self.urgent
        if self.outcome:
            ctx.call.outcome = self.outcome
        return self.next


@node_type("hours")
class Hours(Node):
    """Branch on the practice's opening hours: open, lunch break, closed, public holiday."""

    FIELDS: ClassVar[frozenset[str]] = frozenset({"open", "lunch", "closed", "holiday"})

    def parse(self) -> None:
        self.branches: dict[str, str] = {"open": self.req("open", str)}
        self.branches["closed"] = self.req("closed", str)
        self.branches["lunch"] = self.opt("lunch", str) or self.branches["closed"]
        self.branches["holiday"] = self.opt("holiday", str) or self.branches["closed"]

    def targets(self) -> dict[str, str]:
        return dict(self.branches)

    def enter(self, ctx: CallContext, reply: Reply) -> str | None:
        status = ctx.practice.opening_status(ctx.now)
        ctx.remember(opening=status)
        return self.branches[status]


@node_type("menu")
class Menu(Node):
    """Offer choices by keypad and speech, re-prompting a bounded number of times."""

    FIELDS: ClassVar[frozenset[str]] = frozenset(
        {
            "prompt",
            "options",
            "speech",
            "max_attempts",
            "no_input",
            "no_match",
            "on_failure",
            "failure_prompt",
            "timeout",
        }
    )

    def parse(self) -> None:
        self.prompt: str = self.req("prompt", str)
        self.speech: bool = self.opt("speech", bool, True)
        self.max_attempts = self.int_in("max_attempts", 3, 1, 5)
        self.timeout = self.int_in("timeout", 6, 2, 20)
        self.no_input: str = self.opt("no_input", str, "menu_no_input")
        self.no_match: str = self.opt("no_match", str, "menu_no_match")
        self.on_failure: str = self.req("on_failure", str)
        # Said when giving up, so the caller knows where ``on_failure`` takes them.
        self.failure_prompt: str | None = self.opt("failure_prompt", str)
        raw_options = self.req("options", list)
        self.options: list[dict[str, Any]] = []
        seen: set[str] = set()
        for i, option in enumerate(raw_options):
            where = f"options[{i}]"
            if not isinstance(option, dict) or not isinstance(option.get("next"), str):
                raise self.error(where, "needs 'next' (a node reference)")
            unknown = set(option) - {"key", "intent", "next"}
            if unknown:
                raise self.error(f"{where}.{sorted(unknown)[0]}", "unknown field")
            key = option.get("key")
            if key is not None:
                key = str(key)
                if len(key) != 1 or key not in "0123456789*":
                    # '#' ends keypad input in Twilio's Gather: it can never be chosen.
                    raise self.error(f"{where}.key", f"{key!r} is not a single key from 0-9 or *")
                if key in seen:
                    raise self.error(f"{where}.key", f"key {key} is used twice")
                seen.add(key)
            intent = option.get("intent")
            if intent is not None and not isinstance(intent, str):
                raise self.error(f"{where}.intent", "must be an intent name")
            if key is None and intent is None:
                raise self.error(where, "needs a 'key', an 'intent' or both")
            self.options.append({"key": key, "intent": intent, "next": option["next"]})

    def targets(self) -> dict[str, str]:
        refs = {f"options[{i}].next": o["next"] for i, o in enumerate(self.options)}
        refs["on_failure"] = self.on_failure
        return refs

    def transitions(self) -> list[tuple[str, str]]:
        chosen = [(" · ".join(filter(None, (o["key"], o["intent"]))), o["next"])
                  for o in self.options]  # fmt: skip
        return [*chosen, ("on_failure", self.on_failure)]

    def prompts(self) -> dict[str, str]:
        refs = {"prompt": self.prompt, "no_input": self.no_input, "no_match": self.no_match}
        if self.failure_prompt:
            refs["failure_prompt"] = self.failure_prompt
        return refs

    def intents(self) -> list[str]:
        return [o["intent"] for o in self.options if o["intent"]]

    def enter(self, ctx: CallContext, reply: Reply) -> str | None:
        self._ask(ctx, reply, [ctx.text(self.prompt)])
        return None

    def _ask(self, ctx: CallContext, reply: Reply, texts: list[str]) -> None:
        hints = [p for i in self.intents() for p in ctx.catalogue.intents.get(i, ())[:5]]
        reply.gather(
            ctx.action(), texts, digits=1, speech=self.speech, timeout=self.timeout, hints=hints
        )

    def choose(self, ctx: CallContext) -> str | None:
        """The reference chosen by the request's keys or speech, if any."""
        digits = ctx.params.get("Digits", "")[:1]
        for option in self.options:
            if digits and option["key"] == digits:
                return str(option["next"])
        speech = ctx.params.get("SpeechResult", "")
        if speech and self.speech:
            # Urgency is weighed as everywhere ("pas urgent" is not), then the others.
            others = [i for i in self.intents() if i != URGENT_INTENT]
            urgent = URGENT_INTENT in self.intents() and says_urgent(speech, ctx.catalogue)
            intent = URGENT_INTENT if urgent else ctx.catalogue.match_intent(speech, others)
            for option in self.options:
                if intent and option["intent"] == intent:
                    return str(option["next"])
        return None

    def resume(self, ctx: CallContext, reply: Reply) -> str | None:
        chosen = self.choose(ctx)
        if chosen is not None:
            ctx.remember(last_choice=f"{self.key}:{chosen}")
            return chosen
        heard_something = bool(ctx.params.get("Digits") or ctx.params.get("SpeechResult"))
        tries = ctx.count_attempt(self.key)
        silences = 0 if heard_something else ctx.count_attempt(f"{self.key}:silence")
        if tries >= self.max_attempts or silences >= MAX_SILENCES:
            if self.failure_prompt:
                reply.say(ctx.text(self.failure_prompt))
            return self.on_failure
        retry = self.no_match if heard_something else self.no_input
        self._ask(ctx, reply, [ctx.text(retry), ctx.text(self.prompt)])
        return None


@node_type("transfer")
class Transfer(Node):
    """Ring the secretaries on duty (or the doctor on call); each presses 1 to take the call.

    The whisper tells them the practice and the context first, so a voicemail
    or a wrong number never takes the patient's call.
    """

    FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"prompt", "reason", "on_no_answer", "on_busy", "on_nobody", "next", "to"}
    )

    def parse(self) -> None:
        self.to: str = self.opt("to", str, "secretaries")
        if self.to not in ("secretaries", "on_call"):
            raise self.error("to", "must be 'secretaries' or 'on_call'")
        self.prompt: str | None = self.opt("prompt", str)
        self.reason: str = self.opt("reason", str, "other")
        self.on_no_answer: str = self.req("on_no_answer", str)
        # Every line rang busy: typically the queue (flows/queue.yaml).
        self.on_busy: str = self.opt("on_busy", str) or self.on_no_answer
        # Nobody on duty at this hour (the secretariat is closed): nothing rings.
        self.on_nobody: str = self.opt("on_nobody", str) or self.on_no_answer
        self.next: str | None = self.opt("next", str)

    def targets(self) -> dict[str, str]:
        refs = {"on_no_answer": self.on_no_answer, "on_busy": self.on_busy,
                "on_nobody": self.on_nobody}  # fmt: skip
        if self.next:
            refs["next"] = self.next
        return refs

    def prompts(self) -> dict[str, str]:
        refs = {"reason": f"reason_{self.reason}"}
        if self.prompt:
            refs["prompt"] = self.prompt
        return refs

    def numbers(self, ctx: CallContext) -> list[str]:
        if self.to == "on_call":
            doctor = ctx.practice.on_call_doctor(ctx.now)
            return [doctor.on_call_phone] if doctor and doctor.on_call_phone else []
        return [s.phone for s in ctx.practice.secretaries_on_duty(ctx.now)]

    def enter(self, ctx: CallContext, reply: Reply) -> str | None:
        numbers = self.numbers(ctx)
        if not numbers:
            return self.on_nobody
        query = {"call": ctx.call.id, "reason": self.reason, "practice": ctx.practice.id}
        whisper = routes.url(routes.WHISPER, query)
        if self.prompt:
            reply.say(ctx.text(self.prompt))
        ctx.remember(transfer_reason=self.reason)
        reply.dial(
            [(number, whisper) for number in numbers],
            action=ctx.action(),
            timeout=ctx.practice.ring_seconds,
            caller_id=ctx.call.caller
            if ctx.practice.present_caller and ctx.call.caller
            else ctx.practice.number,
            sequential=ctx.practice.transfer_mode == "sequential",
        )
        return None

    def resume(self, ctx: CallContext, reply: Reply) -> str | None:
        status = ctx.params.get("DialCallStatus", "")
        if status in ("completed", "answered"):
            ctx.call.outcome = "on-call" if self.to == "on_call" else "transferred"
            if self.next:
                return self.next
            reply.hangup()
            return None
        return self.on_busy if status == "busy" else self.on_no_answer


@node_type("record")
class Record(Node):
    """Take a message with the recordings policy's engine, once the caller could refuse.

    ``speech``: the words are gathered by speech recognition, no audio at all.
    ``twilio`` / ``local``: the prompt ends by offering a key (``*``) to refuse
    the recording, as the policy's notice promises; then ``<Record>`` with its
    status callback (and Twilio's transcription for ``twilio``).  ``realtime``:
    the same consent, then Twilio's real-time transcription while the caller
    speaks, until a key.  A refusal goes to ``on_refuse`` (a person, or the
    speech-only path).  Silence or a recording too short to hold words
    re-prompts, then gives up politely; a hang-up keeps what was said.
    What happens to the message next lives in :mod:`callcenter.messages`.
    """

    FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"prompt", "refuse_prompt", "max_length", "next", "on_failure", "on_refuse",
         "max_attempts", "no_input", "speech_prompt"}
    )  # fmt: skip
    REFUSE_KEY = "*"

    def parse(self) -> None:
        self.prompt: str = self.req("prompt", str)
        self.refuse_prompt: str = self.opt("refuse_prompt", str, "record_refuse_hint")
        self.speech_prompt: str = self.opt("speech_prompt", str, "message_speech_prompt")
        self.max_length = self.int_in("max_length", 120, 5, 600)
        self.max_attempts = self.int_in("max_attempts", 2, 1, 3)
        self.next: str = self.req("next", str)
        self.on_failure: str = self.req("on_failure", str)
        self.on_refuse: str = self.req("on_refuse", str)
        self.no_input: str = self.opt("no_input", str, "record_nothing_heard")

    def targets(self) -> dict[str, str]:
        return {"next": self.next, "on_failure": self.on_failure, "on_refuse": self.on_refuse}

    def prompts(self) -> dict[str, str]:
        return {"prompt": self.prompt, "refuse_prompt": self.refuse_prompt,
                "no_input": self.no_input, "speech_prompt": self.speech_prompt}  # fmt: skip

    def enter(self, ctx: CallContext, reply: Reply) -> str | None:
        if ctx.transcription == "speech":
            ctx.remember(phase=f"{self.key}:speech")
            # A key is heard too: 9 reaches the urgent route (any other is silence).
            texts = [*detail_asked(ctx), ctx.text(self.speech_prompt)]
            reply.gather(ctx.action(), texts, digits=1, timeout=5)
            return None
        ctx.remember(phase=f"{self.key}:consent")
        texts = [*detail_asked(ctx), ctx.text(self.prompt), ctx.text(self.refuse_prompt)]
        reply.gather(ctx.action(), texts, digits=1, speech=True, timeout=2)
        return None

    def barge_in(self, ctx: CallContext) -> BargeIn:
        phase = ctx.state.get("phase")
        if phase == f"{self.key}:consent":
            return ANSWER
        # The words are the message; while it is taken, every key ends it.
        return WORDS if phase == f"{self.key}:speech" else CAPTURE

    def resume(self, ctx: CallContext, reply: Reply) -> str | None:
        # What this step adds is written with the call, last, under the engine's retry check.
        with ctx.session.no_autoflush:
            return self._resume(ctx, reply)

    def _resume(self, ctx: CallContext, reply: Reply) -> str | None:
        phase = ctx.state.get("phase")
        if phase == f"{self.key}:consent":
            if ctx.params.get("Digits", "")[:1] == self.REFUSE_KEY:
                ctx.remember(phase=None, recording_refused=True)
                return self.on_refuse
            ctx.remember(phase=f"{self.key}:recording")
            self._capture(ctx, reply)
            return None
        taken: Message | None = None
        if phase == f"{self.key}:speech":
            words = ctx.params.get("SpeechResult", "").strip()
            if words:
                taken = messages.spoken(
                    ctx.session, ctx.call, words, ctx.now,
                    practice=ctx.practice, catalogue=ctx.catalogue,
                )  # fmt: skip
        elif ctx.transcription == "realtime":
            taken = self._realtime_done(ctx, reply)
        else:
            taken = self._recorded(ctx)
        if taken is not None:
            self._taken(ctx, taken)
            return self.next
        if ctx.count_attempt(self.key) >= self.max_attempts:
            ctx.remember(phase=None)
            return self.on_failure
        reply.say(ctx.text(self.no_input))
        return self.enter(ctx, reply)

    def _capture(self, ctx: CallContext, reply: Reply) -> None:
        if ctx.transcription == "realtime":
            ref = realtime.new_ref()
            ctx.remember(realtime_ref=ref)
            # Absolute when the public URL is known: Twilio resolves no relative URL here.
            url = f"{ctx.public_base_url}" + routes.url(routes.REALTIME, {"ref": ref})
            reply.start_transcription(ref, url)
            # Any key ends the message; no audio is recorded meanwhile.
            reply.gather(ctx.action(), [], digits=1, speech=False, timeout=self.max_length,
                         finish_on_key="")  # fmt: skip
            return
        twilio = ctx.transcription == "twilio"
        reply.record(ctx.action(), max_length=self.max_length,
                     status_callback=routes.RECORDING,
                     transcribe_callback=routes.TRANSCRIPTION if twilio else None)  # fmt: skip

    def _recorded(self, ctx: CallContext) -> Message | None:
        """The message of the recording this request names; None when it holds no words."""
        sid = ctx.params.get("RecordingSid", "")
        if not (sid.startswith("RE") and len(sid) == 34):
            return None
        duration = messages.seconds(ctx.params.get("RecordingDuration"))
        if duration is not None and duration < messages.MIN_RECORDING_SECONDS:
            messages.delete_at_twilio(ctx.session, ctx.call.practice_id, "recording", sid, ctx.now)
            return None
        return messages.recorded(ctx.session, ctx.call, sid, duration, ctx.now,
                                 engine=ctx.transcription, practice=ctx.practice)  # fmt: skip

    def _realtime_done(self, ctx: CallContext, reply: Reply) -> Message | None:
        ref = str(ctx.state.get("realtime_ref", ""))
        if not ref:
            return None
        reply.stop_transcription(ref)
        pressed = bool(ctx.params.get("Digits"))
        if not pressed and not realtime.heard_anything(ctx.session, ref):
            return None  # silence; words arriving later still make a message when it stops
        message = realtime.open_message(ctx.session, ctx.call, ref, ctx.now, practice=ctx.practice)
        realtime.finish(ctx.session, ctx.call, ref, ctx.now, practice=ctx.practice,
                        catalogue=ctx.catalogue)  # fmt: skip
        return message

    @staticmethod
    def _taken(ctx: CallContext, message: Message) -> None:
        ctx.remember(phase=None, message_id=message.id)
        ctx.call.outcome = "message"


@node_type("speech_message")
class SpeechMessage(Node):
    """Take a message by speech recognition: Twilio returns text, no audio is recorded.

    With ``on_person``, key 3 reaches a person instead (a caller who refused
    the recording is offered both, as the consent rules ask).
    """

    FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"prompt", "next", "on_failure", "max_attempts", "no_input", "on_person", "person_prompt"}
    )
    PERSON_KEY = "3"

    def parse(self) -> None:
        self.prompt: str = self.req("prompt", str)
        self.max_attempts = self.int_in("max_attempts", 2, 1, 3)
        self.next: str = self.req("next", str)
        self.on_failure: str = self.req("on_failure", str)
        self.no_input: str = self.opt("no_input", str, "record_nothing_heard")
        self.on_person: str | None = self.opt("on_person", str)
        self.person_prompt: str = self.opt("person_prompt", str, "message_person_hint")

    def targets(self) -> dict[str, str]:
        refs = {"next": self.next, "on_failure": self.on_failure}
        if self.on_person:
            refs["on_person"] = self.on_person
        return refs

    def prompts(self) -> dict[str, str]:
        refs = {"prompt": self.prompt, "no_input": self.no_input}
        if self.on_person:
            refs["person_prompt"] = self.person_prompt
        return refs

    def enter(self, ctx: CallContext, reply: Reply) -> str | None:
        texts = [*detail_asked(ctx), ctx.text(self.prompt)]
        if self.on_person:
            texts.insert(0, ctx.text(self.person_prompt))
        # Keys are heard even without a person to reach: 9 is the urgent route.
        reply.gather(ctx.action(), texts, digits=1, timeout=5)
        return None

    def barge_in(self, ctx: CallContext) -> BargeIn:
        return WORDS  # the words are the message, kept as said

    def resume(self, ctx: CallContext, reply: Reply) -> str | None:
        if self.on_person and ctx.params.get("Digits", "")[:1] == self.PERSON_KEY:
            return self.on_person
        words = ctx.params.get("SpeechResult", "").strip()
        if words:
            with ctx.session.no_autoflush:  # written with the call, under its retry check
                message = messages.spoken(
                    ctx.session, ctx.call, words, ctx.now,
                    practice=ctx.practice, catalogue=ctx.catalogue,
                )  # fmt: skip
            Record._taken(ctx, message)
            return self.next
        if ctx.count_attempt(self.key) >= self.max_attempts:
            return self.on_failure
        reply.say(ctx.text(self.no_input))
        return self.enter(ctx, reply)
