"""The picture of the learnability check: per (type, format), chance, the best text-only predictor, the pixel probe
and (on camera-motion types) the optical-flow heuristic, so "which types can be learned from the pixels" reads at a
glance. Bars of 20-question groups differ by +-10 points by luck; the per-category pooled figures are steadier."""

from __future__ import annotations

import io
from typing import Any

import numpy as np

SERIES = (("best_text", "best text-only", "#999999"), ("probe", "pixel probe", "#1f77b4"), ("flow", "flow heuristic", "#ff7f0e"))


def plot_learnability(per_type: dict[str, dict[str, Any]]) -> bytes:
    """PNG of grouped accuracy bars per "<type>/<format>" with each group's chance as a black tick."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = list(per_type)
    x = np.arange(len(keys))
    width = 0.8 / len(SERIES)
    fig, ax = plt.subplots(figsize=(max(5.0, 0.6 * len(keys) + 2), 3.8), dpi=80)
    for i, (field, label, colour) in enumerate(SERIES):
        values = np.array([per_type[k].get(field, np.nan) for k in keys], dtype=float)
        if np.isfinite(values).any():
            ax.bar(x + (i - 1) * width, values, width, label=label, color=colour)
    ax.hlines([per_type[k]["chance"] for k in keys], x - 0.45, x + 0.45, colors="black", linewidth=1, label="chance")
    ax.set_xticks(x, [f"{k} (n={per_type[k]['n']})" for k in keys], rotation=70, ha="right", fontsize=7)
    ax.set_ylim(0, 1.15)  # room for the legend above the tallest bar
    ax.set_ylabel("benchmark accuracy")
    ax.set_title("Answerable from the pixels? probe vs text-only, per type")
    ax.legend(fontsize=7, ncol=4, loc="upper right")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()
