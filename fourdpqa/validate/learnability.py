"""Answerable from the pixels: the pixel probe's benchmark accuracy per (type, format) next to the best
text-only baseline (:mod:`fourdpqa.validate.text_bias`) and the optical-flow heuristic. A type where the probe
beats text by no more than ``min_gain`` is flagged (a warning: the probe is small, so this says the pixels at
this size and data volume carry no learnable answer, not that no model could learn it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from fourdpqa.params import ProbeParams
from fourdpqa.probe import run_probe
from fourdpqa.validate.result import CheckResult
from fourdpqa.validate.text_bias import CHANCE, PREDICTORS, p_above_chance

FLOW_TYPES = ("camera_movement", "camera_object_distance")  # where the flow heuristic reads pixels


def flow_accuracy(train: pl.DataFrame, benchmark: pl.DataFrame, dataset_dir: str | Path) -> dict[str, float]:
    """Accuracy of the optical-flow heuristic (``fourdpqa.predictors.flow``) per "<type>/<format>" on the types
    it answers from pixels (elsewhere it is the blind prior, already reported)."""
    from fourdpqa.answers import score_answer
    from fourdpqa.predictors.blind import BlindPredictor
    from fourdpqa.predictors.base import Sample
    from fourdpqa.predictors.flow import FlowPredictor
    from fourdpqa.qa_format import format_prompt

    flow = FlowPredictor(BlindPredictor().fit(train.iter_rows(named=True)))
    rows = benchmark.filter(pl.col("question_name").is_in(FLOW_TYPES) & pl.col("answer_format").is_in(list(CHANCE)))
    hits: dict[str, list[float]] = {}
    for r in rows.sort("id").iter_rows(named=True):
        frames = [str(Path(dataset_dir) / f) for f in r["frames"]]
        answer = flow.predict([Sample(frames, format_prompt(r), r)])[0]
        hits.setdefault(f"{r['question_name']}/{r['answer_format']}", []).append(score_answer(r, answer).score)
    return {k: round(sum(v) / len(v), 4) for k, v in sorted(hits.items())}


def per_category(per_type: dict[str, dict[str, Any]], categories: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Per category (``categories``: question name -> category), pooled over its (type, format) groups: probe,
    best-text and chance accuracy weighted by n, and the one-sided binomial p-value of the probe's hits against
    the best text baseline's rate. A group of 20 questions cannot tell 0.6 from 0.5; a category of 100 can."""
    pooled: dict[str, dict[str, float]] = {}
    for key, info in per_type.items():
        acc = pooled.setdefault(categories[key.rsplit("/", 1)[0]], {"n": 0, "probe": 0.0, "best_text": 0.0, "chance": 0.0})
        acc["n"] += info["n"]
        for name in ("probe", "best_text", "chance"):
            acc[name] += info[name] * info["n"]
    out = {}
    for cat, acc in sorted(pooled.items()):
        n = int(acc["n"])
        probe, text, chance = (acc[k] / n for k in ("probe", "best_text", "chance"))
        out[cat] = {"n": n, "probe": round(probe, 4), "best_text": round(text, 4), "chance": round(chance, 4),
                    "gain_over_text": round(probe - text, 4),
                    "p_vs_text": float(f"{p_above_chance(round(probe * n), n, min(text, 1.0)):.3g}")}
    return out


def check_pixel_learnability(train: pl.DataFrame, benchmark: pl.DataFrame, dataset_dir: str | Path,
                             blind_per_type: dict[str, dict[str, Any]], cfg: ProbeParams, seed: int,
                             device: str = "auto", scenes_dir: str | Path | None = None) -> CheckResult:
    """Per benchmark (type, format): probe accuracy and p-value, best text-only accuracy, flow accuracy and the
    probe's gain over text; flagged where the gain is <= ``cfg.min_gain``; the same pooled per category. The
    probe learns camera motion from the training scenes under ``scenes_dir`` too. Never blocking."""
    try:
        probe = run_probe(train, benchmark, dataset_dir, cfg, seed, device, scenes_dir)
    except ValueError as exc:  # e.g. no training rows of the benchmark's types: nothing to learn from
        return CheckResult("check_pixel_learnability", False, False, f"probe not run: {exc}",
                           "pixel probe accuracy per type", {"per_type": {}, "flagged": [], "error": str(exc)})
    flow = flow_accuracy(train, benchmark, dataset_dir)
    categories = dict(benchmark.select("question_name", "category").unique().iter_rows())
    per_type: dict[str, dict[str, Any]] = {}
    flagged = []
    for key, acc in probe.accuracy.items():
        chance = CHANCE[key.rsplit("/", 1)[1]]
        text = max((blind_per_type.get(key, {}).get(p, chance) for p in PREDICTORS), default=chance)
        n = probe.n[key]
        info = {"n": n, "chance": chance, "probe": acc, "probe_p": float(f"{p_above_chance(round(acc * n), n, chance):.3g}"),
                "best_text": text, "gain_over_text": round(acc - text, 4)}
        if key in flow:
            info["flow"] = flow[key]
        per_type[key] = info
        if acc - text <= cfg.min_gain:
            flagged.append(key)
    return CheckResult("check_pixel_learnability", not flagged, False,
                       f"{len(per_type) - len(flagged)}/{len(per_type)} types where pixels beat text"
                       + (f"; no gain on {flagged}" if flagged else ""),
                       f"pixel probe accuracy > best text-only accuracy + {cfg.min_gain:.2f} on every type",
                       {"per_type": per_type, "flagged": flagged, "per_category": per_category(per_type, categories),
                        "train_rows": probe.train_rows,
                        "final_loss": round(probe.final_loss, 4), "config": cfg.model_dump()})
