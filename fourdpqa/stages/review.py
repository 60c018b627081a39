"""review: a static HTML page of sampled QA pairs -> data/review/index.html, openable from disk.

Each card shows the clip frames with their marks, question, options, answer, measurement, threshold and source."""

from __future__ import annotations

import argparse
from pathlib import Path

from fourdpqa.assemble import DATASET_DIR
from fourdpqa.params import Params
from fourdpqa.review import write_review


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--per-type", type=int, default=3, help="QA pairs per (split, question type, format)")


def run(params: Params, args: argparse.Namespace | None = None) -> Path:
    page = write_review(params.data / DATASET_DIR, params.data / "review", getattr(args, "per_type", 3), params.base.seed)
    print(f"review: {page}")
    return page
