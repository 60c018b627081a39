"""review: HTML page of sampled QA pairs (clip frames with marks, question, options, answer, measurement,
threshold, source) -> data/review/index.html, openable from disk; ``--serve`` records a reviewer's answers
(data/human_review/answers.jsonl) and ``--agreement`` prints human-label agreement per type."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from fourdpqa.assemble import DATASET_DIR
from fourdpqa.params import Params
from fourdpqa.review import ANSWERS, write_review
from fourdpqa.review.server import recorded_agreement, serve


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--per-type", type=int, default=3, help="QA pairs per (split, question type, format)")
    parser.add_argument("--serve", action="store_true", help="serve the page on localhost and record answers")
    parser.add_argument("--port", type=int, default=8765, help="port of --serve (default 8765)")
    parser.add_argument("--agreement", action="store_true", help="print human-label agreement of the recorded answers")


def run(params: Params, args: argparse.Namespace | None = None) -> Path:
    if getattr(args, "agreement", False):
        print(json.dumps(recorded_agreement(params.data), indent=1))
        return params.data / ANSWERS
    page = write_review(params.data / DATASET_DIR, params.data / "review", getattr(args, "per_type", 3), params.base.seed)
    print(f"review: {page}")
    if getattr(args, "serve", False):
        serve(params.data, args.port)
    return page
