"""Accuracy on the French corpus, field by field, with a table printed (pytest -s)."""

from __future__ import annotations

from tests.understanding.corpus import FIELDS, corpus, run

# Intent and urgency decide where the call goes: they must nearly never be wrong.
THRESHOLDS = {"intent": 0.95, "urgent": 0.95, "doctor": 0.90, "date": 0.90, "period": 0.90,
              "time": 0.90}  # fmt: skip


def accuracy(heldout_only: bool = False) -> tuple[dict[str, float], list[str]]:
    _, _, everything = corpus()
    cases = [c for c in everything if c.heldout or not heldout_only]
    right = dict.fromkeys(FIELDS, 0)
    misses = []
    for case in cases:
        got = run(case.text).as_json()
        for name in FIELDS:
            if got[name] == case.expected[name]:
                right[name] += 1
            else:
                misses.append(
                    f"{name}: {case.text!r} gave {got[name]!r}, not {case.expected[name]!r}"
                )
    return {name: right[name] / max(1, len(cases)) for name in FIELDS}, misses


def test_the_corpus_is_large_and_covers_every_intent():
    _, _, cases = corpus()
    assert len(cases) >= 400
    intents = {case.expected["intent"] for case in cases}
    assert intents == {
        "book", "cancel", "move", "message", "secretary", "urgent", "prescription", "results",
        "certificate", "hours", "address", "late", "other",
    }  # fmt: skip
    assert len({case.text for case in cases}) == len(cases), "an utterance is listed twice"


def test_accuracy_per_field():
    scores, misses = accuracy()
    heldout, _ = accuracy(heldout_only=True)
    _, _, cases = corpus()
    held = sum(c.heldout for c in cases)
    print(f"\n{len(cases)} utterances, {held} of them held out (never tuned on)")
    print(f"{'field':<8} {'accuracy':>9} {'held out':>9} {'needed':>7}")
    for name in FIELDS:
        apart = f"{heldout[name]:>9.1%}" if held else f"{'-':>9}"
        print(f"{name:<8} {scores[name]:>8.1%} {apart} {THRESHOLDS[name]:>7.0%}")
    for miss in misses:
        print("  miss", miss)
    failing = {n: s for n, s in scores.items() if s < THRESHOLDS[n]}
    assert not failing, f"below the threshold: {failing}"
