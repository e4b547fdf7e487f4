"""The console's wording: every key a template or page uses is in the French
catalogue, and every other catalogue has them all (a missing key fails at
start-up, never as a blank on a page)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from callcenter.web.console import text

CONSOLE = Path(text.__file__).parent
USED = re.compile(r"""\b(?:t|text)\(\s*["']([a-z0-9_.]+)["']""")


def used_keys() -> set[str]:
    found: set[str] = set()
    for path in [*CONSOLE.glob("*.py"), *CONSOLE.glob("templates/console/*.html")]:
        found |= set(USED.findall(path.read_text(encoding="utf-8")))
    return {key for key in found if not key.endswith(".")}  # "role." ~ role: checked below


def test_every_key_used_is_in_the_french_catalogue():
    keys = used_keys()
    assert len(keys) > 50  # the scan sees the pages
    assert sorted(keys - set(text.catalogue("fr-FR"))) == []


def test_each_role_has_its_name():
    assert {f"role.{r}" for r in ("secretary", "doctor", "admin")} <= set(text.catalogue())


def test_an_unknown_console_language_stops_the_start(settings):
    import dataclasses

    from callcenter.services import StartupError
    from callcenter.web.app import create_app

    with pytest.raises(StartupError, match="xx-XX"):
        create_app(dataclasses.replace(settings, extra={"console_language": "xx-XX"}))


@pytest.mark.parametrize("language", text.languages())
def test_every_catalogue_loads_and_is_complete(language):
    assert set(text.catalogue(language)) >= set(text.catalogue("fr-FR"))


def test_a_catalogue_missing_a_key_is_refused(tmp_path, monkeypatch):
    french = yaml.safe_load((CONSOLE / "text" / "fr-FR.yaml").read_text(encoding="utf-8"))
    (tmp_path / "fr-FR.yaml").write_text(yaml.safe_dump(french), encoding="utf-8")
    (tmp_path / "xx-XX.yaml").write_text(yaml.safe_dump({"app.name": "x"}), encoding="utf-8")
    monkeypatch.setattr(text, "TEXT_DIR", tmp_path)
    text.catalogue.cache_clear()
    try:
        with pytest.raises(text.TextError, match="missing"):
            text.catalogue("xx-XX")
    finally:
        text.catalogue.cache_clear()
