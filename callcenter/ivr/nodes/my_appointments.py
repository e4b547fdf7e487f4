"""Cancel or move an appointment (docs/configuration/appointments.md), for an identified caller.

``my_appointments`` speaks the caller's upcoming appointments (date and
doctor only), lets them pick one and choose cancel or move;
``cancel_appointment`` confirms, then cancels and frees the slot at once.
Moving hands over to ``offer_slots`` with the same doctor and kind; the new
slot is booked before the old one is freed (``confirm_booking``).

A withheld caller who keyed a number is told to call from their own number:
typing a number proves nothing, so it never reaches anyone's appointments.
"""

from __future__ import annotations

from typing import ClassVar

from callcenter.appointments import booking
from callcenter.appointments.models import Appointment
from callcenter.ivr.nodes.asking import (
    PERSON_KEY,
    SLOT_INTENTS,
    AskingNode,
    YesNoNode,
    doctor_called,
    heard,
    hints,
    intent,
    say_text,
    when,
)
from callcenter.ivr.nodes.base import CallContext, node_type
from callcenter.ivr.twiml import Reply

MAX_LISTED = 3


def own_appointment(ctx: CallContext, appointment_id: object) -> Appointment | None:
    """The caller's appointment of that id, or None (someone else's is never shown).

    Read without flushing the call's pending changes, which the engine's
    versioned store must write last (a concurrent retry is caught there).
    """
    if not appointment_id:
        return None
    with ctx.session.no_autoflush:
        row = ctx.session.get(Appointment, str(appointment_id))
    return row if row is not None and row.patient_id == ctx.call.patient_id else None


@node_type("my_appointments")
class MyAppointments(AskingNode):
    """The caller's next appointments; pick one (1-3), then 1 cancels, 2 moves it.

    No upcoming appointment goes to ``none``; key 0 or "secrétariat" to a person.
    """

    FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"cancel", "move", "none", "on_failure", "failure_prompt", "max_attempts", "timeout"}
    )
    TEXTS: ClassVar[dict[str, str]] = {
        "none": "appt_none_upcoming", "count": "appt_mine_count", "item": "appt_mine_item",
        "one": "appt_mine_one", "action": "appt_mine_action", "own_number": "appt_mine_own_number",
    }  # fmt: skip

    def parse(self) -> None:
        self.cancel: str = self.req("cancel", str)
        self.move: str = self.req("move", str)
        self.none: str = self.req("none", str)
        self.parse_common()

    def targets(self) -> dict[str, str]:
        return {"cancel": self.cancel, "move": self.move, "none": self.none,
                "on_failure": self.on_failure}  # fmt: skip

    def prompts(self) -> dict[str, str]:
        return {**self.TEXTS, **self.common_prompts()}

    def intents(self) -> list[str]:
        return ["appt_cancel", "appt_move", "secretary", *SLOT_INTENTS]

    def enter(self, ctx: CallContext, reply: Reply) -> str | None:
        if ctx.state.get("caller_keyed"):
            # A number typed by a withheld caller proves nothing: cancelling or
            # moving needs the call to come from the patient's own number.
            ctx.remember(phase=None)
            reply.say(ctx.text(self.TEXTS["own_number"]))
            return self.none
        patient_id = ctx.call.patient_id
        if patient_id is None:
            return self.on_failure
        with ctx.session.no_autoflush:
            rows = booking.upcoming(ctx.session, ctx.practice.id, patient_id, ctx.now, MAX_LISTED)
        if not rows:
            ctx.remember(phase=None)
            reply.say(ctx.text(self.TEXTS["none"]))
            return self.none
        ctx.remember(appt_mine=[r.id for r in rows])
        if len(rows) == 1:
            return self._picked(ctx, reply, rows[0])
        ctx.remember(phase=f"{self.key}:pick")
        texts = [say_text(ctx, self.TEXTS["count"], count=len(rows))]
        texts += [self._describe(ctx, "item", r, key=i) for i, r in enumerate(rows, start=1)]
        self.ask(ctx, reply, texts, hints(ctx, SLOT_INTENTS))
        return None

    def resume(self, ctx: CallContext, reply: Reply) -> str | None:
        key, speech = heard(ctx)
        if key == PERSON_KEY or intent(ctx, speech, ["secretary"]):
            ctx.remember(phase=None)
            return self.on_failure
        if ctx.state.get("phase") == f"{self.key}:pick":
            return self._on_pick(ctx, reply, key, speech)
        target = self._target(ctx)
        if target is None:
            return self.enter(ctx, reply)
        if key == "1" or intent(ctx, speech, ["appt_cancel"]):
            ctx.remember(phase=None)
            return self.cancel
        if key == "2" or intent(ctx, speech, ["appt_move"]):
            ctx.remember(
                phase=None, appt_moving=target.id, appt_doctor=target.doctor_id,
                appt_kind=target.kind, appt_after=None, appt_day=None, appt_half=None,
            )  # fmt: skip
            return self.move
        return self._again(ctx, reply)

    def _on_pick(self, ctx: CallContext, reply: Reply, key: str, speech: str) -> str | None:
        mine = list(ctx.state.get("appt_mine") or [])
        index = int(key) - 1 if key.isdigit() and key != "0" else None
        ordinal = intent(ctx, speech, list(SLOT_INTENTS))
        if index is None and ordinal is not None:
            index = SLOT_INTENTS.index(ordinal)
        row = own_appointment(ctx, mine[index]) if index is not None and index < len(mine) else None
        if row is None:
            return self._again(ctx, reply)
        return self._picked(ctx, reply, row)

    def _picked(self, ctx: CallContext, reply: Reply, row: Appointment) -> str | None:
        ctx.remember(appt_target=row.id, phase=f"{self.key}:action")
        texts = [self._describe(ctx, "one", row), ctx.text(self.TEXTS["action"])]
        self.ask(ctx, reply, texts, hints(ctx, ["appt_cancel", "appt_move"]))
        return None

    def _again(self, ctx: CallContext, reply: Reply) -> str | None:
        if self.gives_up(ctx, reply):
            return self.on_failure
        key, speech = heard(ctx)
        reply.say(ctx.text("menu_no_match" if key or speech else "menu_no_input"))
        target = self._target(ctx)
        if ctx.state.get("phase") == f"{self.key}:action" and target is not None:
            return self._picked(ctx, reply, target)
        return self.enter(ctx, reply)

    def _target(self, ctx: CallContext) -> Appointment | None:
        return own_appointment(ctx, ctx.state.get("appt_target"))

    def _describe(self, ctx: CallContext, text: str, row: Appointment, **values: object) -> str:
        return say_text(ctx, self.TEXTS[text], when=when(ctx, row.starts_at),
                        doctor=doctor_called(ctx, row.doctor_id), **values)  # fmt: skip


@node_type("cancel_appointment")
class CancelAppointment(YesNoNode):
    """Confirm, then cancel the appointment picked in ``my_appointments``; 2 keeps it (``back``)."""

    TEXTS: ClassVar[dict[str, str]] = {
        "confirm": "appt_cancel_confirm", "done": "appt_cancelled",
        "gone": "appt_already_cancelled", "kept": "appt_kept",
    }  # fmt: skip

    def enter(self, ctx: CallContext, reply: Reply) -> str | None:
        row = own_appointment(ctx, ctx.state.get("appt_target"))
        if row is None or ctx.state.get("caller_keyed"):
            return self.on_failure
        text = say_text(ctx, self.TEXTS["confirm"], when=when(ctx, row.starts_at),
                        doctor=doctor_called(ctx, row.doctor_id))  # fmt: skip
        self.ask(ctx, reply, [text], hints(ctx, ["yes", "no"]))
        return None

    def resume(self, ctx: CallContext, reply: Reply) -> str | None:
        key, speech = heard(ctx)
        if key == PERSON_KEY or intent(ctx, speech, ["secretary"]):
            return self.on_failure
        if key == "2" or intent(ctx, speech, ["no"]):
            reply.say(ctx.text(self.TEXTS["kept"]))
            return self.back
        if key == "1" or intent(ctx, speech, ["yes"]):
            target, patient_id = ctx.state.get("appt_target"), ctx.call.patient_id
            with ctx.session.no_autoflush:
                done = bool(target) and booking.release(
                    ctx.session, str(target), patient_id, booking.CANCELLED, ctx.now
                )
            ctx.remember(appt_target=None, appt_mine=None)
            if done:
                ctx.call.outcome = "cancelled"
            reply.say(ctx.text(self.TEXTS["done" if done else "gone"]))
            return self.next
        return self.retry(ctx, reply)
