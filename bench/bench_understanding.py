"""What understanding one caller's sentence costs, over the French corpus.

Run: ``make bench-understanding`` (or ``.venv/bin/python bench/bench_understanding.py``).
Each utterance of tests/understanding/corpus_fr.yaml is understood ROUNDS times
with the demo practice's doctors; prints the median and the 99th percentile
of the utterances' times in microseconds, and the cost of compiling the
catalogue once.
"""

from __future__ import annotations

import platform
import statistics
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from callcenter.config.staff import Doctor
from callcenter.instance import DEMO_DOCTORS, DEMO_PRACTICE
from callcenter.understanding import Catalogue, understand

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "understanding" / "corpus_fr.yaml"
ROUNDS = 20


def main() -> None:
    raw = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))
    texts = [item["text"] for item in raw["utterances"]]
    moment = datetime.fromisoformat(raw["moment"])
    tz = ZoneInfo(str(DEMO_PRACTICE["timezone"]))
    doctors = [Doctor(id=d["id"], name=d["name"], called=d["called"]) for d in DEMO_DOCTORS]

    start = time.perf_counter()
    catalogue = Catalogue.load("fr-FR")
    compile_ms = (time.perf_counter() - start) * 1e3
    understand("échauffement", catalogue, doctors, moment, tz)  # doctors' names compiled once

    # Each utterance's own time is its median over the rounds (the machine's
    # hiccups aside); the table gives the median and the p99 of those.
    rounds: list[list[float]] = [[] for _ in texts]
    for _ in range(ROUNDS):
        for i, text in enumerate(texts):
            start = time.perf_counter()
            understand(text, catalogue, doctors, moment, tz, open_days=range(6))
            rounds[i].append((time.perf_counter() - start) * 1e6)
    samples = sorted(statistics.median(r) for r in rounds)
    p99 = samples[max(0, round(len(samples) * 0.99) - 1)]
    print(f"understanding, {platform.python_implementation()} {platform.python_version()}, "
          f"{len(texts)} utterances x {ROUNDS} rounds")  # fmt: skip
    print("| measure | value |")
    print("| --- | --- |")
    print(f"| catalogue load and compile (once) | {compile_ms:.1f} ms |")
    print(f"| per utterance, median | {statistics.median(samples):.0f} µs |")
    print(f"| per utterance, p99 | {p99:.0f} µs |")
    print(f"| per utterance, slowest | {samples[-1]:.0f} µs |")


if __name__ == "__main__":
    main()
