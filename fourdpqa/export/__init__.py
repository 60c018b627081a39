"""Exports of the assembled dataset: training conversations, benchmark JSONL, an lmms-eval task folder and a
Hugging Face ``DatasetDict`` with its card. :func:`export_all` writes them under ``<dataset>/exports`` and
``<dataset>/hf``; every path they hold is relative (and the HF copy embeds its media), so the dataset folder can be
moved or copied whole."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from fourdpqa.export.benchmark import write_benchmark_jsonl
from fourdpqa.export.conversation import write_conversations
from fourdpqa.export.hf import save_hf
from fourdpqa.export.lmms_eval import write_lmms_eval_task
from fourdpqa.layout import EXPORTS
from fourdpqa.params import Params


def export_all(dataset_dir: str | Path, train: pl.DataFrame, benchmark: pl.DataFrame,
               params: Params | None = None) -> dict[str, Path]:
    """Write every export of one train/benchmark pair (``params`` go into the dataset card); returns name -> path."""
    dataset_dir = Path(dataset_dir)
    out = dataset_dir / EXPORTS
    bench_jsonl = write_benchmark_jsonl(benchmark, out / "benchmark.jsonl")
    return {
        "train_conversations": write_conversations(train, out / "train_conversations.jsonl"),
        "benchmark_jsonl": bench_jsonl,
        "lmms_eval": write_lmms_eval_task(out / "lmms_eval", bench_jsonl),
        **save_hf(dataset_dir / "hf", {"train": train, "benchmark": benchmark}, dataset_dir, params),
    }
