"""Benchmark JSONL: one MC / yes-no question per line with its clip, the fields evaluation harnesses read and the
exact prompt a model sees (``prompt`` = :func:`fourdpqa.qa_format.format_prompt`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from fourdpqa.atomic import write_jsonl
from fourdpqa.qa_format import format_prompt

# clip_key and fps: what lmms-eval needs to mux the clip's mp4 from its frames when none was stored
FIELDS = ("id", "video", "frames", "clip_key", "fps", "video_id", "question_type", "question_name", "category",
          "reference_mode", "answer_format", "question", "options", "answer", "answer_text")


def benchmark_doc(record: dict) -> dict[str, Any]:
    doc = {k: record[k] for k in FIELDS}
    doc["frames"] = list(doc["frames"])
    doc["options"] = list(doc["options"])
    doc["prompt"] = format_prompt(record)
    return doc


def write_benchmark_jsonl(benchmark: pl.DataFrame, path: str | Path) -> Path:
    write_jsonl(path, [benchmark_doc(r) for r in benchmark.sort("id").iter_rows(named=True)])
    return Path(path)
