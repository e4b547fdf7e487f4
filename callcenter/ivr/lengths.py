"""How long each prompt lasts when spoken, against the practice's budgets.

A caller in a hurry hears the opening before anything else: a long one keeps
them from the menu (and, before barge-in, from the urgent key).  ``flows
check`` reports every spoken prompt in words and seconds, at a steady
:data:`WORDS_PER_SECOND`, and warns past the practice's ``prompt_budgets``:
the opening (the start node's prompts, heard together before the first
choice), the full data notice (key 8, on demand) and any other prompt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from callcenter.config.prompts import Catalogue
from callcenter.ivr.loader import FlowSet

WORDS_PER_SECOND = 2.5  # a clear synthetic voice, in French
NOTICE_KEYS = frozenset({"privacy_notice"})
# Texts that are written, not spoken: the digests (e-mail) and the SMS.
WRITTEN = ("digest_", "sms_")
#: Sample values for placeholders, so a prompt is measured as a caller hears it.
SAMPLES = {
    "practice_name": "cabinet médical des Tilleuls",
    "next_opening": "lundi 7 décembre à 8 h 30",
    "doctor": "la docteure Martin",
    "when": "mardi 24 novembre à 9 h 30",
    "number": "06 12 34 56 78",
}


def words(text: str) -> int:
    """Words as spoken: tokens holding a letter or a digit ("15", "112" count as one)."""
    return sum(1 for token in text.split() if any(c.isalnum() for c in token))


def seconds(text: str) -> float:
    return round(words(text) / WORDS_PER_SECOND, 1)


@dataclass(frozen=True)
class Length:
    """One prompt (or the opening, several), measured against its budget."""

    key: str
    words: int
    seconds: float
    budget: float

    @property
    def over(self) -> bool:
        return self.seconds > self.budget


def opening_keys(flows: FlowSet, start_flow: str = "main") -> list[str]:
    """The prompts of the start flow's first node: what every caller hears first."""
    flow = flows.flows.get(start_flow)
    if flow is None:
        return []
    return list(flow.nodes[flow.start].prompts().values())


def measure(
    flows: FlowSet,
    catalogue: Catalogue,
    budgets: Mapping[str, float],
    values: Mapping[str, str] | None = None,
    start_flow: str = "main",
) -> list[Length]:
    """The opening first, then every spoken prompt of the catalogue, by key."""
    filled = {**SAMPLES, **(values or {})}
    opening = opening_keys(flows, start_flow)
    text = " ".join(catalogue.text(key, filled) for key in opening if catalogue.has(key))
    found = [Length("opening: " + " + ".join(opening), words(text), seconds(text),
                    budgets["opening"])]  # fmt: skip
    for key in sorted(catalogue.texts):
        if key.startswith(WRITTEN):
            continue
        spoken = catalogue.text(key, filled)
        budget = budgets["notice" if key in NOTICE_KEYS else "other"]
        found.append(Length(key, words(spoken), seconds(spoken), budget))
    return found
