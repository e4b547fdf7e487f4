"""After a message: confirm it was received and offer a call-back at the caller's number."""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import update

from callcenter.core.spoken import spoken_phone
from callcenter.ivr.nodes.base import CallContext, Node, node_type
from callcenter.ivr.twiml import Reply
from callcenter.messages.models import Message


@node_type("offer_callback")
class OfferCallback(Node):
    """Key 1 asks the practice to call back the number the call came from (or the one keyed).

    The number the call came from is never read aloud (someone else may hold
    the phone); a number the withheld caller keyed is read back in pairs, so
    a mistyped one is heard.  With no number to call back, or no message
    taken, it goes straight on.
    """

    FIELDS: ClassVar[frozenset[str]] = frozenset({"prompt", "keyed_prompt", "confirmed", "next"})
    KEY = "1"

    def parse(self) -> None:
        self.prompt: str = self.opt("prompt", str, "message_callback_offer")
        # A withheld caller keyed the number: it is read back, not "the number you call from".
        self.keyed_prompt: str = self.opt("keyed_prompt", str, "message_callback_offer_keyed")
        self.confirmed: str = self.opt("confirmed", str, "message_callback_confirmed")
        self.next: str = self.req("next", str)

    def targets(self) -> dict[str, str]:
        return {"next": self.next}

    def prompts(self) -> dict[str, str]:
        return {"prompt": self.prompt, "keyed_prompt": self.keyed_prompt,
                "confirmed": self.confirmed}  # fmt: skip

    def enter(self, ctx: CallContext, reply: Reply) -> str | None:
        if not ctx.state.get("message_id") or not ctx.call.caller:
            return self.next
        if ctx.state.get("caller_keyed"):
            values = {**ctx.variables(), "number": spoken_phone(ctx.call.caller)}
            text = ctx.catalogue.text(self.keyed_prompt, values)
        else:
            text = ctx.text(self.prompt)
        reply.gather(ctx.action(), [text], digits=1, speech=True, timeout=5)
        return None

    def resume(self, ctx: CallContext, reply: Reply) -> str | None:
        if ctx.params.get("Digits", "")[:1] == self.KEY:
            statement = (
                update(Message)
                .where(Message.id == str(ctx.state.get("message_id")),
                       Message.call_id == ctx.call.id)
                .values(callback_requested=True)
                .execution_options(synchronize_session=False)
            )  # fmt: skip
            with ctx.session.no_autoflush:
                ctx.session.execute(statement)
            reply.say(ctx.text(self.confirmed))
        return self.next
