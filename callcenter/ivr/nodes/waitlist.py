"""Joining the waiting list by phone when no slot suits (docs/configuration/appointments.md).

``waitlist_join`` follows ``offer_slots``: reached from "autre choix" (key 5,
the caller asked for it) or when no slot is free at all (then it asks first:
"Voulez-vous être prévenu par SMS… ? Tapez 1 pour oui").  It asks before
which day (a day said, or its day of the month on two keys) and the half-day
(1 morning, 2 afternoon, 3 either), then confirms in one sentence.  Only an
identified caller whose number is a mobile can join (the offers come by
SMS); any other is told to call back from a mobile and goes ``declined``.
When slots suiting the answer are free already, the caller hears them
(``slots``) instead.  ``ctx.state`` keeps the phase and ISO dates only.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import ClassVar

from callcenter.appointments.wishes import DAY_INTENTS, spoken_wish
from callcenter.config.schedules import SlotQuery
from callcenter.core.phone_numbers import is_mobile
from callcenter.core.spoken import DAYS, MONTHS
from callcenter.ivr.nodes.appointment import free_slots, schedule_of
from callcenter.ivr.nodes.asking import PERSON_KEY, AskingNode, heard, hints, intent, rules_of
from callcenter.ivr.nodes.base import CallContext, node_type
from callcenter.ivr.twiml import Reply
from callcenter.ivr.urgency import ANSWER, ENTRY, BargeIn
from callcenter.patients.models import Patient
from callcenter.waitlist import entries

#: Set by ``offer_slots`` when the caller pressed its waiting-list key: no yes/no question then.
WANTED = "waitlist_wanted"
PERIOD_KEYS = {"1": "morning", "2": "afternoon", "3": "any"}


@node_type("waitlist_join")
class WaitlistJoin(AskingNode):
    """Ask before which day and which half-day, then put the caller on the waiting list."""

    FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"next", "declined", "slots", "on_failure", "failure_prompt", "max_attempts", "timeout"}
    )
    TEXTS: ClassVar[dict[str, str]] = {
        "offer": "waitlist_offer", "before": "waitlist_before_question",
        "period": "waitlist_period_question", "joined": "waitlist_joined",
        "no_mobile": "waitlist_no_mobile", "free": "waitlist_slots_free",
        "day_invalid": "appt_day_invalid",
    }  # fmt: skip

    def parse(self) -> None:
        self.next: str = self.req("next", str)
        self.declined: str = self.req("declined", str)
        self.slots: str = self.req("slots", str)
        self.parse_common()

    def targets(self) -> dict[str, str]:
        return {"next": self.next, "declined": self.declined, "slots": self.slots,
                "on_failure": self.on_failure}  # fmt: skip

    def prompts(self) -> dict[str, str]:
        return {**self.TEXTS, **self.common_prompts()}

    def intents(self) -> list[str]:
        return ["yes", "no", "secretary", "morning", "afternoon", "any_doctor", *DAY_INTENTS]

    def barge_in(self, ctx: CallContext) -> BargeIn:
        # The day of the month never starts with 9 on its own: "9" stays urgent.
        return ENTRY if ctx.state.get("phase") == f"{self.key}:before" else ANSWER

    def enter(self, ctx: CallContext, reply: Reply) -> str | None:
        if schedule_of(ctx) is None:
            return self.on_failure
        if self._number(ctx) is None:
            ctx.remember(phase=None, **{WANTED: None})
            reply.say(ctx.text(self.TEXTS["no_mobile"]))
            return self.declined
        if ctx.state.get(WANTED):
            self._ask_before(ctx, reply)
            return None
        ctx.remember(phase=f"{self.key}:offer")
        self.ask(ctx, reply, [ctx.text(self.TEXTS["offer"])], hints(ctx, ["yes", "no"]))
        return None

    def resume(self, ctx: CallContext, reply: Reply) -> str | None:
        phase = str(ctx.state.get("phase") or "")
        key, speech = heard(ctx)
        if phase.endswith(":before") and ctx.params.get("Digits", "") != PERSON_KEY:
            key = ""  # "03", the 3rd: a leading 0 is part of the day
        if key == PERSON_KEY or intent(ctx, speech, ["secretary"]):
            ctx.remember(phase=None, **{WANTED: None})
            return self.on_failure
        if phase.endswith(":before"):
            return self._on_before(ctx, reply, speech)
        if phase.endswith(":period"):
            return self._on_period(ctx, reply, key, speech)
        if key == "1" or intent(ctx, speech, ["yes"]):
            self._ask_before(ctx, reply)
            return None
        if key == "2" or intent(ctx, speech, ["no"]):
            ctx.remember(phase=None)
            return self.declined
        return self.retry(ctx, reply)

    # -- before which day --------------------------------------------------------------
    def _ask_before(self, ctx: CallContext, reply: Reply, before: list[str] | None = None) -> None:
        ctx.remember(phase=f"{self.key}:before", **{WANTED: True})
        texts = [*(before or []), ctx.text(self.TEXTS["before"])]
        self.ask(ctx, reply, texts, hints(ctx, DAY_INTENTS[:8]), digits=2)

    def _on_before(self, ctx: CallContext, reply: Reply, speech: str) -> str | None:
        today = ctx.now.astimezone(ctx.practice.tz).date()
        keys = ctx.params.get("Digits", "")[:4]
        day = day_of_month(keys, today) if keys else None
        if day is None and speech:
            wish = spoken_wish(speech, ctx.catalogue, today)
            day = wish.day if wish else None
        if day is not None and day <= today:
            day = day + timedelta(days=7) if not keys else None  # "vendredi" said on a Friday
        if day is None:
            if self.gives_up(ctx, reply):
                ctx.remember(**{WANTED: None})
                return self.on_failure
            # Silence is not a day misheard: the caller is told they were not heard.
            why = self.TEXTS["day_invalid"] if keys or speech else "menu_no_input"
            self._ask_before(ctx, reply, [ctx.text(why)])
            return None
        ctx.remember(phase=f"{self.key}:period", waitlist_before=day.isoformat())
        self._ask_period(ctx, reply)
        return None

    # -- which half-day -----------------------------------------------------------------
    def _ask_period(self, ctx: CallContext, reply: Reply, before: list[str] | None = None) -> None:
        texts = [*(before or []), ctx.text(self.TEXTS["period"])]
        self.ask(ctx, reply, texts, hints(ctx, ["morning", "afternoon", "any_doctor"]))

    def _on_period(self, ctx: CallContext, reply: Reply, key: str, speech: str) -> str | None:
        period = PERIOD_KEYS.get(key)
        if period is None and speech:
            said = intent(ctx, speech, ["afternoon", "morning", "any_doctor"])
            period = {"morning": "morning", "afternoon": "afternoon", "any_doctor": "any"}.get(
                said or ""
            )
        if period is None:
            if self.gives_up(ctx, reply):
                ctx.remember(**{WANTED: None})
                return self.on_failure
            why = "menu_no_match" if key or speech else "menu_no_input"
            self._ask_period(ctx, reply, [ctx.text(why)])
            return None
        return self._join(ctx, reply, date.fromisoformat(str(ctx.state["waitlist_before"])),
                          period)  # fmt: skip

    def _join(self, ctx: CallContext, reply: Reply, before: date, period: str) -> str | None:
        found, rules, number = schedule_of(ctx), rules_of(ctx), self._number(ctx)
        ctx.remember(phase=None, waitlist_before=None, **{WANTED: None})
        if found is None or rules is None or number is None or ctx.call.patient_id is None:
            return self.on_failure
        doctor, kind = found
        half = None if period == "any" else period
        free = [s for s in free_slots(ctx, rules, doctor, kind, SlotQuery(half=half))
                if s.astimezone(ctx.practice.tz).date() < before]  # fmt: skip
        if free:  # nothing to wait for: the caller hears those slots
            reply.say(ctx.text(self.TEXTS["free"]))
            ctx.remember(appt_half=half, appt_day=None, appt_after=None)
            return self.slots
        entries.join(
            ctx.session, practice_id=ctx.practice.id, patient_id=ctx.call.patient_id,
            phone=number, doctor_id=doctor.doctor_id, before=before, period=period, now=ctx.now,
            source="phone", bits=ctx.practice.blind_index_bits,
        )  # fmt: skip
        ctx.call.outcome = "waitlist"
        text = ctx.catalogue.text(self.TEXTS["joined"], {**ctx.variables(),
                                                          "day": spoken_day(before)})  # fmt: skip
        reply.say(text)
        return self.next

    @staticmethod
    def _number(ctx: CallContext) -> str | None:
        """The identified patient's number, when it can receive SMS."""
        patient = ctx.session.get(Patient, ctx.call.patient_id) if ctx.call.patient_id else None
        number = patient.phone if patient is not None else None
        return number if number and is_mobile(number) else None


def day_of_month(keys: str, today: date) -> date | None:
    """Two keys, the day of the month → the next such day after today (this month or next)."""
    keys = keys.replace("#", "").strip()
    if not keys.isdigit() or not 1 <= int(keys) <= 31:
        return None
    year, month = today.year, today.month
    for _ in range(3):  # the 31st may skip a month
        try:
            day = date(year, month, int(keys))
        except ValueError:
            day = None
        if day is not None and day > today:
            return day
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def spoken_day(day: date) -> str:
    """ "vendredi 27 novembre", as the confirmation says it."""
    number = "1er" if day.day == 1 else str(day.day)
    return f"{DAYS[day.weekday()]} {number} {MONTHS[day.month - 1]}"
