"""The practice's doctor a caller names, despite titles and small misrecognitions.

After a title (« docteur », « Dr », « madame »…) the next words are compared
with each doctor's names through rapidfuzz: « docteur martine » is Dr Martin.
Without a title a name must be heard exactly (« avec Bernard »): fuzzy
matching alone would hear Dr Martin in « demain matin ».
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from rapidfuzz import fuzz

from callcenter.understanding.mentions import Mention, no_overlap


class Named(Protocol):
    """What is read of a doctor: callcenter.config.staff.Doctor fits."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def called(self) -> str: ...


@dataclass(frozen=True)
class DoctorNames:
    """The practice's doctors' names in plain form, ready to be heard."""

    names: tuple[tuple[str, str], ...]  # (plain name, doctor id), each doctor several times
    exact: re.Pattern[str] | None  # full names and surnames, heard without a title
    titles: re.Pattern[str] | None
    min_score: float

    @classmethod
    def build(
        cls,
        doctors: Iterable[Named],
        titles: Iterable[str],
        min_score: float,
        normalize: Callable[[str], str],
    ) -> DoctorNames:
        title_words = {normalize(t) for t in titles if normalize(t)}
        names: list[tuple[str, str]] = []
        heard_alone: set[str] = set()  # full names and surnames (a first name is too common)
        for doctor in doctors:
            for written in (doctor.name, doctor.called):
                words = [w for w in normalize(written).split() if w not in title_words]
                if not words:
                    continue
                names.append((" ".join(words), doctor.id))
                heard_alone |= {" ".join(words), words[-1]}
                names.append((words[-1], doctor.id))  # the surname
                if len(words) > 1:
                    names.append((words[0], doctor.id))  # the first name, after a title only
        unique = tuple(dict.fromkeys(names))
        exact = (
            re.compile(
                r"(?<![a-z0-9])(?:"
                + "|".join(sorted(map(re.escape, heard_alone), key=len, reverse=True))
                + r")(?![a-z0-9])"
            )
            if heard_alone
            else None
        )
        title_re = (
            re.compile(
                r"(?<![a-z0-9])(?:"
                + "|".join(sorted(map(re.escape, title_words), key=len, reverse=True))
                # The name is looked ahead, not consumed: « docteur martin docteur bernar ».
                + r")(?=(?P<name>(?: [a-z0-9]+){1,2}))"
            )
            if title_words
            else None
        )
        return cls(unique, exact, title_re, min_score)

    def _best(self, candidates: list[tuple[str, int]]) -> tuple[float, str | None, int]:
        """The closest name to any candidate (words heard, where they end)."""
        best: tuple[float, str | None, int] = (0.0, None, 0)
        for heard, end in candidates:
            for name, doctor in self.names:
                score = fuzz.ratio(heard, name)
                if score > best[0]:
                    best = (score, doctor, end)
        return best

    def mentions(self, text: str) -> list[Mention[str]]:
        """Every doctor named in ``text`` (plain form)."""
        found: list[Mention[str]] = []
        if self.titles is not None:
            for m in self.titles.finditer(text):
                words = m.group("name").split()
                one = (words[0], m.end() + 1 + len(words[0]))
                end = m.end() + len(m.group("name"))
                two = [(" ".join(words), end), ("".join(words), end)] if words[1:] else []
                score, doctor, end = self._best([one, *two])
                if doctor is not None and score >= self.min_score:
                    found.append(Mention(m.start(), end, doctor))
        if self.exact is not None:
            by_name = dict(self.names)
            for m in self.exact.finditer(text):
                found.append(Mention(m.start(), m.end(), by_name[m.group(0)]))
        return no_overlap(found)
