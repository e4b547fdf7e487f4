"""The full data-protection notice, one key away from the main menus (key 8).

The opening only says that the notice exists: the full text (the recordings
policy's ``notice``) is heard on demand, once per call, then the menu again.
When the practice publishes it (``privacy_notice_url``) and the caller's
number is known, key 1 after it sends the link by SMS, through the on-call
notices' outbox: queued in the call's transaction, sent after the answer,
retried by the worker.  No number is stored with it: the sender reads the
call's.  A number that replied STOP to the practice is not offered the SMS
(the send point would refuse it anyway).
"""

from __future__ import annotations

from typing import ClassVar

from callcenter.ivr.nodes.base import CallContext, Node, node_type
from callcenter.ivr.twiml import Reply
from callcenter.notify import optout
from callcenter.notify.notices import PRIVACY_NOTICE, queue_notice


@node_type("privacy_notice")
class PrivacyNotice(Node):
    """Read the full notice (not twice in a call), offer its link by SMS, go on to ``next``."""

    FIELDS: ClassVar[frozenset[str]] = frozenset({"prompt", "next"})
    SMS_KEY = "1"

    def parse(self) -> None:
        self.prompt: str = self.opt("prompt", str, "privacy_notice")
        self.next: str = self.req("next", str)

    def targets(self) -> dict[str, str]:
        return {"next": self.next}

    def prompts(self) -> dict[str, str]:
        return {"prompt": self.prompt, "sms_offer": "privacy_sms_offer",
                "sms_sent": "privacy_sms_sent", "sms": "sms_privacy_notice"}  # fmt: skip

    def enter(self, ctx: CallContext, reply: Reply) -> str | None:
        if ctx.state.get("notice_heard"):
            return self.next  # once per call: 8 again is the menu again
        ctx.remember(notice_heard=True)
        if not self._can_send(ctx):
            # Said inside the menu's Gather that follows: any key acts at once.
            reply.say(ctx.text(self.prompt))
            return self.next
        texts = [ctx.text(self.prompt), ctx.text("privacy_sms_offer")]
        reply.gather(ctx.action(), texts, digits=1, timeout=5)
        return None

    def resume(self, ctx: CallContext, reply: Reply) -> str | None:
        if ctx.params.get("Digits", "")[:1] == self.SMS_KEY and self._can_send(ctx):
            with ctx.session.no_autoflush:  # written with the call, under its retry check
                queue_notice(ctx.session, practice_id=ctx.practice.id, call_id=ctx.call.id,
                             doctor_id="", kind=PRIVACY_NOTICE, now=ctx.now)  # fmt: skip
            reply.say(ctx.text("privacy_sms_sent"))
        return self.next

    @staticmethod
    def _can_send(ctx: CallContext) -> bool:
        caller, practice = ctx.call.caller, ctx.practice
        return bool(practice.privacy_notice_url and caller) and not optout.is_opted_out(
            ctx.session, ctx.cipher, practice.id, caller or "", practice.blind_index_bits
        )
