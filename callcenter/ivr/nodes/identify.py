"""The ``identify`` node: who is calling, before a message or an appointment.

See docs/configuration/flows.md.  The caller ID (or, when it is withheld, a call-back
number keyed by the caller) selects this practice's patients by blind index;
the date of birth keyed as DDMMYYYY confirms one of them, which also tells
family members sharing a number apart.  No name is ever spoken: the caller
only hears that the date matches or not.  A number with no patient registers
a new one: date of birth first, so the row is created whole in one step
(``ctx.state`` may not carry a name or a date between two requests), then the
name by speech, written onto that row.

A keyed number proves nothing: anyone can type anyone's number, and whether
it is a patient's is itself health data.  So a withheld caller is never
looked up: whatever number they key, they hear the same registration
question, and what they book or say is linked to a new record holding that
number, never to an existing patient (``my_appointments`` refuses them too).

Every way out of identification goes on: ``next`` once identified or
registered, ``on_failure`` otherwise (wrong dates, lockout, a caller who
skips), and the flows send both to a person or a message.  ``ctx.state``
holds the phase, counters and the outcome (``identity``: known, new,
unverified, locked), never a personal value.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import ClassVar

from callcenter.audit import trail as audit
from callcenter.core.phone_numbers import normalize
from callcenter.ivr.nodes.base import MAX_SILENCES, CallContext, Node, node_type
from callcenter.ivr.twiml import Reply
from callcenter.ivr.urgency import ENTRY, WORDS, BargeIn
from callcenter.patients import identification as ident
from callcenter.patients.models import Patient

IDENTIFIED = ("known", "new")
MAX_KEYS = 20  # more keys than any answer needs are cut before parsing
# Re-prompt counters, per question and for silences (kept in ctx.state["attempts"]).
COUNTERS = ("callback", "callback_silence", "dob", "dob_silence", "register",
            "register_silence", "name")  # fmt: skip


@node_type("identify")
class Identify(Node):
    """Identify the caller by number and date of birth, or register them; bounded retries.

    Keys: ``*`` at the date-of-birth question means "I am not one of the
    patients of this number" (registration follows); ``*`` at the
    registration question skips identification; any key at the name question
    skips the name.  ``#`` ends keyed input (as silence when nothing was keyed).
    """

    FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"next", "on_failure", "max_attempts", "timeout", "skip_urgent"}
    )
    # What the caller hears, by role: practices reword them in their prompts.
    TEXTS: ClassVar[dict[str, str]] = {
        "callback": "identify_callback",
        "callback_invalid": "identify_callback_invalid",
        "dob": "identify_dob",
        "dob_invalid": "identify_dob_invalid",
        "dob_wrong": "identify_dob_wrong",
        "known": "identify_known",
        "register": "identify_register",
        "name": "identify_name",
        "registered": "identify_registered",
        "failed": "identify_failed",
        "no_input": "menu_no_input",
        "spoken": "identify_use_keypad",
    }
    OTHER_PERSON_KEY = "*"

    def parse(self) -> None:
        self.next: str = self.req("next", str)
        self.on_failure: str = self.req("on_failure", str)
        self.max_attempts = self.int_in("max_attempts", 3, 1, 5)
        self.timeout = self.int_in("timeout", 8, 3, 20)
        # An urgent caller leaving a message is not slowed down by questions.
        self.skip_urgent: bool = self.opt("skip_urgent", bool, True)

    def targets(self) -> dict[str, str]:
        return {"next": self.next, "on_failure": self.on_failure}

    def prompts(self) -> dict[str, str]:
        return dict(self.TEXTS)

    # -- arrival -------------------------------------------------------------
    def enter(self, ctx: CallContext, reply: Reply) -> str | None:
        done = ctx.state.get("identity")
        if done is not None:  # identified earlier in this call (e.g. appointment → message)
            return self.next if done in IDENTIFIED else self.on_failure
        if ctx.call.urgent and self.skip_urgent:
            return self.next
        for counter in COUNTERS:
            ctx.reset_attempts(self._counter(counter))
        if ctx.call.caller is None:
            return self._ask(ctx, reply, "callback")
        with ctx.session.no_autoflush:
            return self._lookup(ctx, reply)

    def resume(self, ctx: CallContext, reply: Reply) -> str | None:
        phase = str(ctx.state.get("phase") or "")
        prefix = f"{self.key}:"
        handlers = {
            "callback": self._on_callback,
            "dob": self._on_dob,
            "register": self._on_register,
            "name": self._on_name,
        }
        handler = handlers.get(phase.removeprefix(prefix)) if phase.startswith(prefix) else None
        if handler is None:
            return self.enter(ctx, reply)
        # Reads and guard writes need none of the call's pending changes; not
        # flushing them early keeps a concurrent duplicate to the engine's check.
        with ctx.session.no_autoflush:
            return handler(ctx, reply)

    def barge_in(self, ctx: CallContext) -> BargeIn:
        # A name is content (its words are kept); the other questions take long
        # entries, none of which starts with 9 (a date, a French number).
        return WORDS if ctx.state.get("phase") == f"{self.key}:name" else ENTRY

    # -- phases ----------------------------------------------------------------
    def _on_callback(self, ctx: CallContext, reply: Reply) -> str | None:
        """A withheld caller keyed a number to be called back on."""
        keys = self._keys(ctx)
        e164 = normalize(keys) if keys.isdigit() else None
        if e164 is not None and (index := self._index(ctx, e164)) is not None:
            ctx.call.caller, ctx.call.caller_index = e164, index
            ctx.remember(caller_keyed=True)  # offers read this number, not "d'où vous appelez"
            # Never a lookup (nor a lock check): the same words for every number.
            return self._ask(ctx, reply, "register")
        if not keys:
            return self._retry(ctx, reply, "callback", self._unheard(ctx), limit=MAX_SILENCES)
        return self._retry(ctx, reply, "callback", "callback_invalid", limit=self.max_attempts)

    def _on_dob(self, ctx: CallContext, reply: Reply) -> str | None:
        """A number with patients: the date of birth confirms one of them."""
        e164, index = ctx.call.caller, self._call_index(ctx)
        if e164 is None or index is None or ctx.state.get("caller_keyed"):
            return self._fail(ctx, reply, "unverified")  # a keyed number is never matched
        if ident.is_locked(ctx.session, ctx.call.practice_id, index, ctx.now):
            return self._fail(ctx, reply, "locked")
        keys = self._keys(ctx)
        if self.OTHER_PERSON_KEY in ctx.params.get("Digits", "")[:MAX_KEYS]:
            return self._ask(ctx, reply, "register")
        if not keys:
            if ctx.count_attempt(self._counter("dob_silence")) >= MAX_SILENCES:
                return self._ask(ctx, reply, "register")  # nothing twice: someone new
            return self._ask(ctx, reply, "dob", before=[self._unheard(ctx)])
        born = ident.parse_birth_date(keys, self._today(ctx))
        if born is None:
            return self._retry(ctx, reply, "dob", "dob_invalid", limit=self.max_attempts)
        patient = ident.match_birth_date(self._candidates(ctx, e164), born)
        if patient is not None:
            ctx.call.patient_id = patient.id
            patient.last_seen_at = ctx.now
            ident.reset_failures(ctx.session, ctx.call.practice_id, index, ctx.now)
            ctx.remember(identity="known", phase=None)
            reply.say(ctx.text(self.TEXTS["known"]))
            return self.next
        failure = ident.record_failure(
            ctx.session,
            ctx.call.practice_id,
            index,
            ctx.now,
            max_failures=ctx.practice.identification_failures,
            lock=timedelta(minutes=ctx.practice.identification_lock_minutes),
        )
        if failure.locked_now:
            audit.append(
                ctx.session,
                actor="system:ivr",
                action="identify.locked",
                practice_id=ctx.call.practice_id,
                object_ref=ctx.call.id,
                details={"failures": failure.failures},
                now=ctx.now,
            )
        if failure.locked:
            reply.say(ctx.text(self.TEXTS["dob_wrong"]))
            return self._fail(ctx, reply, "locked")
        return self._retry(ctx, reply, "dob", "dob_wrong", limit=self.max_attempts)

    def _on_register(self, ctx: CallContext, reply: Reply) -> str | None:
        """Someone new: the date of birth registers them (``*`` skips)."""
        if self.OTHER_PERSON_KEY in ctx.params.get("Digits", "")[:MAX_KEYS]:
            ctx.remember(identity="unverified", phase=None)
            return self.on_failure
        keys = self._keys(ctx)
        if not keys:
            return self._retry(ctx, reply, "register", self._unheard(ctx), limit=MAX_SILENCES)
        born = ident.parse_birth_date(keys, self._today(ctx))
        e164 = ctx.call.caller
        if born is None or e164 is None:
            return self._retry(ctx, reply, "register", "dob_invalid", limit=self.max_attempts)
        patient = ident.register_patient(
            ctx.session,
            ctx.cipher,
            practice_id=ctx.call.practice_id,
            e164=e164,
            bits=ctx.practice.blind_index_bits,
            born=born,
            now=ctx.now,
        )
        ctx.call.patient_id = patient.id
        ctx.remember(identity="new")
        return self._ask(ctx, reply, "name")

    def _on_name(self, ctx: CallContext, reply: Reply) -> str | None:
        """The new patient's name, by speech; any key or silence twice keeps none."""
        name = ident.clean_name(ctx.params.get("SpeechResult", ""))
        silent = name is None and not ctx.params.get("Digits")
        if silent and ctx.count_attempt(self._counter("name")) < MAX_SILENCES:
            return self._ask(ctx, reply, "name", before=["no_input"])
        if name is not None and ctx.call.patient_id is not None:
            patient = ctx.session.get(Patient, ctx.call.patient_id)
            if patient is not None:
                patient.name = name
        ctx.remember(phase=None)
        reply.say(ctx.text(self.TEXTS["registered"]))
        return self.next

    # -- helpers -----------------------------------------------------------------
    def _lookup(self, ctx: CallContext, reply: Reply) -> str | None:
        """The caller's number is known: ask the date of birth, or register them."""
        e164, index = ctx.call.caller, self._call_index(ctx)
        if e164 is None or index is None:
            return self._fail(ctx, reply, "unverified")
        if ident.is_locked(ctx.session, ctx.call.practice_id, index, ctx.now):
            return self._fail(ctx, reply, "locked")
        return self._ask(ctx, reply, "dob" if self._candidates(ctx, e164) else "register")

    def _ask(
        self, ctx: CallContext, reply: Reply, phase: str, before: Sequence[str] = ()
    ) -> str | None:
        """Ask ``phase``'s question (after the ``before`` texts); None: the reply waits."""
        ctx.remember(phase=f"{self.key}:{phase}")
        texts = [ctx.text(self.TEXTS[role]) for role in (*before, phase)]
        if phase == "name":
            # Any key skips: no finishing key, so '#' arrives as a key too.
            reply.gather(ctx.action(), texts, digits=1, speech=True, timeout=5, finish_on_key="")
        else:
            digits = 10 if phase == "callback" else 8
            reply.gather(
                ctx.action(), texts, digits=digits, speech=True, timeout=self.timeout,
                finish_on_key="#",
            )  # fmt: skip
        return None

    def _retry(
        self, ctx: CallContext, reply: Reply, phase: str, why: str, *, limit: int
    ) -> str | None:
        """Ask ``phase`` again after saying ``why``, or give up after ``limit`` tries."""
        counter = f"{phase}_silence" if why in ("no_input", "spoken") else phase
        if ctx.count_attempt(self._counter(counter)) >= limit:
            reply.say(ctx.text(self.TEXTS[why]))
            return self._fail(ctx, reply, "unverified")
        return self._ask(ctx, reply, phase, before=[why])

    def _fail(self, ctx: CallContext, reply: Reply, identity: str) -> str:
        ctx.remember(identity=identity, phase=None)
        reply.say(ctx.text(self.TEXTS["failed"]))
        return self.on_failure

    def _counter(self, phase: str) -> str:
        return f"{self.key}:{phase}"

    @staticmethod
    def _unheard(ctx: CallContext) -> str:
        """Why no keys came: silence, or words where the question takes the keypad only."""
        return "spoken" if ctx.params.get("SpeechResult", "").strip() else "no_input"

    @staticmethod
    def _keys(ctx: CallContext) -> str:
        """The digits keyed, '#' dropped (it only ends input); '' for silence."""
        return ctx.params.get("Digits", "")[:MAX_KEYS].replace("#", "").strip()

    @staticmethod
    def _today(ctx: CallContext) -> date:
        return ctx.now.astimezone(ctx.practice.tz).date()

    @staticmethod
    def _index(ctx: CallContext, e164: str) -> int | None:
        practice = ctx.practice
        return ctx.cipher.phone_index(e164, practice=practice.id, bits=practice.blind_index_bits)

    def _call_index(self, ctx: CallContext) -> int | None:
        """The guard's key: 32 keyed bits of the whole number, so a lookup bucket shares no lock."""
        caller = ctx.call.caller
        return ident.guard_key(ctx.cipher, ctx.call.practice_id, caller) if caller else None

    @staticmethod
    def _candidates(ctx: CallContext, e164: str) -> list[Patient]:
        return ident.find_candidates(
            ctx.session,
            ctx.cipher,
            ctx.call.practice_id,
            e164,
            ctx.practice.blind_index_bits,
        )
