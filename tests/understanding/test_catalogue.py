"""Catalogues: read, extended by an instance or a practice, and wrong ones named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from callcenter.understanding import Catalogue, CatalogueError, instance_files
from callcenter.understanding.catalogue import SHIPPED_DIR, merge
from callcenter.understanding.phrases import alternation
from callcenter.understanding.text import plain


def test_the_shipped_french_catalogue_loads():
    catalogue = Catalogue.load("fr-FR")
    assert catalogue.language == "fr-FR"
    assert [name for name, _ in catalogue.intents][:3] == ["late", "move", "cancel"]


def test_phrases_match_whole_words_stems_and_gaps():
    import re

    stem = re.compile(alternation(["saign*"], plain))
    assert stem.search("il saigne") and stem.search("un saignement")
    assert not stem.search("ensaigne")
    gap = re.compile(alternation(["douleur ... poitrine"], plain))
    assert gap.search("douleur dans la poitrine")
    assert not gap.search("douleur au pied et puis hier soir la poitrine")
    accents = re.compile(alternation(["après-midi"], plain))
    assert accents.search("apres midi")


def test_merge_extends_lists_and_replaces_values():
    base = {"urgent": {"words": ["a", "b"]}, "doctors": {"min_score": 75}}
    extra = {"urgent": {"words": ["c", "a"]}, "doctors": {"min_score": 85}}
    assert merge(base, extra) == {
        "urgent": {"words": ["a", "b", "c"]},
        "doctors": {"min_score": 85},
    }


def test_an_instance_and_a_practice_add_words(tmp_path: Path):
    home = tmp_path
    (home / "understanding").mkdir()
    (home / "understanding" / "fr-FR.yaml").write_text(
        "urgent:\n  words: [jambe bleue]\n", encoding="utf-8"
    )
    (home / "understanding" / "demo.fr-FR.yaml").write_text(
        "intents:\n  - address: [cour intérieure]\n", encoding="utf-8"
    )
    files = instance_files(home, "fr-FR", "demo")
    catalogue = Catalogue.load("fr-FR", *files)
    assert catalogue.urgent is not None
    assert catalogue.urgent.search(catalogue.normalize("sa jambe bleue"))
    assert any(
        name == "address" and p.search("la cour interieure") for name, p in catalogue.intents
    )
    # Another practice of the instance gets the instance's words, not demo's.
    other = Catalogue.load("fr-FR", *instance_files(home, "fr-FR", "other"))
    assert not any(p.search("la cour interieure") for _, p in other.intents)


def test_a_flows_folder_without_catalogue_falls_back_to_the_shipped_one(tmp_path: Path):
    assert Catalogue.load("fr-FR", folder=tmp_path).language == "fr-FR"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"language": ""}, "language"),
        ({"intents": [{"dance": ["valse"]}]}, "intents.dance"),
        ({"intents": "book"}, "intents"),
        ({"urgent": {"words": "urgent"}}, "urgent.words"),
        ({"periods": {"night": ["nuit"]}}, "night"),
        ({"dates": {"weekdays": ["lundi"]}}, "weekdays"),
    ],
)
def test_wrong_catalogues_are_named(change: dict[str, object], message: str):
    raw = yaml.safe_load((SHIPPED_DIR / "fr-FR.yaml").read_text(encoding="utf-8"))
    raw.update(change)
    with pytest.raises(CatalogueError, match=message):
        Catalogue.from_dict(raw, "fr-FR.yaml")


def test_unreadable_files_are_named(tmp_path: Path):
    with pytest.raises(CatalogueError, match=r"xx-XX\.yaml"):
        Catalogue.load("xx-XX", folder=tmp_path)
    bad = tmp_path / "fr-FR.yaml"
    bad.write_text("intents: [", encoding="utf-8")
    with pytest.raises(CatalogueError, match="not valid YAML"):
        Catalogue.load("fr-FR", bad)
    bad.write_text("- a list\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="must be a mapping"):
        Catalogue.load("fr-FR", bad)
