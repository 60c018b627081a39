"""The headline figures of a validation run (``report.json["figures"]`` and what ``python -m fourdpqa validate``
prints): oracle-2 agreement, ambiguous-mark share, facts per type, worst label share per (type, format), blind
and query-rule accuracy per type with p-values, pixel-probe accuracy per type and per category."""

from __future__ import annotations

from typing import Any

import polars as pl

from fourdpqa.validate.result import CheckResult


def facts_per_type(df: pl.DataFrame) -> dict[str, dict[str, int]]:
    """Per question name: rows and distinct facts, a fact being one (video, type, label, objects) — questions
    about the same fact in overlapping clips or other wordings are not independent evidence."""
    keyed = df.with_columns(objs=pl.col("object_ids").list.sort().cast(pl.List(pl.Utf8)).list.join(","))
    grouped = keyed.group_by("question_name").agg(rows=pl.len(), facts=pl.struct("video_id", "label", "objs").n_unique())
    return {r["question_name"]: {"rows": r["rows"], "facts": r["facts"]} for r in grouped.sort("question_name").iter_rows(named=True)}


def worst_label_share(balance: CheckResult) -> dict[str, float]:
    """Per "<type>/<format>": the most common answer class's share as a multiple of its uniform share."""
    return {k: round(g["max_class_share"] * g["classes"], 3) for k, g in balance.details["groups"].items()}


def build_figures(checks: dict[str, CheckResult], benchmark: pl.DataFrame) -> dict[str, Any]:
    """Figures from the checks that ran (absent checks leave their figure out)."""
    out: dict[str, Any] = {"facts_per_type": facts_per_type(benchmark)}
    if "check_oracle" in checks:
        d = checks["check_oracle"].details
        out["oracle2"] = {k: d[k] for k in ("agreement", "n_derived", "n_agree", "n_disagree", "n_underivable", "n_errors")}
    if "check_marks" in checks:
        out["ambiguous_mark_share"] = checks["check_marks"].details["ambiguous_share"]
    if "check_label_balance" in checks:
        out["worst_label_share"] = worst_label_share(checks["check_label_balance"])
    if "check_blind_bias" in checks:
        out["blind"] = checks["check_blind_bias"].details["per_type"]
        if "null" in checks["check_blind_bias"].details:
            out["blind_null"] = checks["check_blind_bias"].details["null"]
    if "check_pixel_learnability" in checks:
        details = checks["check_pixel_learnability"].details
        out["pixel_probe"] = details["per_type"]
        if details.get("per_category"):
            out["pixel_probe_per_category"] = details["per_category"]
    return out


def format_figures(fig: dict[str, Any]) -> list[str]:
    """Lines a person reads after ``python -m fourdpqa validate``."""
    lines = []
    if "oracle2" in fig:
        o = fig["oracle2"]
        agreement = "n/a" if o["agreement"] is None else f"{100 * o['agreement']:.2f}%"
        lines.append(f"oracle-2 agreement {agreement} of {o['n_derived']} derived ({o['n_underivable']} underivable, "
                     f"{o['n_errors']} errors)")
    if "ambiguous_mark_share" in fig:
        lines.append(f"ambiguous-mark share (benchmark) {100 * fig['ambiguous_mark_share']:.1f}%")
    lines.append("facts per type: " + ", ".join(f"{k} {v['facts']}/{v['rows']}" for k, v in fig["facts_per_type"].items()))
    if "worst_label_share" in fig:
        lines.append("worst label share (x uniform): " + ", ".join(f"{k} {v:.2f}" for k, v in fig["worst_label_share"].items()))
    if "blind_null" in fig:
        n = fig["blind_null"]
        lo, hi = n["shuffled_over_margin_range"]
        lines.append(f"blind audit: {n['observed_over_margin']} of {n['groups']} groups have a text-only predictor over "
                     f"chance + {n['margin']:.2f}; with the answers shuffled (no text can carry them) "
                     f"{n['shuffled_over_margin_mean']:.1f} ({lo}-{hi}) over {n['draws']} shuffles")
    for key, b in fig.get("blind", {}).items():
        scores = "  ".join(f"{name} {b[name]:.2f} (p={b[name + '_p']:.2g})" for name in ("majority", "bow_logreg", "tfidf", "query_rule")
                           if name in b)
        probe = fig.get("pixel_probe", {}).get(key)
        pixels = f"  | probe {probe['probe']:.2f} (p={probe['probe_p']:.2g})" + (f" flow {probe['flow']:.2f}" if "flow" in probe else "") if probe else ""
        lines.append(f"  {key:42s} n={b['n']:<4d} chance {b['chance']:.2f}  {scores}{pixels}")
    for cat, c in fig.get("pixel_probe_per_category", {}).items():
        lines.append(f"  pixel probe, {cat:28s} n={c['n']:<4d} chance {c['chance']:.2f}  best text {c['best_text']:.2f}  "
                     f"probe {c['probe']:.2f} (p vs text {c['p_vs_text']:.2g})")
    return lines
