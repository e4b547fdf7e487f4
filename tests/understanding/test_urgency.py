"""Life-threatening words make a call urgent, whatever else is said."""

from __future__ import annotations

import pytest

from callcenter.understanding import Catalogue
from callcenter.understanding.catalogue import merge
from callcenter.understanding.understand import is_urgent
from tests.understanding.corpus import catalogue, run


@pytest.mark.parametrize(
    "said",
    [
        "douleur dans la poitrine",
        "j'ai mal à la poitrine",
        "il ne respire plus",
        "j'arrive pas à respirer",
        "elle est inconsciente",
        "il ne répond plus",
        "il est paralysé",
        "elle a la bouche de travers",
        "il n'arrive plus à parler",
        "il saigne beaucoup",
        "une hémorragie",
        "j'ai envie de mourir",
        "je veux me suicider",
        "mon fils menace de se tuer",
        "elle parle de se pendre",
        "c'est une urgence",
        "c'est urgent",
    ],
)
def test_urgent_words(said: str):
    request = run(said)
    assert request.urgent and request.intent == "urgent"


@pytest.mark.parametrize(
    "said",
    [
        "je voudrais un rendez-vous jeudi mon fils a du mal à respirer",
        "c'est pour une ordonnance mais j'ai mal à la poitrine",
        "je serai en retard ma mère ne répond plus",
    ],
)
def test_urgency_wins_over_any_other_request(said: str):
    assert run(said).intent == "urgent"


def test_the_rest_is_still_understood():
    request = run("un rendez-vous avec le docteur martin demain j'ai mal à la poitrine")
    assert request.as_json() == {
        "intent": "urgent",
        "doctor": "dr-martin",
        "date": "2026-12-02",
        "period": None,
        "time": None,
        "urgent": True,
    }


@pytest.mark.parametrize(
    "said",
    [
        "ce n'est pas urgent",
        "rien d'urgent",
        "sans urgence un rendez-vous",
        "je ne suis pas pressé",
        "je voudrais un rendez-vous",
    ],
)
def test_not_urgent(said: str):
    assert not run(said).urgent


def test_a_practice_extends_the_list():
    words = catalogue().normalize("il a la jambe bleue")
    assert not is_urgent(words, catalogue())
    extended = Catalogue.from_dict(merge(catalogue().raw, {"urgent": {"words": ["jambe bleue"]}}))
    assert is_urgent(words, extended)
    assert is_urgent(catalogue().normalize("douleur dans la poitrine"), extended)  # kept
