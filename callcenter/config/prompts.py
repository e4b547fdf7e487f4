"""The prompt catalogue: every word a caller hears, one file per language.

``<flows_dir>/prompts/<language>.yaml`` maps prompt keys to texts, plus an
``intents`` section mapping intent names to the phrases that select them by
speech.  A practice may override single texts in its practice file, so
wording changes need no code.
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callcenter.core.yaml_fields import Fields, NotYaml, in_file, load_yaml


class CatalogueError(Exception):
    """A catalogue file is missing or invalid; the message names the file and key."""


def fold(text: str) -> str:
    """Lower-case, accents removed, punctuation to spaces: how speech is compared."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    cleaned = "".join(c if c.isalnum() else " " for c in bare)
    return " ".join(cleaned.split())


class _Blank(dict[str, Any]):
    """Formatting variables: an unknown placeholder becomes empty, never an error."""

    def __missing__(self, key: str) -> str:
        return ""


@dataclass(frozen=True)
class Catalogue:
    language: str
    texts: Mapping[str, str]
    intents: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    source: str = ""

    @classmethod
    def load(
        cls,
        flows_dir: Path,
        language: str,
        overrides: Mapping[str, str] | None = None,
        more_phrases: Mapping[str, Sequence[str]] | None = None,
    ) -> Catalogue:
        """The catalogue of ``language``: the practice's ``overrides`` replace texts,
        its ``more_phrases`` extend intents (its own words of urgency, say)."""
        path = flows_dir / "prompts" / f"{language}.yaml"
        if not path.is_file():
            raise CatalogueError(f"{path}: no prompt catalogue for language {language!r}")
        try:
            raw = load_yaml(path) or {}
        except NotYaml as exc:
            raise CatalogueError(f"{path.name}: {exc}") from None
        if not isinstance(raw, dict):
            raise CatalogueError(f"{path.name}: must map prompt keys to texts")
        raw_intents = raw.pop("intents", {}) or {}
        # A key with no text is a text missing, not an optional entry.
        entries = Fields(raw, error=in_file(CatalogueError, path.name), missing="must be {what}")
        texts: dict[str, str] = {}
        for key in raw:
            value = entries.value(key, str, "a text")
            cls._check_placeholders(path.name, str(key), value)
            texts[str(key)] = value
        for key, value in (overrides or {}).items():
            cls._check_placeholders("practice prompts", key, value)
            texts[key] = value
        intents: dict[str, tuple[str, ...]] = {}
        if not isinstance(raw_intents, dict):
            raise CatalogueError(f"{path.name}: intents: must map intent names to phrase lists")
        for name, phrases in raw_intents.items():
            if not isinstance(phrases, list) or not all(isinstance(p, str) for p in phrases):
                raise CatalogueError(f"{path.name}: intents.{name}: must be a list of phrases")
            intents[str(name)] = tuple(fold(p) for p in phrases if fold(p))
        for name, phrases in (more_phrases or {}).items():
            added = tuple(fold(p) for p in phrases if fold(p))
            intents[name] = (*intents.get(name, ()), *added)
        return cls(language=language, texts=texts, intents=intents, source=path.name)

    @staticmethod
    def _check_placeholders(source: str, key: str, text: str) -> None:
        try:
            fields = [(n, s, c) for _, n, s, c in string.Formatter().parse(text) if n is not None]
        except ValueError:
            raise CatalogueError(f"{source}: {key}: unbalanced braces in the text") from None
        for name, spec, conversion in fields:
            if not name.isidentifier() or spec or conversion:
                raise CatalogueError(
                    f"{source}: {key}: placeholder {{{name}}} must be a plain name like "
                    "{practice_name}"
                )

    def has(self, key: str) -> bool:
        return key in self.texts

    def text(self, key: str, variables: Mapping[str, Any] | None = None) -> str:
        """The text of ``key`` with its ``{placeholders}`` filled in."""
        try:
            template = self.texts[key]
        except KeyError:
            raise CatalogueError(f"{self.source}: no prompt {key!r}") from None
        return template.format_map(_Blank(variables or {}))

    def match_intent(self, speech: str, names: list[str]) -> str | None:
        """The first of ``names`` whose phrases occur in ``speech``, or ``None``."""
        heard = f" {fold(speech)} "
        for name in names:
            for phrase in self.intents.get(name, ()):
                if f" {phrase} " in heard:
                    return name
        return None
