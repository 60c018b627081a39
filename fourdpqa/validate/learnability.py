"""Answerable from the pixels: the pixel probe's benchmark accuracy per (type, format) next to the best text-only
predictor of the blind audit (:mod:`fourdpqa.validate.text_bias`) and the optical-flow heuristic, and per category
pooled, with a one-sided binomial p-value of the probe's hits against the best text predictor's rate.

The rule (a warning, never blocking): in at least one category the probe beats the best text-only predictor
significantly (Holm over the categories at ``alpha``). That holds on a healthy dataset — camera motion is read
from the flow and the poses-trained clip features — and fails when the pixels carry no answer the probe can learn
anywhere (clips that do not belong to their questions, frames out of order, answers unrelated to the scenes). Which
(type, format) groups show no gain is listed, not flagged: a small probe trained from scratch on ~40 videos is not
expected to learn every type, and a warning that fires on every run says nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from fourdpqa.params import ProbeParams
from fourdpqa.validate.registry import CheckInfo
from fourdpqa.validate.result import CheckResult
from fourdpqa.validate.stats import holm_significant, p_above_chance
from fourdpqa.validate.text_bias import CHANCE, PREDICTORS

if TYPE_CHECKING:  # the probe (torch) loads where it trains, not with this module
    from fourdpqa.probe import ProbeResult

FLOW_TYPES = ("camera_movement", "camera_object_distance")  # where the flow heuristic reads pixels
CHECK = CheckInfo("check_pixel_learnability", "learnability_report", False,
                  "in some category the pixel probe beats the best text-only predictor (one-sided binomial, Holm)")


def flow_accuracy(train: pl.DataFrame, benchmark: pl.DataFrame, dataset_dir: str | Path) -> dict[str, float]:
    """Accuracy of the optical-flow heuristic (``fourdpqa.predictors.flow``) per "<type>/<format>" on the types
    it answers from pixels (elsewhere it is the blind prior, already reported). One flow cache serves the run:
    each frame is decoded and each frame pair's flow computed once, however many questions share the clip."""
    from fourdpqa.answers import score_answer
    from fourdpqa.predictors.base import Sample
    from fourdpqa.predictors.blind import BlindPredictor
    from fourdpqa.predictors.flow import FlowPredictor
    from fourdpqa.qa_format import format_prompt

    flow = FlowPredictor(BlindPredictor().fit(train.iter_rows(named=True)))
    rows = benchmark.filter(pl.col("question_name").is_in(FLOW_TYPES) & pl.col("answer_format").is_in(list(CHANCE)))
    hits: dict[str, list[float]] = {}
    for r in rows.sort("clip_id", "id").iter_rows(named=True):  # a clip's questions together: its flows stay cached
        frames = [str(Path(dataset_dir) / f) for f in r["frames"]]
        answer = flow.predict([Sample(frames, format_prompt(r), r)])[0]
        hits.setdefault(f"{r['question_name']}/{r['answer_format']}", []).append(score_answer(r, answer).score)
    return {k: round(sum(v) / len(v), 4) for k, v in sorted(hits.items())}


def per_type_figures(probe: ProbeResult, blind_per_type: Mapping[str, Mapping[str, Any]],
                     flow: Mapping[str, float]) -> dict[str, dict[str, Any]]:
    """Per benchmark (type, format): n, chance, probe accuracy and p-value against chance, the best text-only
    accuracy, the probe's gain over it and (camera-motion types) the flow heuristic's accuracy."""
    out = {}
    for key, acc in sorted(probe.accuracy.items()):
        chance = CHANCE[key.rsplit("/", 1)[1]]
        text = max((blind_per_type.get(key, {}).get(p, chance) for p in PREDICTORS), default=chance)
        n = probe.n[key]
        out[key] = {"n": n, "chance": chance, "probe": acc,
                    "probe_p": float(f"{p_above_chance(round(acc * n), n, chance):.3g}"),
                    "best_text": text, "gain_over_text": round(acc - text, 4), **({"flow": flow[key]} if key in flow else {})}
    return out


def per_category(per_type: Mapping[str, Mapping[str, Any]], categories: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Per category (``categories``: question name -> category), pooled over its (type, format) groups: probe,
    best-text and chance accuracy weighted by n, and the one-sided binomial p-value of the probe's hits against
    the best text baseline's rate. A group of 30 questions cannot tell 0.6 from 0.5; a category of 150 can."""
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


def judge(probe: ProbeResult, blind_per_type: Mapping[str, Mapping[str, Any]], flow: Mapping[str, float],
          categories: Mapping[str, str], cfg: ProbeParams) -> CheckResult:
    """The check (module doc): per type and per category figures; passed when some category's probe beats its
    best text-only rate at family-wise ``cfg.alpha`` (Holm over the categories). Never blocking."""
    per_type = per_type_figures(probe, blind_per_type, flow)
    pooled = per_category(per_type, categories)
    learnable = sorted(holm_significant({c: v["p_vs_text"] for c, v in pooled.items()}, cfg.alpha))
    for cat, info in pooled.items():
        info["learnable"] = cat in learnable
    no_gain = [k for k, v in per_type.items() if v["gain_over_text"] <= 0]
    flagged = [] if learnable else sorted(pooled)
    observed = (f"learnable from the pixels: {', '.join(learnable) or 'no category'} "
                f"({len(per_type) - len(no_gain)}/{len(per_type)} types above their best text-only predictor)")
    return CheckResult(CHECK.name, bool(learnable), False, observed, f"{CHECK.rule} at family-wise {cfg.alpha}",
                       {"per_type": per_type, "per_category": pooled, "learnable_categories": learnable,
                        "flagged": flagged, "no_gain_types": no_gain, "train_rows": probe.train_rows,
                        "final_loss": round(probe.final_loss, 4), "config": cfg.model_dump()})


def not_run(why: str) -> CheckResult:
    """The warning of a probe that could not run (e.g. no training rows of the benchmark's types)."""
    return CheckResult(CHECK.name, False, False, f"probe not run: {why}", CHECK.rule,
                       {"per_type": {}, "per_category": {}, "flagged": [], "error": why})


def format_learnability(result: CheckResult) -> list[str]:
    """Lines a person reads after ``python -m fourdpqa learnability``."""
    status = "ok" if result.passed else "warning"
    lines = [f"{status:8s} {result.name}: {result.observed}"]
    for key, p in result.details.get("per_type", {}).items():
        flow = f"  flow {p['flow']:.2f}" if "flow" in p else ""
        lines.append(f"  {key:42s} n={p['n']:<4d} chance {p['chance']:.2f}  best text {p['best_text']:.2f}  "
                     f"probe {p['probe']:.2f} (p={p['probe_p']:.2g}){flow}")
    for cat, c in result.details.get("per_category", {}).items():
        lines.append(f"  pixel probe, {cat:28s} n={c['n']:<4d} chance {c['chance']:.2f}  best text {c['best_text']:.2f}  "
                     f"probe {c['probe']:.2f} (p vs text {c['p_vs_text']:.2g}){'  learnable' if c['learnable'] else ''}")
    return lines
