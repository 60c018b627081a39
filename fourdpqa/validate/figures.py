"""The headline figures of a validation run (``report.json["figures"]`` and what ``python -m fourdpqa validate``
prints): oracle-2 agreement (both splits), ambiguous-mark share, facts per type, worst label share per (type,
format), the blind audit's accuracy per (type, format) and per category with p-values and the minimum detectable
accuracy of each test."""

from __future__ import annotations

from typing import Any

import polars as pl

from fourdpqa.validate.result import CheckResult
from fourdpqa.validate.text_bias import PREDICTORS


def facts_per_type(df: pl.DataFrame) -> dict[str, dict[str, int]]:
    """Per question name: rows and distinct facts, a fact being one (video, type, label, objects) — questions
    about the same fact in overlapping clips or other wordings are not independent evidence."""
    keyed = df.with_columns(objs=pl.col("object_ids").list.sort().cast(pl.List(pl.Utf8)).list.join(","))
    grouped = keyed.group_by("question_name").agg(rows=pl.len(), facts=pl.struct("video_id", "label", "objs").n_unique())
    return {r["question_name"]: {"rows": r["rows"], "facts": r["facts"]} for r in grouped.sort("question_name").iter_rows(named=True)}


def worst_label_share(balance: CheckResult) -> dict[str, float]:
    """Per "<type>/<format>": the most common answer class's share as a multiple of its uniform share."""
    return {k: round(g["max_class_share"] * g["classes"], 3) for k, g in balance.details["groups"].items()}


ORACLE_COUNTS = ("n_derived", "n_agree", "n_disagree", "n_underivable", "n_errors")


def oracle_figure(results: list[CheckResult]) -> dict[str, Any]:
    """Oracle-2's counts summed over the splits it checked, and its agreement on the derived records."""
    out = {k: sum(int(r.details.get(k, 0)) for r in results) for k in ORACLE_COUNTS}
    return {"agreement": round(out["n_agree"] / out["n_derived"], 4) if out["n_derived"] else None, **out}


def build_figures(checks: dict[str, CheckResult], benchmark: pl.DataFrame) -> dict[str, Any]:
    """Figures from the checks that ran (absent or skipped checks leave their figure out)."""
    ran = {name: c for name, c in checks.items() if "skipped" not in c.details}
    out: dict[str, Any] = {"facts_per_type": facts_per_type(benchmark)}
    oracle = [ran[n] for n in ("check_oracle", "check_oracle_train") if n in ran]
    if oracle:
        out["oracle2"] = oracle_figure(oracle)
    if "check_marks" in ran:
        out["ambiguous_mark_share"] = ran["check_marks"].details["ambiguous_share"]
    if "check_label_balance" in ran:
        out["worst_label_share"] = worst_label_share(ran["check_label_balance"])
    if "check_blind_bias" in ran:
        details = ran["check_blind_bias"].details
        out["blind"] = details["per_type"]
        out["blind_per_category"] = details["per_category"]
        out["blind_family"] = details["family"]
        if "null" in details:
            out["blind_null"] = details["null"]
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
    if "blind_family" in fig:
        f = fig["blind_family"]
        lines.append(f"blind audit tests: {f['tests']} (Holm, family-wise {f['alpha']}; a single test needs p < {f['level']:.2g})"
                     "; min det. = the accuracy a predictor needs to be flagged")
    for key, b in [*fig.get("blind", {}).items(), *((f"{k} (pooled)", v) for k, v in fig.get("blind_per_category", {}).items())]:
        scores = "  ".join(f"{name} {b[name]:.2f} (p={b[name + '_p']:.2g})" for name in PREDICTORS if name in b)
        mda = b.get("min_detectable")
        lines.append(f"  {key:42s} n={b['n']:<4d} chance {b['chance']:.2f}  {scores}  "
                     f"min det. {'-' if mda is None else f'{mda:.2f}'}")
    return lines
