"""Counts per split (type, category, reference mode, format), answer histograms and their plots."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from fourdpqa.atomic import atomic_path

CHOICE_FORMATS = ("mc", "yn")


def summarize(tables: Mapping[str, pl.DataFrame]) -> dict[str, Any]:
    """Counts per split by type, category, reference mode and answer format, and the answer histograms."""
    out: dict[str, Any] = {}
    for split, df in tables.items():
        counts = {}
        for col in ("question_name", "category", "reference_mode", "answer_format"):
            vc = df[col].value_counts().sort(col)
            counts[col] = dict(zip(vc[col].to_list(), vc["count"].to_list()))
        hist = {}
        for (qname, fmt), grp in df.filter(pl.col("answer_format").is_in(CHOICE_FORMATS)).group_by(
                ["question_name", "answer_format"], maintain_order=True):
            vc = grp["answer"].value_counts().sort("answer")
            hist[f"{qname}/{fmt}"] = dict(zip(vc["answer"].to_list(), vc["count"].to_list()))
        out[split] = {"rows": df.height, "videos": df["video_id"].n_unique(), "counts": counts,
                      "answer_histogram": dict(sorted(hist.items()))}
    return out


def plot_answer_histograms(summary: dict[str, Any], split: str) -> bytes:
    """PNG of answer shares per question type/format (stacked bars): a skew is visible at a glance."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hist = summary[split]["answer_histogram"]
    keys = list(hist)
    answers = sorted({a for h in hist.values() for a in h})
    fig, ax = plt.subplots(figsize=(max(4.0, 0.5 * len(keys) + 2), 3.5), dpi=80)
    bottom = np.zeros(len(keys))
    for a in answers:
        share = np.array([hist[k].get(a, 0) / max(sum(hist[k].values()), 1) for k in keys])
        ax.bar(range(len(keys)), share, bottom=bottom, label=a)
        bottom += share
    ax.set_xticks(range(len(keys)), keys, rotation=70, ha="right", fontsize=7)
    ax.set_ylabel("answer share")
    ax.set_title(f"{split}: answers per question type")
    if answers:
        ax.legend(fontsize=7, ncol=min(len(answers), 6), loc="upper right")
    else:
        ax.text(0.5, 0.5, "no MC / yes-no questions", ha="center", va="center", transform=ax.transAxes)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def write_plots(overview: dict[str, Any], out_dir: str | Path) -> dict[str, Path]:
    """``answers_<split>.png`` for every split of a :func:`summarize` result; returns split -> path."""
    paths = {}
    for split in overview:
        paths[split] = Path(out_dir) / f"answers_{split}.png"
        with atomic_path(paths[split]) as tmp:
            tmp.write_bytes(plot_answer_histograms(overview, split))
    return paths
