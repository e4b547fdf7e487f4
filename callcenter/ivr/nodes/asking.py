"""What the appointment node types share: asking by keypad and speech, speaking slots.

Used by :mod:`callcenter.ivr.nodes.appointment` and :mod:`callcenter.ivr.nodes.my_appointments`.
Key 0 (or the ``secretary`` intent) always leads to a person (``on_failure``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from callcenter.config.prompts import fold
from callcenter.config.schedules import BookingRules
from callcenter.core.spoken import spoken_datetime, with_article
from callcenter.ivr.nodes.base import MAX_SILENCES, CallContext, Node
from callcenter.ivr.twiml import Reply

PERSON_KEY = "0"
SLOT_INTENTS = ("slot_1", "slot_2", "slot_3")


def rules_of(ctx: CallContext) -> BookingRules | None:
    return ctx.practice.appointments


def say_text(ctx: CallContext, prompt: str, **values: Any) -> str:
    """A catalogue text with the call's variables and ``values`` filled in."""
    return ctx.catalogue.text(prompt, {**ctx.variables(), **values})


def doctor_called(ctx: CallContext, doctor_id: str) -> str:
    """The doctor as said after "avec" or "pour": "le docteur Bernard"."""
    doctor = next((d for d in ctx.practice.doctors if d.id == doctor_id), None)
    return with_article(doctor.called) if doctor else ""


def name_words(ctx: CallContext, doctor_id: str) -> set[str]:
    """The words that name a doctor in speech: those of their name as the file writes it.

    Not their ``called`` form, whose titles ("docteur") every doctor shares.
    """
    doctor = next(d for d in ctx.practice.doctors if d.id == doctor_id)
    return {w for w in fold(doctor.name).split() if len(w) > 2}


def when(ctx: CallContext, moment: datetime) -> str:
    return spoken_datetime(moment.astimezone(ctx.practice.tz))


def heard(ctx: CallContext) -> tuple[str, str]:
    """The first key pressed and the words said ('' when none)."""
    return ctx.params.get("Digits", "")[:1], ctx.params.get("SpeechResult", "")[:500]


def intent(ctx: CallContext, speech: str, names: list[str]) -> str | None:
    return ctx.catalogue.match_intent(speech, names) if speech else None


def hints(ctx: CallContext, names: tuple[str, ...] | list[str]) -> list[str]:
    return [p for name in names for p in ctx.catalogue.intents.get(name, ())[:3]]


class AskingNode(Node):
    """A node that asks by keypad and speech with bounded re-prompts, then ``on_failure``."""

    def parse_common(self) -> None:
        self.on_failure: str = self.req("on_failure", str)
        self.max_attempts = self.int_in("max_attempts", 3, 1, 5)
        self.timeout = self.int_in("timeout", 6, 2, 20)
        # Said when giving up, so the caller knows where ``on_failure`` takes them.
        self.failure_prompt: str | None = self.opt("failure_prompt", str)

    def common_prompts(self) -> dict[str, str]:
        return {"failure_prompt": self.failure_prompt} if self.failure_prompt else {}

    def gives_up(self, ctx: CallContext, reply: Reply) -> bool:
        """Count this try; True (the failure prompt said) once tries or silences run out."""
        key, speech = heard(ctx)
        tries = ctx.count_attempt(self.key)
        silences = 0 if key or speech else ctx.count_attempt(f"{self.key}:silence")
        if tries < self.max_attempts and silences < MAX_SILENCES:
            return False
        ctx.remember(phase=None)
        if self.failure_prompt:
            reply.say(ctx.text(self.failure_prompt))
        return True

    def ask(self, ctx: CallContext, reply: Reply, texts: list[str], words: list[str],
            digits: int = 1) -> None:  # fmt: skip
        reply.gather(ctx.action(), texts, digits=digits, speech=True, timeout=self.timeout,
                     hints=words)  # fmt: skip

    def retry(self, ctx: CallContext, reply: Reply) -> str | None:
        """Not understood: say so and ask again, or give up after ``max_attempts``."""
        key, speech = heard(ctx)
        if self.gives_up(ctx, reply):
            return self.on_failure
        why = "menu_no_match" if key or speech else "menu_no_input"
        reply.say(ctx.text(why))
        return self.enter(ctx, reply)


class YesNoNode(AskingNode):
    """A yes / no question: ``next`` once done, ``back`` on "non"; its words in ``TEXTS``."""

    FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"next", "back", "on_failure", "failure_prompt", "max_attempts", "timeout"}
    )
    TEXTS: ClassVar[dict[str, str]] = {}

    def parse(self) -> None:
        self.next: str = self.req("next", str)
        self.back: str = self.req("back", str)
        self.parse_common()

    def targets(self) -> dict[str, str]:
        return {"next": self.next, "back": self.back, "on_failure": self.on_failure}

    def prompts(self) -> dict[str, str]:
        return {**self.TEXTS, **self.common_prompts()}

    def intents(self) -> list[str]:
        return ["yes", "no", "secretary"]
