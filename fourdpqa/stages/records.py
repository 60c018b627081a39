"""What ``dvc metrics`` and ``dvc plots`` read, written by the stage drivers: a few numbers per stage in
``<data_root>/metrics/<stage>.json`` and the data behind the plots in ``<data_root>/plots/*.csv``.

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

from fourdpqa.atomic import write_json, write_text
from fourdpqa.report import Cell
from fourdpqa.validate import ValidationReport

METRICS_DIR = "metrics"
PLOTS_DIR = "plots"


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


def write_validation_records(data_root: str | Path, report: ValidationReport) -> None:
    """``metrics/validate.json`` and ``plots/answers_<split>.csv``."""
    root = Path(data_root)
    write_json(root / METRICS_DIR / "validate.json", validation_metrics(report))
    for split in report.overview:
        write_text(root / PLOTS_DIR / f"answers_{split}.csv",
                   _csv(("bar", "question", "answer", "count", "share"), answer_rows(report, split)))


def write_training_records(data_root: str | Path, summary: Mapping[str, Any]) -> None:
    """``metrics/train.json`` (first / final loss, steps, examples) and ``plots/train_loss.csv`` (step, loss)."""
    root = Path(data_root)
    write_json(root / METRICS_DIR / "train.json",
               {k: summary[k] for k in ("first_loss", "final_loss", "steps", "n_examples")})
    losses = summary["losses"]
    write_text(root / PLOTS_DIR / "train_loss.csv",
               _csv(("step", "loss"), [(s, f"{v:.6g}") for s, v in enumerate(losses, 1)]))


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
    write_json(Path(data_root) / METRICS_DIR / "evaluate.json", evaluation_metrics(summaries))
