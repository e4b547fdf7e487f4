"""The French corpus, read once, and the demo practice's doctors to understand it with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from callcenter.config.staff import Doctor
from callcenter.understanding import Catalogue, understand
from callcenter.understanding.request import Request

CORPUS = Path(__file__).with_name("corpus_fr.yaml")
FIELDS = ("intent", "urgent", "doctor", "date", "period", "time")
DOCTORS = (
    Doctor(id="dr-martin", name="Claire Martin", called="docteure Martin"),
    Doctor(id="dr-bernard", name="Paul Bernard", called="docteur Bernard"),
)
OPEN_DAYS = (0, 1, 2, 3, 4, 5)  # the demo practice: Monday to Saturday morning


@dataclass(frozen=True)
class Case:
    text: str
    expected: dict[str, Any]
    heldout: bool = False  # written after the catalogue was tuned, never tuned on


@cache
def corpus() -> tuple[datetime, ZoneInfo, tuple[Case, ...]]:
    raw = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))
    moment = datetime.fromisoformat(raw["moment"])
    cases = []
    for item in raw["utterances"]:
        intent = item["intent"]
        expected = {
            "intent": intent,
            "urgent": bool(item.get("urgent", intent == "urgent")),
            "doctor": item.get("doctor"),
            "date": str(item["date"]) if item.get("date") else None,
            "period": item.get("period"),
            "time": item.get("time"),
        }
        cases.append(Case(item["text"], expected, bool(item.get("heldout"))))
    return moment, ZoneInfo(raw["timezone"]), tuple(cases)


@cache
def catalogue() -> Catalogue:
    return Catalogue.load("fr-FR")


def run(text: str) -> Request:
    moment, tz, _ = corpus()
    return understand(text, catalogue(), DOCTORS, moment, tz, open_days=OPEN_DAYS)
