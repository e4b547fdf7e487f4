"""Which of several things said counts: the caller's last word, unless denied.

« pas mardi, mercredi » and « mercredi, pas mardi » both mean Wednesday;
« mardi ou mercredi » keeps the first offer; « mardi, enfin mercredi » the last.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

# How many words before a mention a negation may stand (« pas le docteur Martin »).
NEGATION_REACH = 4


@dataclass(frozen=True)
class Mention(Generic[T]):
    start: int  # character offsets in the text searched
    end: int
    value: T


@dataclass(frozen=True)
class Hearing:
    """The catalogue's words that decide between mentions, compiled."""

    negation: re.Pattern[str] | None
    alternative: re.Pattern[str] | None  # « ou » among the words before a mention
    correction: re.Pattern[str] | None = None  # « ou plutôt »: a correction, not an offer


def no_overlap(mentions: list[Mention[T]]) -> list[Mention[T]]:
    """The longest mention wins where two overlap (« après-demain » over « demain »)."""
    kept: list[Mention[T]] = []
    for mention in sorted(mentions, key=lambda m: (m.start - m.end, m.start)):
        if all(mention.end <= k.start or mention.start >= k.end for k in kept):
            kept.append(mention)
    return sorted(kept, key=lambda m: m.start)


def survivors(text: str, mentions: list[Mention[T]], hearing: Hearing) -> list[Mention[T]]:
    """The mentions neither denied nor offered as a second choice, in order.

    A mention is denied when a negation word stands in the few words before it
    (never reaching back past the previous mention); one offered as an
    alternative (« ou mercredi ») to a kept earlier one is left aside.
    """
    kept: list[Mention[T]] = []
    previous_end = 0
    for mention in sorted(mentions, key=lambda m: m.start):
        before = " ".join(text[previous_end : mention.start].split()[-NEGATION_REACH:])
        previous_end = mention.end
        if hearing.negation is not None and hearing.negation.search(before):
            continue
        if (
            kept
            and hearing.alternative is not None
            and hearing.alternative.search(before)
            and not (hearing.correction is not None and hearing.correction.search(before))
        ):
            continue
        kept.append(mention)
    return kept


def choose(text: str, mentions: list[Mention[T]], hearing: Hearing) -> Mention[T] | None:
    """The mention the caller means: the last survivor; when every mention is
    denied, the last one still tells what was spoken about (« je ne peux pas
    venir mardi »)."""
    if not mentions:
        return None
    kept = survivors(text, mentions, hearing)
    return kept[-1] if kept else max(mentions, key=lambda m: m.start)
