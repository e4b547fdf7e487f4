"""Requests on the phone: which doctor it is for, then the detail in one sentence.

Two node types, used after ``identify`` (docs/configuration/flows.md):
``request_doctor`` asks which doctor only when the practice has several and
the caller named none at the open question (the practice otherwise), and
``request_detail`` takes the detail (a medication, which results) by speech
and stores the request (:mod:`callcenter.patient_requests`).  The detail is
gathered like every other answer of the line (Twilio's speech recognition,
no audio kept), not recorded: a few words need no recording, no consent and
no deletion at Twilio.  ``ctx.state`` holds the kind and a doctor's id, never
a personal value.  Both are ordinary questions: 9 and the words of urgency
reach the urgent route from them, as from any question.
"""

from __future__ import annotations

from typing import ClassVar

from callcenter.config.prompts import fold
from callcenter.ivr.nodes.asking import (
    AskingNode,
    doctor_called,
    heard,
    intent,
    name_words,
    say_text,
)
from callcenter.ivr.nodes.base import MAX_SILENCES, CallContext, Node, node_type
from callcenter.ivr.nodes.understood import understood
from callcenter.ivr.twiml import Reply
from callcenter.patient_requests import desk

#: The call's state keys: the request's kind (set by the open question) and its doctor.
KIND, DOCTOR = "message_kind", "request_doctor"


@node_type("request_doctor")
class RequestDoctor(AskingNode):
    """Which doctor the request is for: key N, the doctor's name, or ``*`` for the practice.

    Skipped with one doctor (theirs) or when the caller already named one;
    not understood, it goes on for the practice (``on_failure``).
    """

    FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"next", "on_failure", "failure_prompt", "max_attempts", "timeout"}
    )
    ANY_KEY = "*"

    def parse(self) -> None:
        self.next: str = self.req("next", str)
        self.parse_common()

    def targets(self) -> dict[str, str]:
        return {"next": self.next, "on_failure": self.on_failure}

    def prompts(self) -> dict[str, str]:
        return {"question": "request_doctor_question", "option": "appt_doctor_option",
                "any": "request_doctor_any", **self.common_prompts()}  # fmt: skip

    def intents(self) -> list[str]:
        return ["any_doctor"]

    def _doctors(self, ctx: CallContext) -> list[str]:
        return [d.id for d in ctx.practice.doctors]

    def enter(self, ctx: CallContext, reply: Reply) -> str | None:
        doctors = self._doctors(ctx)
        if ctx.state.get(DOCTOR) in doctors:
            return self.next  # named at the open question
        if len(doctors) <= 1:
            ctx.remember(**{DOCTOR: doctors[0] if doctors else None})
            return self.next
        texts = [ctx.text("request_doctor_question")] + [
            say_text(ctx, "appt_doctor_option", doctor=doctor_called(ctx, d), key=i)
            for i, d in enumerate(doctors, start=1)
        ]
        texts.append(ctx.text("request_doctor_any"))
        self.ask(ctx, reply, texts, [d.called for d in ctx.practice.doctors])
        return None

    def resume(self, ctx: CallContext, reply: Reply) -> str | None:
        doctors = self._doctors(ctx)
        key, speech = heard(ctx)
        chosen: str | None = None
        if key.isdigit() and 1 <= int(key) <= len(doctors):
            chosen = doctors[int(key) - 1]
        elif key == self.ANY_KEY or intent(ctx, speech, ["any_doctor"]):
            ctx.remember(**{DOCTOR: None})
            return self.next
        elif speech:
            request = understood(ctx, speech)
            words = set(fold(speech).split())
            named = [d for d in doctors if name_words(ctx, d) & words]
            if request is not None and request.doctor in doctors:
                chosen = request.doctor
            elif len(named) == 1:
                chosen = named[0]
        if chosen is not None:
            ctx.remember(**{DOCTOR: chosen})
            return self.next
        if self.gives_up(ctx, reply):
            ctx.remember(**{DOCTOR: None})  # for the practice: whoever handles requests
            return self.on_failure
        reply.say(ctx.text("menu_no_match" if key or speech else "menu_no_input"))
        return self.enter(ctx, reply)


@node_type("request_detail")
class RequestDetail(Node):
    """The detail in one sentence, then the request is stored; ``next`` once it is.

    The kind is the node's ``kind`` when the flow fixes one (a keypad option
    for renewals, say), else what the open question understood; without one
    there is no request to take, and the call goes to ``on_failure`` (a
    message).  Silence twice still stores the request, without its detail:
    the practice has the kind and the number to call back.
    """

    FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"kind", "prompt", "no_input", "next", "on_failure"}
    )

    def parse(self) -> None:
        self.kind: str | None = self.opt("kind", str)
        if self.kind is not None and self.kind not in desk.KINDS:
            raise self.error("kind", f"must be one of {', '.join(desk.KINDS)}")
        self.prompt: str = self.opt("prompt", str, "request_detail")
        self.no_input: str = self.opt("no_input", str, "record_nothing_heard")
        self.next: str = self.req("next", str)
        self.on_failure: str = self.req("on_failure", str)

    def targets(self) -> dict[str, str]:
        return {"next": self.next, "on_failure": self.on_failure}

    def prompts(self) -> dict[str, str]:
        return {"prompt": self.prompt, "no_input": self.no_input,
                **{kind: f"message_detail_{kind}" for kind in desk.KINDS}}  # fmt: skip

    def _kind(self, ctx: CallContext) -> str | None:
        kind = self.kind or ctx.state.get(KIND)
        return kind if kind in desk.KINDS else None

    def enter(self, ctx: CallContext, reply: Reply) -> str | None:
        kind = self._kind(ctx)
        if kind is None:
            return self.on_failure
        asked = f"message_detail_{kind}"
        text = ctx.text(asked if ctx.catalogue.has(asked) else self.prompt)
        reply.gather(ctx.action(), [text], digits=1, timeout=5)
        return None

    def resume(self, ctx: CallContext, reply: Reply) -> str | None:
        kind = self._kind(ctx)
        if kind is None:
            return self.on_failure
        words = ctx.params.get("SpeechResult", "").strip()[: desk.MAX_DETAIL_CHARS]
        if not words and ctx.count_attempt(self.key) < MAX_SILENCES:
            reply.say(ctx.text(self.no_input))
            return self.enter(ctx, reply)
        with ctx.session.no_autoflush:  # written with the call, under its retry check
            request = desk.capture(ctx.session, ctx.call, kind, words or None, ctx.now,
                                   doctor_id=ctx.state.get(DOCTOR))  # fmt: skip
        ctx.remember(request_id=request.id)
        ctx.call.outcome = "request"
        return self.next
