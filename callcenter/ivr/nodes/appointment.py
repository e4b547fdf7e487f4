"""Booking by phone: the doctor, free slots, confirmation (docs/configuration/appointments.md).

Three node types, used after ``identify`` (a booking needs the patient
link): ``choose_doctor`` (keypad or the doctor's name by speech),
``offer_slots`` (a few free slots spoken naturally, later ones, a given day
or half-day) and ``confirm_booking`` (the slot again, then the booking; a
slot taken meanwhile is said so and other slots follow).  Nothing is booked
before the confirmation.  ``ctx.state`` keeps ids, ISO times and phases
only, never a personal value.  Key 0 always reaches a person (``on_failure``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, ClassVar

from callcenter.agenda import sync as agenda
from callcenter.appointments import booking, sms
from callcenter.appointments.wishes import DAY_INTENTS, keyed_day, spoken_wish
from callcenter.config.prompts import fold
from callcenter.config.schedules import (
    HALVES,
    BookingRules,
    DoctorSchedule,
    Kind,
    SlotQuery,
    booking_window,
)
from callcenter.config.schedules import free_slots as find_free_slots
from callcenter.ivr.nodes.asking import (
    PERSON_KEY,
    SLOT_INTENTS,
    AskingNode,
    YesNoNode,
    doctor_called,
    heard,
    hints,
    intent,
    name_words,
    rules_of,
    say_text,
    when,
)
from callcenter.ivr.nodes.base import CallContext, Node, node_type
from callcenter.ivr.nodes.understood import asked_booking, understood
from callcenter.ivr.twiml import Reply
from callcenter.ivr.urgency import ANSWER, ENTRY, BargeIn


# -- may appointments be handled now? ------------------------------------------------------
@node_type("appointments_open")
class AppointmentsOpen(Node):
    """Branch on whether booking by phone works now: ``available`` or ``unavailable``.

    Booking is automatic, so it works at any hour unless the practice turns
    it off (``appointments.outside_hours: false``): then only while open.
    No ``appointments:`` section at all means no booking by phone.
    """

    FIELDS: ClassVar[frozenset[str]] = frozenset({"available", "unavailable"})

    def parse(self) -> None:
        self.available: str = self.req("available", str)
        self.unavailable: str = self.req("unavailable", str)

    def targets(self) -> dict[str, str]:
        return {"available": self.available, "unavailable": self.unavailable}

    def enter(self, ctx: CallContext, reply: Reply) -> str | None:
        rules = rules_of(ctx)
        if rules is not None and (
            rules.outside_hours or ctx.practice.opening_status(ctx.now) == "open"
        ):
            return self.available
        return self.unavailable


# -- choose the doctor ---------------------------------------------------------------------
@node_type("choose_doctor")
class ChooseDoctor(AskingNode):
    """Which doctor: skipped with one doctor (or when moving); key N or the doctor's name.

    ``*`` (or "peu importe") takes the doctor with the soonest free slot.
    """

    ANY_KEY = "*"

    FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"next", "on_failure", "failure_prompt", "max_attempts", "timeout"}
    )

    def parse(self) -> None:
        self.next: str = self.req("next", str)
        self.parse_common()

    def targets(self) -> dict[str, str]:
        return {"next": self.next, "on_failure": self.on_failure}

    def prompts(self) -> dict[str, str]:
        return {"question": "appt_doctor_question", "option": "appt_doctor_option",
                "any": "appt_doctor_any", **self.common_prompts()}  # fmt: skip

    def intents(self) -> list[str]:
        return ["secretary", "any_doctor"]

    def enter(self, ctx: CallContext, reply: Reply) -> str | None:
        rules = rules_of(ctx)
        if rules is None or ctx.call.patient_id is None:
            return self.on_failure
        if ctx.state.get("appt_moving"):
            return self.next  # the doctor of the appointment being moved
        doctors = list(rules.doctors)
        if len(doctors) == 1:
            return self._chosen(ctx, doctors[0])
        texts = [ctx.text("appt_doctor_question")] + [
            say_text(ctx, "appt_doctor_option", doctor=doctor_called(ctx, d), key=i)
            for i, d in enumerate(doctors, start=1)
        ]
        texts.append(ctx.text("appt_doctor_any"))
        self.ask(ctx, reply, texts, [self._surname(ctx, d) for d in doctors])
        return None

    def resume(self, ctx: CallContext, reply: Reply) -> str | None:
        rules = rules_of(ctx)
        if rules is None:
            return self.on_failure
        doctors = list(rules.doctors)
        key, speech = heard(ctx)
        if key == PERSON_KEY or intent(ctx, speech, ["secretary"]):
            return self.on_failure
        if key.isdigit() and 1 <= int(key) <= len(doctors):
            return self._chosen(ctx, doctors[int(key) - 1])
        if key == self.ANY_KEY or intent(ctx, speech, ["any_doctor"]):
            return self._chosen(ctx, self._soonest(ctx, rules))
        request = understood(ctx, speech)
        if request is not None and request.doctor in doctors:
            # « le docteur Bernard jeudi après-midi »: the day is kept for the slots.
            ctx.remember(appt_asked=asked_booking(request))
            return self._chosen(ctx, request.doctor)
        if speech:
            words = set(fold(speech).split())
            named = [d for d in doctors if name_words(ctx, d) & words]
            if len(named) == 1:
                return self._chosen(ctx, named[0])
        return self.retry(ctx, reply)

    @staticmethod
    def _soonest(ctx: CallContext, rules: BookingRules) -> str:
        """The doctor whose first free slot comes soonest (the first doctor if none has one)."""
        new_patient = ctx.state.get("identity") == "new"
        firsts = []
        for doctor in rules.doctors.values():
            kind = rules.kind_for(doctor, new_patient=new_patient)
            found = free_slots(ctx, rules, doctor, kind, SlotQuery())
            if found:
                firsts.append((found[0], doctor.doctor_id))
        return min(firsts)[1] if firsts else next(iter(rules.doctors))

    def _chosen(self, ctx: CallContext, doctor_id: str) -> str:
        # A day said at the open question is kept once the doctor is chosen.
        asked = ctx.state.get("appt_asked") or {}
        ctx.remember(appt_doctor=doctor_id, appt_after=None, appt_day=asked.get("day"),
                     appt_half=asked.get("half"), appt_asked=None)  # fmt: skip
        return self.next

    @staticmethod
    def _surname(ctx: CallContext, doctor_id: str) -> str:
        doctor = next(d for d in ctx.practice.doctors if d.id == doctor_id)
        return doctor.called


# -- offer slots ---------------------------------------------------------------------------
@node_type("asked_for")
class AskedFor(Node):
    """After identification: straight on to what the open question understood, if anything.

    A booking with a named doctor goes to ``slots`` with that doctor, day and
    half-day; one without to ``book`` (the doctor question, the day kept);
    a cancel or move to ``mine``; nothing asked to ``otherwise`` (the menu).
    """

    FIELDS: ClassVar[frozenset[str]] = frozenset({"book", "slots", "mine", "otherwise"})

    def parse(self) -> None:
        self.book: str = self.req("book", str)
        self.slots: str = self.req("slots", str)
        self.mine: str = self.req("mine", str)
        self.otherwise: str = self.req("otherwise", str)

    def targets(self) -> dict[str, str]:
        return {"book": self.book, "slots": self.slots, "mine": self.mine,
                "otherwise": self.otherwise}  # fmt: skip

    def enter(self, ctx: CallContext, reply: Reply) -> str | None:
        asked = ctx.state.get("appt_asked") or {}
        rules = rules_of(ctx)
        if asked.get("want") == "mine":
            ctx.remember(appt_asked=None)
            return self.mine
        said = any(asked.get(k) for k in ("doctor", "day", "half"))
        if asked.get("want") != "book" or not said or rules is None:
            ctx.remember(appt_asked=None)
            return self.otherwise
        doctor = asked.get("doctor")
        if doctor not in rules.doctors:
            return self.book  # the doctor question keeps the day (ChooseDoctor._chosen)
        ctx.remember(appt_doctor=doctor, appt_after=None, appt_day=asked.get("day"),
                     appt_half=asked.get("half"), appt_asked=None)  # fmt: skip
        return self.slots


@node_type("offer_slots")
class OfferSlots(AskingNode):
    """Speak a few free slots; 1-3 picks one, 4 ("autre choix") opens the other choices.

    The menu stays short: three slots and one key.  One level down: 1 later
    slots, 2 a given day, 3 mornings only, 4 afternoons only, 0 the
    secretariat.  By speech, at either level: "le premier", "autres créneaux",
    "jeudi matin", "le 3 décembre".  A day asked with no free slot (the doctor
    away, or full) is said so and the first slots from that day on follow.
    No free slot at all goes to ``none``.  With ``waitlist`` (a ``waitlist_join``
    node), key 5 one level down joins the waiting list.
    """

    FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"next", "none", "waitlist", "on_failure", "failure_prompt", "max_attempts", "timeout"}
    )
    TEXTS: ClassVar[dict[str, str]] = {
        "intro": "appt_offer_intro", "slot": "appt_offer_slot", "options": "appt_offer_options",
        "more": "appt_offer_more", "day_question": "appt_day_question",
        "day_invalid": "appt_day_invalid", "none_then": "appt_no_slot_then",
        "absent": "appt_doctor_absent", "no_more": "appt_no_more", "none": "appt_no_slot",
        "waitlist": "appt_offer_waitlist",
    }  # fmt: skip
    OWN_INTENTS = ("more_slots", "other_day", "other_choice", "secretary", *SLOT_INTENTS,
                   *DAY_INTENTS)  # fmt: skip
    OTHER_KEY = "4"  # "autre choix", after the (at most three) slots
    # One level down: the key, what it asks for.
    MORE_KEYS: ClassVar[dict[str, str]] = {"1": "later", "2": "day", "3": "morning",
                                           "4": "afternoon", "5": "waitlist"}  # fmt: skip

    def parse(self) -> None:
        self.next: str = self.req("next", str)
        self.none: str = self.req("none", str)
        self.waitlist: str | None = self.opt("waitlist", str)
        self.parse_common()

    def targets(self) -> dict[str, str]:
        found = {"next": self.next, "none": self.none, "on_failure": self.on_failure}
        return found | ({"waitlist": self.waitlist} if self.waitlist else {})

    def prompts(self) -> dict[str, str]:
        texts = self.TEXTS if self.waitlist else {k: v for k, v in self.TEXTS.items()
                                                  if k != "waitlist"}  # fmt: skip
        return {**texts, **self.common_prompts()}

    def intents(self) -> list[str]:
        return list(self.OWN_INTENTS)

    # -- arrival: find and speak the slots -----------------------------------------
    def enter(self, ctx: CallContext, reply: Reply) -> str | None:
        found = schedule_of(ctx)
        if found is None:
            return self.on_failure
        query = self._query(ctx)
        slots = self._find(ctx, query)
        if not slots and query.day is not None:
            absent = found[0].absent(query.day)
            reply.say(self._absent(ctx, found[0]) if absent else ctx.text(self.TEXTS["none_then"]))
            # From the day asked on, never before it: the caller wanted that day or later.
            since = query.day + timedelta(days=1) if absent else query.day
            slots = self._find(ctx, SlotQuery(since=since)) or self._find(ctx, SlotQuery())
        elif not slots and query.half:
            reply.say(ctx.text(self.TEXTS["none_then"]))
            slots = self._find(ctx, SlotQuery())
        elif not slots and query.after:
            reply.say(ctx.text(self.TEXTS["no_more"]))
            slots = self._find(ctx, SlotQuery())
        if not slots:
            ctx.remember(phase=None)
            reply.say(ctx.text(self.TEXTS["none"]))
            return self.none
        ctx.remember(appt_offered=[s.isoformat() for s in slots], phase=None)
        doctor = doctor_called(ctx, found[0].doctor_id)
        texts = [say_text(ctx, self.TEXTS["intro"], doctor=doctor)]
        texts += [say_text(ctx, self.TEXTS["slot"], when=when(ctx, s), key=i)
                  for i, s in enumerate(slots, start=1)]  # fmt: skip
        texts.append(say_text(ctx, self.TEXTS["options"], key=self.OTHER_KEY))
        self.ask(ctx, reply, texts, hints(ctx, ["other_choice", "more_slots", *SLOT_INTENTS]))
        return None

    def _absent(self, ctx: CallContext, doctor: DoctorSchedule) -> str:
        called = doctor_called(ctx, doctor.doctor_id)  # "la docteure Martin", at a sentence's start
        return say_text(ctx, self.TEXTS["absent"], doctor_name=called[:1].upper() + called[1:])

    def _ask_more(self, ctx: CallContext, reply: Reply, before: list[str]) -> None:
        ctx.remember(phase=f"{self.key}:more")
        texts = [*before, ctx.text(self.TEXTS["more"])]
        if self.waitlist:
            texts.append(ctx.text(self.TEXTS["waitlist"]))
        self.ask(ctx, reply, texts, hints(ctx, ["more_slots", "other_day", *DAY_INTENTS[:6]]))

    def barge_in(self, ctx: CallContext) -> BargeIn:
        # "Which day?" takes JJMM, which never starts with 9.
        return ENTRY if ctx.state.get("phase") == f"{self.key}:day" else ANSWER

    # -- the caller's answer ---------------------------------------------------------
    def resume(self, ctx: CallContext, reply: Reply) -> str | None:
        phase = ctx.state.get("phase")
        if phase == f"{self.key}:day":
            return self._on_day(ctx, reply)
        key, speech = heard(ctx)
        if key == PERSON_KEY or intent(ctx, speech, ["secretary"]):
            ctx.remember(phase=None)
            return self.on_failure
        if phase == f"{self.key}:more":
            return self._on_more(ctx, reply, key, speech)
        offered = self._offered(ctx)
        if key.isdigit() and 1 <= int(key) <= len(offered):  # at most three: never OTHER_KEY
            return self._chosen(ctx, offered[int(key) - 1])
        if key == self.OTHER_KEY or intent(ctx, speech, ["other_choice"]):
            self._ask_more(ctx, reply, [])
            return None
        handled, ref = self._spoken_choice(ctx, reply, speech)
        if handled:
            return ref
        ordinal = intent(ctx, speech, list(SLOT_INTENTS))
        if ordinal is not None and SLOT_INTENTS.index(ordinal) < len(offered):
            return self._chosen(ctx, offered[SLOT_INTENTS.index(ordinal)])
        handled, ref = self._understood_choice(ctx, reply, speech, offered)
        if handled:
            return ref
        return self.retry(ctx, reply)

    def _understood_choice(
        self, ctx: CallContext, reply: Reply, speech: str, offered: list[datetime]
    ) -> tuple[bool, str | None]:
        """« celui de 10 h », « plutôt jeudi après-midi »: the sentence understood whole.

        Asked after the short phrases, so « le deuxième » stays an ordinal, never a date.
        """
        request = understood(ctx, speech)
        if request is None:
            return False, None
        if request.time is not None:
            tz = ctx.practice.tz
            same = [s for s in offered if s.astimezone(tz).time() == request.time]
            if same:
                return True, self._chosen(ctx, same[0])
        asked = asked_booking(request)
        if asked["day"] or asked["half"]:
            day = date.fromisoformat(asked["day"]) if asked["day"] else None
            return True, self._wished(ctx, reply, day, asked["half"])
        return False, None

    def _on_more(self, ctx: CallContext, reply: Reply, key: str, speech: str) -> str | None:
        """The answer one level down: later slots, a day, a half-day (or the same by speech)."""
        wanted = self.MORE_KEYS.get(key)
        if wanted == "later":
            return self._later(ctx, reply)
        if wanted == "day":
            return self._ask_day(ctx, reply)
        if wanted in HALVES:
            ctx.remember(appt_half=wanted, appt_after=None)
            return self.enter(ctx, reply)
        if wanted == "waitlist" and self.waitlist:
            ctx.remember(phase=None, waitlist_wanted=True)
            return self.waitlist
        handled, ref = self._spoken_choice(ctx, reply, "" if key else speech)
        if handled:
            return ref
        if self.gives_up(ctx, reply):
            return self.on_failure
        why = "menu_no_match" if key or speech else "menu_no_input"
        self._ask_more(ctx, reply, [ctx.text(why)])
        return None

    def _spoken_choice(
        self, ctx: CallContext, reply: Reply, speech: str
    ) -> tuple[bool, str | None]:
        """Later slots, a day or "another day" said in words: (understood, where to go)."""
        if not speech:
            return False, None
        if intent(ctx, speech, ["more_slots"]):
            return True, self._later(ctx, reply)
        wish = spoken_wish(speech, ctx.catalogue, self._today(ctx))
        if wish is not None:
            return True, self._wished(ctx, reply, wish.day, wish.half)
        if intent(ctx, speech, ["other_day"]):
            return True, self._ask_day(ctx, reply)
        return False, None

    def _later(self, ctx: CallContext, reply: Reply) -> str | None:
        offered = self._offered(ctx)
        ctx.remember(appt_after=offered[-1].isoformat() if offered else None, phase=None)
        return self.enter(ctx, reply)

    def _ask_day(self, ctx: CallContext, reply: Reply) -> str | None:
        ctx.remember(phase=f"{self.key}:day")
        texts = [ctx.text(self.TEXTS["day_question"])]
        self.ask(ctx, reply, texts, hints(ctx, DAY_INTENTS[:8]), digits=4)
        return None

    def _on_day(self, ctx: CallContext, reply: Reply) -> str | None:
        """The answer to "which day?": JJMM on the keypad or a day by speech."""
        keys, speech = ctx.params.get("Digits", "")[:8], ctx.params.get("SpeechResult", "")[:500]
        ctx.remember(phase=None)
        today = self._today(ctx)
        day = keyed_day(keys, today) if keys else None
        wish = spoken_wish(speech, ctx.catalogue, today) if speech else None
        if day is not None:
            return self._wished(ctx, reply, day, None)
        if wish is not None:
            return self._wished(ctx, reply, wish.day, wish.half)
        if self.gives_up(ctx, reply):
            return self.on_failure
        reply.say(ctx.text(self.TEXTS["day_invalid"]))
        return self.enter(ctx, reply)

    def _wished(
        self, ctx: CallContext, reply: Reply, day: date | None, half: str | None
    ) -> str | None:
        values: dict[str, Any] = {"appt_after": None, "appt_half": half, "phase": None}
        if day is not None:
            values["appt_day"] = day.isoformat()
        ctx.remember(**values)
        return self.enter(ctx, reply)

    def _chosen(self, ctx: CallContext, start: datetime) -> str:
        ctx.remember(appt_choice=start.isoformat(), phase=None)
        return self.next

    # -- finding slots -----------------------------------------------------------------
    @staticmethod
    def _offered(ctx: CallContext) -> list[datetime]:
        return [datetime.fromisoformat(s) for s in ctx.state.get("appt_offered") or []]

    @staticmethod
    def _today(ctx: CallContext) -> date:
        return ctx.now.astimezone(ctx.practice.tz).date()

    @staticmethod
    def _query(ctx: CallContext) -> SlotQuery:
        after, day = ctx.state.get("appt_after"), ctx.state.get("appt_day")
        return SlotQuery(
            after=datetime.fromisoformat(after) if after else None,
            day=date.fromisoformat(day) if day else None,
            half=ctx.state.get("appt_half"),
        )

    def _find(self, ctx: CallContext, query: SlotQuery) -> list[datetime]:
        found = schedule_of(ctx)
        rules = rules_of(ctx)
        if found is None or rules is None:
            return []
        doctor, kind = found
        return free_slots(ctx, rules, doctor, kind, query)


def schedule_of(ctx: CallContext) -> tuple[DoctorSchedule, Kind] | None:
    """The chosen doctor's schedule and the kind to book (kept when moving)."""
    rules = rules_of(ctx)
    doctor = rules.doctors.get(str(ctx.state.get("appt_doctor"))) if rules else None
    if rules is None or doctor is None:
        return None
    kind = rules.kinds.get(str(ctx.state.get("appt_kind")))
    if kind is None:
        kind = rules.kind_for(doctor, new_patient=ctx.state.get("identity") == "new")
    return doctor, kind


def free_slots(
    ctx: CallContext, rules: BookingRules, doctor: DoctorSchedule, kind: Kind, query: SlotQuery
) -> list[datetime]:
    """Free slots now, the doctor's held cells and calendar's busy time read from the database."""
    start, end = booking_window(rules, ctx.now, ctx.practice.tz)
    with ctx.session.no_autoflush:
        taken = booking.taken_cells(ctx.session, ctx.practice.id, doctor.doctor_id, start, end)
        busy = agenda.busy_between(ctx.session, ctx.practice.id, doctor.doctor_id, start, end)
    return find_free_slots(
        rules, doctor, kind, now=ctx.now, tz=ctx.practice.tz, closed=ctx.practice.closed_on,
        taken=taken, query=query, limit=rules.offer_count, busy=busy,
    )  # fmt: skip


# -- confirm and book -------------------------------------------------------------------------
@node_type("confirm_booking")
class ConfirmBooking(YesNoNode):
    """Say the chosen slot again; 1 (or "oui") books it, 2 (or "non") goes ``back``.

    The booking is one conditional insert (see :mod:`callcenter.appointments.booking`):
    a slot taken meanwhile is said so ("ce créneau vient d'être pris") and
    ``back`` offers other slots.  Moving books the new slot first, then frees the old.
    """

    TEXTS: ClassVar[dict[str, str]] = {
        "confirm": "appt_confirm", "taken": "appt_taken", "booked": "appt_booked",
        "moved": "appt_moved", "sms": "appt_sms_promise",
        "sms_confirmation": "sms_appointment_confirmation",
        "sms_reminder": "sms_appointment_reminder",
    }  # fmt: skip

    def enter(self, ctx: CallContext, reply: Reply) -> str | None:
        choice, doctor = ctx.state.get("appt_choice"), ctx.state.get("appt_doctor")
        if not choice or not doctor:
            return self.back
        start = datetime.fromisoformat(choice)
        text = say_text(ctx, self.TEXTS["confirm"], when=when(ctx, start),
                        doctor=doctor_called(ctx, str(doctor)))  # fmt: skip
        self.ask(ctx, reply, [text], hints(ctx, ["yes", "no"]))
        return None

    def resume(self, ctx: CallContext, reply: Reply) -> str | None:
        key, speech = heard(ctx)
        if key == PERSON_KEY or intent(ctx, speech, ["secretary"]):
            return self.on_failure
        if key == "2" or intent(ctx, speech, ["no"]):
            ctx.remember(appt_choice=None)
            return self.back
        if key == "1" or intent(ctx, speech, ["yes"]):
            with ctx.session.no_autoflush:
                return self._book(ctx, reply)
        return self.retry(ctx, reply)

    def _book(self, ctx: CallContext, reply: Reply) -> str | None:
        found, rules = schedule_of(ctx), rules_of(ctx)
        patient_id, choice = ctx.call.patient_id, ctx.state.get("appt_choice")
        if found is None or rules is None or patient_id is None or not choice:
            return self.on_failure
        doctor, kind = found
        start = datetime.fromisoformat(str(choice))
        moving = ctx.state.get("appt_moving")
        new_id = None
        if start >= ctx.now + rules.min_notice:  # the notice may have run out while talking
            new_id = booking.book(
                ctx.session, practice_id=ctx.practice.id, doctor_id=doctor.doctor_id,
                patient_id=patient_id, starts_at=start, minutes=kind.minutes,
                slot_minutes=doctor.slot_minutes, kind=kind.id, now=ctx.now,
                call_id=ctx.call.id, replaces_id=str(moving) if moving else None,
            )  # fmt: skip
        if new_id is None:
            ctx.remember(appt_choice=None)
            reply.say(ctx.text(self.TEXTS["taken"]))
            return self.back
        if moving:
            booking.release(ctx.session, str(moving), patient_id, booking.MOVED, ctx.now)
        ctx.remember(appt_choice=None, appt_moving=None, appt_kind=None, appt_booked=new_id)
        ctx.call.outcome = "moved" if moving else "booked"
        values = {"when": when(ctx, start), "doctor": doctor_called(ctx, doctor.doctor_id)}
        reply.say(say_text(ctx, self.TEXTS["moved" if moving else "booked"], **values))
        if rules.sms_confirmation and sms.queue(ctx.session, ctx.practice.id, new_id,
                                                sms.CONFIRMATION, ctx.now):  # fmt: skip
            reply.say(ctx.text(self.TEXTS["sms"]))
        return self.next
