"""The prompt catalogue: texts with placeholders, practice overrides, and speech intents."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.config.prompts import Catalogue, CatalogueError, fold
from callcenter.config.settings import DEFAULT_FLOWS_DIR

SHIPPED = Catalogue.load(DEFAULT_FLOWS_DIR, "fr-FR")


def catalogue_dir(tmp_path: Path, body: str, language: str = "fr-FR") -> Path:
    """A flows folder whose prompts/<language>.yaml holds ``body``."""
    (tmp_path / "prompts").mkdir(exist_ok=True)
    (tmp_path / "prompts" / f"{language}.yaml").write_text(body, encoding="utf-8")
    return tmp_path


def test_the_shipped_french_catalogue_loads() -> None:
    """fr-FR.yaml is valid and holds the texts and intents the flows use."""
    assert SHIPPED.language == "fr-FR"
    assert SHIPPED.source == "fr-FR.yaml"
    for key in ("greeting", "closed", "menu_open", "message_prompt", "goodbye"):
        assert SHIPPED.has(key)
    assert set(SHIPPED.intents) >= {"urgent", "appointment", "message", "secretary"}


def test_placeholders_are_filled() -> None:
    """{practice_name} is replaced by the value given."""
    text = SHIPPED.text("greeting", {"practice_name": "cabinet des Tilleuls"})
    assert text == "Pour une urgence, tapez 9 à tout moment. Bonjour, cabinet des Tilleuls."


def test_an_unknown_placeholder_becomes_empty() -> None:
    """A placeholder with no value is left empty rather than failing mid-call."""
    assert SHIPPED.text("greeting") == "Pour une urgence, tapez 9 à tout moment. Bonjour, ."
    assert "{" not in SHIPPED.text("closed", {"practice_name": "x"})


def test_a_value_with_braces_is_inserted_verbatim() -> None:
    """Values are not themselves formatted."""
    text = SHIPPED.text("greeting", {"practice_name": "{next_opening}"})
    assert text.endswith("Bonjour, {next_opening}.")


def test_an_unknown_prompt_key_is_a_catalogue_error() -> None:
    """Asking for a text the catalogue lacks names the key."""
    with pytest.raises(CatalogueError, match="no_such_prompt"):
        SHIPPED.text("no_such_prompt")


def test_a_practice_override_replaces_one_text() -> None:
    """An override changes that text only; the others stay as shipped."""
    custom = Catalogue.load(
        DEFAULT_FLOWS_DIR, "fr-FR", {"greeting": "Cabinet {practice_name}, bonjour."}
    )
    assert custom.text("greeting", {"practice_name": "du Parc"}) == "Cabinet du Parc, bonjour."
    assert custom.text("goodbye") == SHIPPED.text("goodbye")
    assert custom.intents == SHIPPED.intents


@pytest.mark.parametrize("text", ["Bonjour {practice_name", "Bonjour }", "Bonjour {{x}"])
def test_unbalanced_braces_in_the_file_name_the_key(tmp_path: Path, text: str) -> None:
    """A text whose braces do not pair up is refused at load, naming file and key."""
    flows = catalogue_dir(tmp_path, f"goodbye: Au revoir.\ngreeting: '{text}'\n")
    with pytest.raises(CatalogueError, match=r"fr-FR\.yaml: greeting: unbalanced"):
        Catalogue.load(flows, "fr-FR")


def test_unbalanced_braces_in_an_override_name_the_key() -> None:
    """A practice override is checked like the shipped texts."""
    with pytest.raises(CatalogueError, match="greeting"):
        Catalogue.load(DEFAULT_FLOWS_DIR, "fr-FR", {"greeting": "Bonjour {practice_name"})


def test_a_placeholder_that_is_not_a_name_is_refused(tmp_path: Path) -> None:
    """{0} or {a.b} are not placeholders the catalogue fills."""
    flows = catalogue_dir(tmp_path, "greeting: 'Bonjour {0}'\n")
    with pytest.raises(CatalogueError, match="greeting"):
        Catalogue.load(flows, "fr-FR")


def test_an_empty_placeholder_is_refused_at_load() -> None:
    """'{}' cannot be filled by name, so it must be refused when the catalogue loads."""
    try:
        custom = Catalogue.load(DEFAULT_FLOWS_DIR, "fr-FR", {"greeting": "Bonjour {}"})
    except CatalogueError:
        return
    custom.text("greeting")


@pytest.mark.parametrize("body", ["greeting: [Bonjour, Salut]\n", "greeting: 3\n", "greeting:\n"])
def test_a_value_that_is_not_a_text_is_refused(tmp_path: Path, body: str) -> None:
    """Every key outside 'intents' maps to a text."""
    with pytest.raises(CatalogueError, match=r"fr-FR\.yaml: greeting: must be a text"):
        Catalogue.load(catalogue_dir(tmp_path, body), "fr-FR")


def test_intents_that_are_not_phrase_lists_are_refused(tmp_path: Path) -> None:
    """intents.<name> is a list of phrases."""
    flows = catalogue_dir(tmp_path, "intents:\n  urgent: urgence\n")
    with pytest.raises(CatalogueError, match=r"intents\.urgent"):
        Catalogue.load(flows, "fr-FR")


def test_a_missing_language_file_is_a_catalogue_error() -> None:
    """No prompts/<language>.yaml: the error names the language."""
    with pytest.raises(CatalogueError, match="de-DE"):
        Catalogue.load(DEFAULT_FLOWS_DIR, "de-DE")


def test_invalid_yaml_is_a_catalogue_error(tmp_path: Path) -> None:
    """A file that is not YAML is refused, naming it."""
    flows = catalogue_dir(tmp_path, "greeting: [unclosed\n")
    with pytest.raises(CatalogueError, match=r"fr-FR\.yaml"):
        Catalogue.load(flows, "fr-FR")


# --- intents ---------------------------------------------------------------------------------

ALL_INTENTS = ["urgent", "appointment", "message", "secretary"]


@pytest.mark.parametrize(
    ("speech", "intent"),
    [
        ("J'ai une DOULEUR à la poitrine", "urgent"),
        ("j ai une douleur a la poitrine", "urgent"),
        ("C'EST URGENT", "urgent"),
        ("je voudrais prendre un RDV", "appointment"),
        ("un rendez-vous s'il vous plaît", "appointment"),
        ("je veux déplacer mon rendez vous", "appointment"),
        ("Je voudrais parler au secrétariat.", "secretary"),
        ("laisser un message", "message"),
    ],
)
def test_an_intent_is_found_with_case_and_accents_folded(speech: str, intent: str) -> None:
    """Speech and phrases are compared folded: case, accents and punctuation ignored."""
    assert SHIPPED.match_intent(speech, ALL_INTENTS) == intent


@pytest.mark.parametrize("speech", ["ma messagerie ne marche pas", "la standardiste", "rdvous"])
def test_a_phrase_inside_another_word_does_not_match(speech: str) -> None:
    """'message' is not heard in 'messagerie': phrases match whole words only."""
    assert SHIPPED.match_intent(speech, ALL_INTENTS) is None


def test_the_first_intent_in_the_given_order_wins() -> None:
    """When several intents match, the order of ``names`` decides."""
    speech = "c'est urgent, je voudrais un rendez-vous"
    assert SHIPPED.match_intent(speech, ["urgent", "appointment"]) == "urgent"
    assert SHIPPED.match_intent(speech, ["appointment", "urgent"]) == "appointment"


def test_only_the_given_intents_are_considered() -> None:
    """An intent not listed in ``names`` is never returned; unknown names are ignored."""
    assert SHIPPED.match_intent("c'est urgent", ["appointment", "no-such-intent"]) is None


def test_silence_matches_no_intent() -> None:
    """Empty or punctuation-only speech matches nothing."""
    assert SHIPPED.match_intent("", ALL_INTENTS) is None
    assert SHIPPED.match_intent(" ... ", ALL_INTENTS) is None


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("  Déplacer   un RENDEZ-VOUS ! ", "deplacer un rendez vous"),
        ("J'ai mal à la poitrine", "j ai mal a la poitrine"),
        ("Ça va, Élodie ?", "ca va elodie"),
        ("Straße", "strasse"),
        ("", ""),
        ("?!…", ""),
    ],
)
def test_fold_lowercases_strips_accents_and_punctuation(text: str, folded: str) -> None:
    """fold: lower-case, no accents, punctuation as single spaces, trimmed."""
    assert fold(text) == folded


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_match_intent_never_raises(speech: str) -> None:
    """Any recognised speech gives one of the names or None."""
    assert SHIPPED.match_intent(speech, ALL_INTENTS) in {*ALL_INTENTS, None}


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(SHIPPED.texts)), st.text(), st.text())
def test_text_never_raises_whatever_the_values(key: str, name: str, opening: str) -> None:
    """Any value, braces included, fills a shipped text without error."""
    result = SHIPPED.text(key, {"practice_name": name, "next_opening": opening})
    assert isinstance(result, str)
    if "{practice_name}" in SHIPPED.texts[key]:
        assert name in result
