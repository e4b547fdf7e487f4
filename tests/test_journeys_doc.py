"""docs/journeys.md stays true: regenerated from calls on the demo practice, it must not differ."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parent.parent / "docs" / "journeys.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_journeys", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_journeys_transcript_is_what_the_calls_say() -> None:
    journeys = load_script()
    written = journeys.OUT.read_text(encoding="utf-8")
    assert journeys.render() == written, "docs/journeys.md is stale: run `make journeys`"


def test_every_journey_the_docs_promise_is_there() -> None:
    titles = " | ".join(j.title for j in load_script().JOURNEYS)
    for journey in ("Nouvel appelant", "Patient connu", "Déplacer", "Annuler", "message",
                    "une secrétaire répond", "Secrétariat : personne ne répond",
                    "Urgence en journée : le secrétariat répond",
                    "Urgence en journée : personne ne répond",
                    "Urgence la nuit : le médecin de garde répond",
                    "Urgence la nuit : personne ne répond", "Numéro masqué",
                    "Jour férié"):  # fmt: skip
        assert journey in titles
