"""The open first question: the caller says what they want in their own words, or keys it.

Keys work exactly as the keypad menu's options.  Words go through
callcenter.understanding: the request found takes the caller straight to its
journey with what they said (doctor, day, half-day) kept in the call's state,
where the appointment nodes read it.  Hours and address are answered here and
the question asked again; what is not understood gets one reformulation, then
the keypad menu (``fallback``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from callcenter.core.spoken import spoken_time
from callcenter.ivr.nodes.base import CallContext, node_type
from callcenter.ivr.nodes.basic import Menu
from callcenter.ivr.nodes.understood import asked_booking, understood
from callcenter.ivr.twiml import Reply
from callcenter.ivr.urgency import says_urgent
from callcenter.understanding import Request

# Intents whose journey is a request (or a message) of that kind.
MESSAGE_KINDS = ("prescription", "results", "certificate")
# Intents the node answers itself, then asks again.
ANSWERED = ("hours", "address")
# Where each understood intent may be routed by the flow file (``understood:``).
ROUTABLE = frozenset(
    {"book", "cancel", "move", "message", "secretary", "urgent", "late", *MESSAGE_KINDS}
)


@node_type("open_question")
class OpenQuestion(Menu):
    """A menu whose speech is understood as a whole request, not matched as one option."""

    FIELDS: ClassVar[frozenset[str]] = Menu.FIELDS | {"understood", "fallback", "question"}

    def parse(self) -> None:
        super().parse()
        self.question: str = self.opt("question", str, "open_question")
        self.fallback: str = self.req("fallback", str)
        routes = self.req("understood", dict)
        unknown = set(routes) - ROUTABLE
        if unknown:
            raise self.error(f"understood.{sorted(unknown)[0]}", "is not an understood intent")
        if not all(isinstance(v, str) for v in routes.values()):
            raise self.error("understood", "each intent needs a node reference")
        self.understood: dict[str, str] = dict(routes)

    def targets(self) -> dict[str, str]:
        refs = super().targets()
        refs.update({f"understood.{k}": v for k, v in self.understood.items()})
        refs["fallback"] = self.fallback
        return refs

    def transitions(self) -> list[tuple[str, str]]:
        # Words that lead where a key already does are that key's edge: one arrow per way on.
        keyed = {o["next"] for o in self.options}
        said = [(f"« {intent} »", ref) for intent, ref in self.understood.items()
                if ref not in keyed]  # fmt: skip
        return [*super().transitions(), *said, ("fallback", self.fallback)]

    def prompts(self) -> dict[str, str]:
        return {**super().prompts(), "question": self.question, "again": "open_question_again",
                "hours_open": "open_hours_today", "hours_closed": "open_hours_closed",
                "address": "open_address", "no_address": "open_no_address"}  # fmt: skip

    def enter(self, ctx: CallContext, reply: Reply) -> str | None:
        self._ask(ctx, reply, [ctx.text(self.question), ctx.text(self.prompt)])
        return None

    def resume(self, ctx: CallContext, reply: Reply) -> str | None:
        speech = ctx.params.get("SpeechResult", "")[:500]
        request = None if ctx.params.get("Digits") else understood(ctx, speech)
        if request is None:
            return super().resume(ctx, reply)
        if request.intent in ANSWERED:
            reply.say(self._answer(ctx, request.intent))
            self._ask(ctx, reply, [ctx.text(self.prompt)])
            return None
        ref = self._route(ctx, request)
        if ref is not None:
            ctx.remember(last_choice=f"{self.key}:{ref}")
            return ref
        if ctx.count_attempt(f"{self.key}:understood") >= 2:
            return self.fallback
        self._ask(ctx, reply, [ctx.text("open_question_again"), ctx.text(self.prompt)])
        return None

    def _route(self, ctx: CallContext, request: Request) -> str | None:
        """Where the request goes, with what it said kept for the journey's nodes."""
        # The practice's own urgent words (practice file) count as in every question.
        urgent = request.urgent or says_urgent(ctx.params.get("SpeechResult", ""), ctx.catalogue)
        intent = "urgent" if urgent else request.intent
        ref = self.understood.get(intent)
        if ref is None:
            return None
        if intent == "book":
            ctx.remember(appt_asked=asked_booking(request))
        elif intent in ("cancel", "move"):
            ctx.remember(appt_asked={"want": "mine"})
        elif intent in MESSAGE_KINDS:
            # The doctor named (« pour le docteur Bernard »), so the request asks no more.
            ctx.remember(message_kind=intent, request_doctor=request.doctor)
        elif intent == "late":
            ctx.remember(message_kind=intent)
        return ref

    def _answer(self, ctx: CallContext, intent: str) -> str:
        practice = ctx.practice
        if intent == "address":
            if not practice.address:
                return ctx.text("open_no_address")
            return ctx.catalogue.text("open_address", {**ctx.variables(),
                                                       "address": practice.address})  # fmt: skip
        local = ctx.now.astimezone(practice.tz)
        sessions = practice.hours.get(local.weekday(), ())
        if practice.opening_status(ctx.now) in ("open", "lunch") and sessions:
            hours = " et ".join(
                f"de {spoken_time(_at(local, a))} à {spoken_time(_at(local, b))}"
                for a, b in sessions
            )
            return ctx.catalogue.text("open_hours_today", {**ctx.variables(), "hours": hours})
        return ctx.text("open_hours_closed")


def _at(local: datetime, clock: Any) -> datetime:
    return local.replace(hour=clock.hour, minute=clock.minute, second=0, microsecond=0)
