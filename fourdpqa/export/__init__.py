"""Exports of the assembled dataset: training conversations, benchmark JSONL, an lmms-eval task folder and
Hugging Face ``datasets`` copies. :func:`export_all` writes them all under ``<dataset>/exports`` and ``<dataset>/hf``."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from fourdpqa.export.benchmark import write_benchmark_jsonl
from fourdpqa.export.conversation import write_conversations
from fourdpqa.export.hf import save_hf
from fourdpqa.export.lmms_eval import write_lmms_eval_task
from fourdpqa.layout import EXPORTS



def export_all(dataset_dir: str | Path, train: pl.DataFrame, benchmark: pl.DataFrame,
               published_dir: str | Path | None = None) -> dict[str, Path]:
    """Write every export of one train/benchmark pair; returns name -> path. ``published_dir``: where the dataset
    folder lives once published, if it is written elsewhere first (the lmms-eval task holds absolute paths)."""
    dataset_dir = Path(dataset_dir)
    final = Path(published_dir) if published_dir is not None else dataset_dir
    out = dataset_dir / EXPORTS
    bench_jsonl = write_benchmark_jsonl(benchmark, out / "benchmark.jsonl")
    return {
        "train_conversations": write_conversations(train, out / "train_conversations.jsonl"),
        "benchmark_jsonl": bench_jsonl,
        "lmms_eval": write_lmms_eval_task(out / "lmms_eval", final / EXPORTS / bench_jsonl.name, final),
        **save_hf(dataset_dir / "hf", {"train": train, "benchmark": benchmark}),
    }
