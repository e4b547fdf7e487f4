"""The catalogue's small phrase language, compiled once into regular expressions.

A phrase is words as a person writes them; ``mot*`` is any word starting so,
``...`` stands for zero to three words. Matches never cut a word in two.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

GAP = "..."
_GAP_WORDS = 3
# A match starts a word. Said once before a whole alternation, not in each
# phrase: Python's engine then skips mid-word positions at once (30x faster).
WORD_START = r"(?<![a-z0-9])"


def phrase_regex(phrase: str, normalize: Callable[[str], str]) -> str:
    """The regular expression (no groups) for one phrase of the catalogue; it ends a
    word, and starts one only behind WORD_START."""
    parts: list[str] = []
    gap = False
    for raw in phrase.replace(GAP, f" {GAP} ").split():
        if raw == GAP:
            gap = True
            continue
        prefix = raw.endswith("*")
        words = normalize(raw.rstrip("*")).split()
        for i, word in enumerate(words):
            piece = re.escape(word) + (r"[a-z0-9]*" if prefix and i == len(words) - 1 else "")
            if parts:
                parts.append(rf"(?: [a-z0-9]+){{0,{_GAP_WORDS}}} " if gap else " ")
            parts.append(piece)
            gap = False
    if not parts:
        raise ValueError(f"{phrase!r} has no word")
    return "".join(parts) + r"(?![a-z0-9])"


def alternation(phrases: Iterable[str], normalize: Callable[[str], str]) -> str:
    """One expression for many phrases, the longest tried first (« fin d'après-midi »
    before « après-midi »); empty when there is none."""
    regexes = {phrase_regex(p, normalize) for p in phrases}
    if not regexes:
        return ""
    return WORD_START + "(?:" + "|".join(sorted(regexes, key=lambda r: (-len(r), r))) + ")"


def compile_any(phrases: Iterable[str], normalize: Callable[[str], str]) -> re.Pattern[str] | None:
    listed = list(phrases)
    return re.compile(alternation(listed, normalize)) if listed else None


def labelled(
    groups: dict[str, Iterable[str]], normalize: Callable[[str], str]
) -> tuple[re.Pattern[str] | None, dict[str, str]]:
    """One expression whose named group tells which label a match belongs to.

    Returns the pattern and ``{group name: label}`` (labels need not be identifiers).
    """
    pieces: list[tuple[str, str]] = []
    names: dict[str, str] = {}
    for i, (label, phrases) in enumerate(groups.items()):
        name = f"g{i}"
        names[name] = label
        for regex in {phrase_regex(p, normalize) for p in phrases}:
            pieces.append((regex, name))
    if not pieces:
        return None, names
    pieces.sort(key=lambda item: (-len(item[0]), item[0]))
    # A group name may appear once only: each alternative gets its own, mapped back.
    parts, labels = [], {}
    for j, (regex, name) in enumerate(pieces):
        parts.append(f"(?P<a{j}>{regex})")
        labels[f"a{j}"] = names[name]
    return re.compile(WORD_START + "(?:" + "|".join(parts) + ")"), labels
