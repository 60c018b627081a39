"""What ``dvc metrics`` and ``dvc plots`` read, written by the stage drivers: a few numbers per stage in
``<data_root>/metrics/<stage>.json``, the data behind the plots in ``<data_root>/plots/*.csv`` and the plots
themselves as PNG images beside them (``dvc plots show`` embeds images, so the page renders offline, where its
Vega plots would wait for a CDN).

Both folders are small, deterministic (no run ids, no timings, no paths) and tracked by git rather than the DVC
cache (``cache: false``), so ``dvc metrics diff`` / ``dvc plots diff`` compare them across commits. The full
reports (``validation/report.json``, ``eval/report.json``) stay ordinary stage outputs.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fourdpqa.atomic import atomic_path, write_json, write_text
from fourdpqa.layout import Layout
from fourdpqa.report import Cell
from fourdpqa.validate import ValidationReport


def _csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def validation_metrics(report: ValidationReport) -> dict[str, Any]:
    """Split sizes (rows, videos) and one pass / fail per check."""
    sizes = {f"{split}_{k}": info[k] for split, info in report.overview.items() for k in ("rows", "videos")}
    return {**sizes, "passed": not report.blocking_failures, "checks": {c.name: c.passed for c in report.checks}}


def answer_rows(report: ValidationReport, split: str) -> list[tuple[str, str, str, int, float]]:
    """(bar label, question type/format, answer, count, share within its type) per MC / yes-no answer of ``split``."""
    rows = []
    for key, hist in report.overview.get(split, {}).get("answer_histogram", {}).items():
        total = sum(hist.values())
        rows += [(f"{key} {answer}", key, answer, n, round(n / total, 4)) for answer, n in sorted(hist.items())]
    return rows


def _png(path: Path, draw: Any, title: str, height: float = 3.0) -> None:
    """A small PNG drawn by ``draw(axes)``, byte-identical for the same data (no software / date metadata)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, height), dpi=80)
    draw(ax)
    ax.set_title(title)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": None})
    plt.close(fig)


def write_validation_records(data_root: str | Path, report: ValidationReport) -> None:
    """``metrics/validate.json`` and ``plots/answers_<split>.csv`` (+ ``.png``)."""
    where = Layout(Path(data_root))
    write_json(where.metrics("validate"), validation_metrics(report))
    for split in report.overview:
        rows = answer_rows(report, split)
        write_text(where.plot(f"answers_{split}"), _csv(("bar", "question", "answer", "count", "share"), rows))
        _png(where.plot(f"answers_{split}").with_suffix(".png"),
             lambda ax, rows=rows: ax.barh([r[0] for r in rows][::-1], [r[4] for r in rows][::-1]),
             f"{split}: answer share per question type", height=max(3.0, 0.18 * len(rows)))


def write_training_records(data_root: str | Path, summary: Mapping[str, Any]) -> None:
    """``metrics/train.json`` (first / final loss, steps, examples) and ``plots/train_loss.csv`` (step, loss)
    (+ ``.png``)."""
    where = Layout(Path(data_root))
    write_json(where.metrics("train"), {k: summary[k] for k in ("first_loss", "final_loss", "steps", "n_examples")})
    losses = summary["losses"]
    write_text(where.plot("train_loss"), _csv(("step", "loss"), [(s, f"{v:.6g}") for s, v in enumerate(losses, 1)]))
    _png(where.plot("train_loss").with_suffix(".png"),
         lambda ax: ax.plot(range(1, len(losses) + 1), losses), "training loss (answer tokens) per step")


def evaluation_metrics(summaries: Mapping[str, Mapping[str, Cell]]) -> dict[str, Any]:
    """Per predictor: overall accuracy and the accuracy of each category (not each of the 11 question types)."""
    out = {}
    for name, cells in summaries.items():
        keep = {k.removeprefix("avg:"): c.mean for k, c in sorted(cells.items())
                if (k == "overall" or k.startswith("avg:")) and c.mean is not None}
        out[name] = {k: round(v, 4) for k, v in keep.items()}
    return {"benchmark_questions": next((c["overall"].n for c in summaries.values()), 0), "accuracy": out}


def write_evaluation_records(data_root: str | Path, summaries: Mapping[str, Mapping[str, Cell]]) -> None:
    """``metrics/evaluate.json``."""
    write_json(Layout(Path(data_root)).metrics("evaluate"), evaluation_metrics(summaries))
