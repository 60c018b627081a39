"""Label balance: per question type and format, no answer class dominates, yes/no is near 50%, MC letters are
uniform. :func:`balance_problems` is shared with assembly, which selects the largest subset it accepts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
from scipy import stats

from fourdpqa.params import ValidateParams
from fourdpqa.validate.result import CheckResult
from schemas.qa import LETTERS


def balance_key() -> pl.Expr:
    """The answer class whose share must stay bounded: the discrete label, else the answer text."""
    return pl.when(pl.col("label") != "").then(pl.col("label")).otherwise(pl.col("answer_text"))


def balance_problems(fmt: str, class_counts: Sequence[int], answer_counts: Mapping[str, int],
                     params: ValidateParams) -> list[str]:
    """Why one (question type, format) group is unbalanced; empty when it is fine. ``class_counts``: rows per
    answer class (:func:`balance_key`); ``answer_counts``: rows per answer value (letter or yes/no). Shared by the
    check and by assembly, which selects the largest subset for which this returns nothing."""
    n = sum(class_counts)
    if n == 0:
        return []
    problems = []
    k = len(class_counts)
    share = max(class_counts) / n
    if k > 1 and share > params.max_option_ratio / k + 1e-12:
        problems.append(f"answer class share {share:.3f} > {params.max_option_ratio}/{k}")
    if fmt == "yn":
        yes = answer_counts.get("yes", 0) / n
        if not params.yes_share_low <= yes <= params.yes_share_high:
            problems.append(f"yes share {yes:.3f} outside [{params.yes_share_low}, {params.yes_share_high}]")
    if fmt == "mc":
        counts = [answer_counts.get(letter, 0) for letter in LETTERS]
        p = float(stats.chisquare(counts).pvalue)
        if p <= params.letter_chi2_p:
            problems.append(f"letters {counts} not uniform (chi-square p={p:.2g})")
        if max(counts) / n > params.max_option_ratio / len(LETTERS) + 1e-12:
            problems.append(f"letter share {max(counts) / n:.3f} > {params.max_option_ratio}/{len(LETTERS)}")
    return problems


def check_group_sizes(df: pl.DataFrame, min_size: int) -> CheckResult:
    """Every MC / yes-no (type, format) group of the benchmark holds at least ``min_size`` questions (a warning:
    the pool may not have more; the audit's minimum detectable accuracy says what a smaller group can show)."""
    sizes = dict(df.filter(pl.col("answer_format").is_in(["mc", "yn"]))
                 .group_by(pl.format("{}/{}", "question_name", "answer_format").alias("g")).len().sort("g").iter_rows())
    small = {g: n for g, n in sizes.items() if n < min_size}
    return CheckResult("check_group_sizes", not small, False,
                       f"{len(small)} of {len(sizes)} groups below {min_size}" + (f": {small}" if small else ""),
                       f">= {min_size} questions per (type, format) group", {"offenders": small, "sizes": sizes})


def check_label_balance(df: pl.DataFrame, params: ValidateParams, split: str, blocking: bool | None = None) -> CheckResult:
    """Per question type and format: no answer class above ``max_option_ratio`` x its uniform share; yes share
    within [yes_share_low, yes_share_high]; MC correct letters uniform (chi-square p > letter_chi2_p).
    Blocking for the benchmark (a skewed benchmark rewards guessing), a warning for training."""
    blocking = split == "benchmark" if blocking is None else blocking
    offenders: dict[str, str] = {}
    per_group: dict[str, dict[str, Any]] = {}
    rows = df.filter(pl.col("answer_format").is_in(["mc", "yn", "free"]))
    for (qname, fmt), grp in rows.group_by(["question_name", "answer_format"], maintain_order=True):
        key = f"{qname}/{fmt}"
        classes = grp.select(balance_key().alias("k"))["k"].value_counts()["count"].to_list()
        answers = dict(grp["answer"].value_counts().iter_rows())
        per_group[key] = {"n": grp.height, "classes": len(classes), "max_class_share": round(max(classes) / grp.height, 4),
                          "answers": dict(sorted(answers.items()))}
        problems = balance_problems(fmt, classes, answers, params)
        if problems:
            offenders[key] = "; ".join(problems)
    return CheckResult("check_label_balance", not offenders, blocking,
                       f"{len(offenders)} unbalanced groups of {len(per_group)}" + (f": {sorted(offenders)}" if offenders else ""),
                       f"class share <= {params.max_option_ratio}x uniform, yes in "
                       f"[{params.yes_share_low}, {params.yes_share_high}], letter chi2 p > {params.letter_chi2_p}",
                       {"split": split, "offenders": offenders, "groups": dict(sorted(per_group.items()))})
