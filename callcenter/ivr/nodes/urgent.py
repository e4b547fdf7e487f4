"""Urgent routing: the on-call doctor is told at once that an urgent call is waiting."""

from __future__ import annotations

from typing import ClassVar

from callcenter.core.logs import get_logger
from callcenter.ivr.nodes.base import CallContext, Node, node_type
from callcenter.ivr.twiml import Reply
from callcenter.notify.notices import queue_notice

log = get_logger("callcenter.urgent")


@node_type("notify_on_call")
class NotifyOnCall(Node):
    """Queue an SMS to the doctor on call now: the practice and a reference, nothing else.

    Sent right after this answer; a retried request queues nothing twice.
    With nobody on call (office hours), the secretaries handle the call.
    """

    FIELDS: ClassVar[frozenset[str]] = frozenset({"kind", "next"})
    KINDS = ("urgent-call", "urgent-message")

    def parse(self) -> None:
        self.kind: str = self.opt("kind", str, "urgent-call")
        if self.kind not in self.KINDS:
            raise self.error("kind", f"must be one of {', '.join(self.KINDS)}")
        self.next: str = self.req("next", str)

    def targets(self) -> dict[str, str]:
        return {"next": self.next}

    def prompts(self) -> dict[str, str]:
        return {"kind": f"sms_{self.kind.replace('-', '_')}"}

    def enter(self, ctx: CallContext, reply: Reply) -> str | None:
        doctor = ctx.practice.on_call_doctor(ctx.now)
        if doctor is None:
            log.info("no_doctor_on_call", call=ctx.call.id)
            return self.next
        queue_notice(ctx.session, practice_id=ctx.practice.id, call_id=ctx.call.id,
                     doctor_id=doctor.id, kind=self.kind, now=ctx.now)  # fmt: skip
        return self.next
