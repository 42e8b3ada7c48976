"""How well the offline defaults' next-sentence head separates true continuations from unrelated
sentences, on the everyday held-out pairs (``examples/nsp_heldout.tsv``: per language 50 true, 50
unrelated, kept out of all training).

Issue 17's goals, per language: accuracy >= 85 %, the median P(IsNext) of true pairs >= 0.8 and
of unrelated pairs <= 0.3. Rows: ours = the measured value, reference = the goal, ratio = ours /
goal (for accuracy and the true median higher is better, goal >= 1.0x; for the unrelated median
lower is better, goal <= 1.0x).

Run: ``.venv/bin/python -m benchmarks bench_nsp``.
"""

from __future__ import annotations

import bertcore
from bertcore import defaults, next_sentence

GOALS = (("accuracy", 0.85, ">="), ("median_true", 0.8, ">="), ("median_unrelated", 0.3, "<="))


def run() -> list[dict]:
    rows = []
    for lang, name in defaults.DEFAULT_MODEL.items():
        score = next_sentence.evaluate(bertcore.load(name, device="cpu"),
                                       next_sentence.heldout_pairs(lang))
        print(f"   {name}: {score}", flush=True)
        for field, goal, side in GOALS:
            value = getattr(score, field)
            rows.append({"name": f"NSP everyday held-out {field.replace('_', ' ')} ({name}, "
                                 f"{score.pairs} pairs)",
                         "ours_s": value, "ref_s": goal, "ratio": value / goal, "unit": "",
                         "goal": f"{side} 1.0x ({side} {goal})"})
    return rows
