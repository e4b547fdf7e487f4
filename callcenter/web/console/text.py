"""The console's wording, from a catalogue per language (French by default).

A practice changes wording or language by editing or adding a YAML file in
``text/``; a key missing from a catalogue fails at start-up, not on a page.
"""

from __future__ import annotations

import functools
from pathlib import Path

from callcenter.core.yaml_fields import NotYaml, load_yaml

TEXT_DIR = Path(__file__).parent / "text"
DEFAULT_LANGUAGE = "fr-FR"


class TextError(ValueError):
    """A console catalogue is missing, unreadable or incomplete."""


@functools.cache
def catalogue(language: str = DEFAULT_LANGUAGE) -> dict[str, str]:
    path = TEXT_DIR / f"{language}.yaml"
    try:
        raw = load_yaml(path)
    except (OSError, NotYaml) as exc:
        raise TextError(f"console text {path}: {exc}") from None
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise TextError(f"console text {path}: must map keys to text")
    if language != DEFAULT_LANGUAGE:
        missing = sorted(set(catalogue(DEFAULT_LANGUAGE)) - set(raw))
        if missing:
            raise TextError(f"console text {path}: missing {', '.join(missing[:5])}")
    return {str(k): v for k, v in raw.items()}


def languages() -> list[str]:
    return sorted(p.stem for p in TEXT_DIR.glob("*.yaml"))
