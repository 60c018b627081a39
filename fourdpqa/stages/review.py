"""review: static HTML page of sampled QA pairs (clip frames with marks, question, options, answer, measurement,
threshold, source) -> data/review/index.html, openable from disk."""

from __future__ import annotations

import argparse
from pathlib import Path

from fourdpqa import layout
from fourdpqa.params import Params
from fourdpqa.review import write_review


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--per-type", type=int, default=None,
                        help="QA pairs per (split, question type, format) (default: params review.per_type)")


def run(params: Params, args: argparse.Namespace | None = None) -> Path:
    where = layout.of(params)
    page = write_review(where.dataset, where.review, getattr(args, "per_type", None) or params.review.per_type, params.base.seed)
    print(f"review: {page}")
    return page
