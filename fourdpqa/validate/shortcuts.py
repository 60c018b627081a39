"""Motion shortcuts (issue 24.1): can the benchmark's motion questions be answered by an observer who sees only
that things move, or only whether they translate or rotate, but not which way or how far?

The two lazy motion baselines of :mod:`fourdpqa.predictors.lazy` (motion presence, direction-blind), fitted on the
training split, answer the benchmark; per category their accuracy must stay within chance + ``margin``, chance
being each question's own (1/4 for MC, 1/2 for yes/no) averaged over the category. At 100 questions a category,
luck alone moves a guesser's accuracy by about 5 points, so a category is flagged when the accuracy is over chance +
margin *and* the excess over chance is significant at a family-wise level of 0.01 (exact Poisson-binomial tail
of the per-question chances, Holm over the baselines x categories), as the blind audit does
(:mod:`fourdpqa.validate.text_bias`). The same predictors are rows of the evaluation table (Table 2).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from fourdpqa.answers import score_answer
from fourdpqa.predictors.base import Sample
from fourdpqa.predictors.lazy import KNOWLEDGE, PREDICTOR_NAMES, LazyMotionPredictor
from fourdpqa.validate.result import CheckResult
from fourdpqa.validate.stats import holm_significant, p_above_pooled

CHANCE = {"mc": 0.25, "yn": 0.5}
FAMILY_LEVEL = 0.01


def lazy_scores(train: pl.DataFrame, benchmark: pl.DataFrame, scenes_dir: str | Path) -> dict[str, dict[str, Any]]:
    """predictor name -> category -> {n, accuracy, chance} on the benchmark's MC and yes/no questions."""
    bench = benchmark.filter(pl.col("answer_format").is_in(list(CHANCE))).sort("video_id", "id").to_dicts()
    out: dict[str, dict[str, Any]] = {}
    for knowledge in KNOWLEDGE:
        predictor = LazyMotionPredictor(scenes_dir, knowledge).fit(train.to_dicts())
        answers = predictor.predict([Sample([], "", r) for r in bench])
        right: dict[str, int] = defaultdict(int)
        chances: dict[str, list[float]] = defaultdict(list)
        for rec, answer in zip(bench, answers, strict=True):
            right[rec["category"]] += int(score_answer(rec, answer).score)
            chances[rec["category"]].append(CHANCE[rec["answer_format"]])
        out[PREDICTOR_NAMES[knowledge]] = {
            cat: {"n": len(ch), "accuracy": round(right[cat] / len(ch), 4), "chance": round(float(np.mean(ch)), 4),
                  "p": round(p_above_pooled(right[cat], Counter(ch)), 6)} for cat, ch in sorted(chances.items())}
    return out


def check_lazy_baselines(train: pl.DataFrame, benchmark: pl.DataFrame, scenes_dir: str | Path, margin: float,
                         blocking: bool = False) -> CheckResult:
    """Both lazy motion baselines within chance + ``margin`` in every category of the benchmark, or not
    significantly above chance there (module doc)."""
    scores = lazy_scores(train, benchmark, scenes_dir)
    tests = {f"{name}/{cat}": s for name, cats in scores.items() for cat, s in cats.items()}
    significant = holm_significant({k: s["p"] for k, s in tests.items()}, FAMILY_LEVEL)
    over = {k: f"{s['accuracy']:.3f} > {s['chance']:.3f} + {margin:g} (p={s['p']:.2g})"
            for k, s in tests.items() if s["accuracy"] > s["chance"] + margin}
    flagged = {k: why for k, why in over.items() if k in significant}
    shown = "; ".join(f"{name} " + ", ".join(f"{cat} {s['accuracy']:.3f} (chance {s['chance']:.3f}, n={s['n']})"
                                             for cat, s in cats.items()) for name, cats in scores.items())
    return CheckResult("check_lazy_baselines", not flagged, blocking, shown,
                       f"every category <= chance + {margin:g}, or not above chance at family-wise p < "
                       f"{FAMILY_LEVEL:g}, for the motion-presence and direction-blind baselines",
                       {"scores": scores, "over_margin": over, "flagged": flagged, "margin": margin})
