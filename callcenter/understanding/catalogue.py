"""A language's words for understanding callers, read from YAML and compiled once.

The shipped file is flows/understanding/<language>.yaml; an instance may add
words in $CALLCENTER_HOME/understanding/<language>.yaml and a practice in
$CALLCENTER_HOME/understanding/<practice>.<language>.yaml. Additions extend the
lists (urgency words, intents' phrases…) and replace single values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from callcenter.config.settings import DEFAULT_FLOWS_DIR
from callcenter.understanding.dates import DateWords
from callcenter.understanding.mentions import Hearing
from callcenter.understanding.phrases import alternation, compile_any
from callcenter.understanding.text import digits, plain, rewrite
from callcenter.understanding.times import TimeWords

SHIPPED_DIR = DEFAULT_FLOWS_DIR / "understanding"
INTENTS = (
    "book", "cancel", "move", "message", "secretary", "urgent", "prescription", "results",
    "certificate", "hours", "address", "late", "other",
)  # fmt: skip


class CatalogueError(ValueError):
    """A catalogue file is missing or wrong: the message names the file and the key."""


@dataclass(frozen=True, eq=False)  # compared and cached by identity: compiled once
class Catalogue:
    language: str
    rewrites: dict[str, str]
    rewrite_pattern: re.Pattern[str] | None
    hearing: Hearing
    intents: tuple[tuple[str, re.Pattern[str]], ...]  # in priority order
    urgent: re.Pattern[str] | None
    not_urgent: re.Pattern[str] | None
    titles: tuple[str, ...]
    min_score: float
    since: re.Pattern[str] | None  # ends the words before a day or time that dates the past
    dates: DateWords
    times: TimeWords
    raw: dict[str, Any] = field(repr=False)

    def normalize(self, text: str) -> str:
        """Plain form with the catalogue's rewrites: what intents, urgency and names read."""
        return rewrite(plain(text), self.rewrite_pattern, self.rewrites)

    def normalize_digits(self, text: str) -> str:
        """Plain form with numbers in digits: what dates and times read."""
        return rewrite(digits(text, self.language), self.rewrite_pattern, self.rewrites)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], where: str = "catalogue") -> Catalogue:
        try:
            return _compile(raw)
        except (ValueError, TypeError, KeyError, AttributeError, re.error) as exc:
            raise CatalogueError(f"{where}: {exc}") from None

    @classmethod
    def load(cls, language: str, *extra: Path, folder: Path = SHIPPED_DIR) -> Catalogue:
        """The shipped catalogue of ``language``, then each existing ``extra`` file on top."""
        base = folder / f"{language}.yaml"
        if not base.is_file() and folder != SHIPPED_DIR:
            base = SHIPPED_DIR / f"{language}.yaml"
        raw = _read(base)
        paths = [base]
        for path in extra:
            if path.is_file():
                raw = merge(raw, _read(path))
                paths.append(path)
        return cls.from_dict(raw, " + ".join(str(p) for p in paths))


def instance_files(home: Path, language: str, practice_id: str | None) -> list[Path]:
    """Where an instance and one of its practices add words (files may not exist)."""
    folder = home / "understanding"
    files = [folder / f"{language}.yaml"]
    if practice_id:
        files.append(folder / f"{practice_id}.{language}.yaml")
    return files


def merge(base: Any, extra: Any) -> Any:
    """Lists are extended, mappings merged key by key, anything else replaced."""
    if isinstance(base, dict) and isinstance(extra, dict):
        merged = dict(base)
        for key, value in extra.items():
            merged[key] = merge(base[key], value) if key in base else value
        return merged
    if isinstance(base, list) and isinstance(extra, list):
        return base + [item for item in extra if item not in base]
    return extra


def _read(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogueError(f"{path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise CatalogueError(f"{path}: must be a mapping (language, intents, urgent…)")
    return raw


def _intent_groups(raw: Any) -> list[tuple[str, Any]]:
    """``intents`` in priority order: a list of ``{intent: phrases}`` (an intent may
    come back lower with weaker words), or one mapping."""
    if raw is None:
        return []
    if isinstance(raw, dict):
        return list(raw.items())
    if not isinstance(raw, list) or not all(isinstance(g, dict) and len(g) == 1 for g in raw):
        raise ValueError("intents: must be a list of {intent: [phrases]}, in priority order")
    return [next(iter(group.items())) for group in raw]


def _words(raw: Any, key: str) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ValueError(f"{key}: must be a list of words")
    return [str(item) for item in raw]


def _compile(raw: dict[str, Any]) -> Catalogue:
    language = str(raw.get("language") or "")
    if not language:
        raise ValueError("language: is required (e.g. fr-FR)")
    rewrites = {plain(str(k)): plain(str(v)) for k, v in (raw.get("rewrite") or {}).items()}
    rewrites = {k: v for k, v in rewrites.items() if k and k != v}
    rewrite_pattern = (
        re.compile(
            r"(?<![a-z0-9])(?:"
            + "|".join(sorted(map(re.escape, rewrites), key=len, reverse=True))
            + r")(?![a-z0-9])"
        )
        if rewrites
        else None
    )

    def normalize(text: str) -> str:
        return rewrite(plain(text), rewrite_pattern, rewrites)

    def normalize_digits(text: str) -> str:
        return rewrite(digits(text, language), rewrite_pattern, rewrites)

    since = _words(raw.get("since"), "since")
    negation = _words(raw.get("negation"), "negation")
    alternative = _words(raw.get("alternative"), "alternative")
    hearing = Hearing(
        negation=compile_any(negation, normalize),
        alternative=compile_any(alternative, normalize),
        correction=compile_any(_words(raw.get("correction"), "correction"), normalize),
    )
    intents = []
    for intent, phrases in _intent_groups(raw.get("intents")):
        if intent not in INTENTS or intent in ("urgent", "other"):
            raise ValueError(f"intents.{intent}: unknown intent (use {', '.join(INTENTS[:-2])})")
        pattern = compile_any(_words(phrases, f"intents.{intent}"), normalize)
        if pattern is not None:
            intents.append((str(intent), pattern))
    urgent = raw.get("urgent") or {}
    doctors = raw.get("doctors") or {}
    return Catalogue(
        language=language,
        rewrites=rewrites,
        rewrite_pattern=rewrite_pattern,
        hearing=hearing,
        intents=tuple(intents),
        urgent=compile_any(_words(urgent.get("words"), "urgent.words"), normalize),
        not_urgent=compile_any(_words(urgent.get("not"), "urgent.not"), normalize),
        titles=tuple(_words(doctors.get("titles"), "doctors.titles")),
        min_score=float(doctors.get("min_score", 75)),
        since=(
            re.compile(rf"{alternation(since, normalize_digits)}(?: [a-z0-9]+)? $")
            if since
            else None
        ),
        dates=DateWords.compile(raw.get("dates") or {}, normalize_digits),
        times=TimeWords.compile(raw.get("periods") or {}, raw.get("times") or {}, normalize_digits),
        raw=raw,
    )
