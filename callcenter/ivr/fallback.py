"""Answers that need no database: the error path and the Voice Fallback URL.

Built from the practice files and prompt catalogues held in memory, so a
caller still reaches a person, or leaves a message, with the database down
or a bug in a node (docs/security/threat-model.md, rule 1).  Everything here is reached through
``/twilio/fallback``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from callcenter.config.practice import Practice, PracticeDirectory
from callcenter.config.prompts import Catalogue
from callcenter.core import routes
from callcenter.ivr.twiml import Reply, Voice

if TYPE_CHECKING:
    from callcenter.ivr.runtime import PracticeRuntime


# Prompts the server itself speaks, whatever the flows: every catalogue needs them.
REQUIRED_PROMPTS = (
    "unknown_number", "technical_difficulty", "fallback_leave_message", "goodbye",
    "whisper_intro", "whisper_urgent", "whisper_accept", "whisper_known", "whisper_new",
    "reason_other", "sms_urgent_call", "sms_urgent_message", "emergency_advice", "throttled",
    "withheld_throttled",
    # The queue and the secretaries' line (callcenter.ivr.nodes.waiting) speak outside flows.
    "queue_position", "queue_wait", "queue_wait_one", "queue_options", "queue_options_message",
    "queue_choice_invalid", "queue_connecting", "agent_unknown", "agent_pin", "agent_pin_wrong",
    "agent_locked", "agent_none_waiting", "agent_next", "agent_goodbye",
    # Doctors' digests (callcenter.digests): every practice's catalogue needs them.
    "digest_subject", "digest_urgent_subject", "digest_title", "digest_period", "digest_urgent",
    "digest_messages", "digest_appointments", "digest_missed", "digest_nothing", "digest_totals",
    "digest_footer", "digest_urgent_title", "digest_flag_urgent", "digest_flag_callback",
    "digest_message_line", "digest_unidentified", "digest_no_number", "digest_status_other",
    "digest_urgent_call_line", "digest_missed_line", "digest_outcome_other",
    "digest_appointment_other",
)  # fmt: skip


class SafeAnswers:
    def __init__(
        self,
        practices: PracticeDirectory,
        runtimes: Mapping[str, PracticeRuntime],
        default_catalogue: Catalogue,
    ) -> None:
        self.practices = practices
        self.runtimes = runtimes
        self.default_catalogue = default_catalogue

    def catalogue_for(self, practice: Practice | None) -> tuple[Catalogue, Voice]:
        if practice is not None and practice.id in self.runtimes:
            runtime = self.runtimes[practice.id]
            return runtime.catalogue, runtime.voice
        return self.default_catalogue, Voice()

    def unknown_number(self) -> str:
        catalogue, voice = self.catalogue_for(None)
        return Reply(voice).say(catalogue.text("unknown_number")).hangup().to_xml()

    def reach_someone(self, practice: Practice | None) -> str:
        """Reach a person, else take a message: the answer when anything went wrong.

        Each secretary first hears a whisper and presses 1, so a voicemail
        never takes a patient's call.
        """
        catalogue, voice = self.catalogue_for(practice)
        variables = {"practice_name": practice.name if practice else ""}
        reply = Reply(voice).say(catalogue.text("technical_difficulty", variables))
        numbers = [s.phone for s in practice.secretaries if s.phone] if practice else []
        if not numbers or practice is None:
            return self.leave_message(practice, reply)
        whisper = routes.url(routes.FALLBACK, {"stage": "whisper", "practice": practice.id})
        reply.dial(
            [(number, whisper) for number in numbers],
            action=routes.url(routes.FALLBACK, {"stage": "dialed", "practice": practice.id}),
            timeout=practice.ring_seconds,
            caller_id=practice.number,
        )
        return reply.to_xml()

    def whisper(self, practice: Practice | None) -> str:
        """The secretary's whisper when the call's own state cannot be read."""
        catalogue, voice = self.catalogue_for(practice)
        variables = {"practice_name": practice.name if practice else ""}
        texts = [
            catalogue.text("whisper_intro", variables),
            catalogue.text("reason_other"),
            catalogue.text("whisper_accept"),
        ]
        return (
            Reply(voice)
            .gather(routes.WHISPER_ACCEPT, texts, digits=1, speech=False, timeout=8)
            .to_xml()
        )

    def leave_message(self, practice: Practice | None, reply: Reply | None = None) -> str:
        catalogue, voice = self.catalogue_for(practice)
        reply = reply or Reply(voice)
        reply.say(catalogue.text("fallback_leave_message"))
        query = {"stage": "recorded", "practice": practice.id if practice else ""}
        reply.record(routes.url(routes.FALLBACK, query), max_length=120)
        return reply.to_xml()

    def goodbye(self, practice: Practice | None) -> str:
        catalogue, voice = self.catalogue_for(practice)
        return Reply(voice).say(catalogue.text("goodbye")).hangup().to_xml()
