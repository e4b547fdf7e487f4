"""A practice as calls see it: its prompts, flows and voice; and what staff are told of a call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from callcenter.ivr.twiml import Voice

if TYPE_CHECKING:
    from callcenter.calls.models import CallRecord
    from callcenter.config.practice import Practice
    from callcenter.config.prompts import Catalogue
    from callcenter.ivr.loader import FlowSet
    from callcenter.understanding import Catalogue as Understanding


@dataclass(frozen=True)
class PracticeRuntime:
    practice: Practice
    catalogue: Catalogue
    flows: FlowSet
    notice: str = ""
    transcription: str = "speech"  # the recordings policy's engine for messages
    public_base_url: str = ""  # for callbacks Twilio wants absolute (real-time transcription)
    # Loaded once per practice, with the runtime: never per webhook.
    understanding: Understanding | None = None

    @property
    def voice(self) -> Voice:
        return Voice(self.practice.language, self.practice.voice)


def call_context(runtime: PracticeRuntime, call: CallRecord, reason: str) -> list[str]:
    """What a secretary is told of a call: practice first, no name or number."""
    catalogue = runtime.catalogue
    variables = {"practice_name": runtime.practice.name}
    reason_key = f"reason_{reason}" if catalogue.has(f"reason_{reason}") else "reason_other"
    texts = [catalogue.text("whisper_intro", variables), catalogue.text(reason_key)]
    identity = call.state.get("identity")
    if identity in ("known", "new"):
        texts.append(catalogue.text(f"whisper_{identity}"))
    if call.urgent:
        texts.append(catalogue.text("whisper_urgent"))
    return texts
