"""Every stage's command-line options, declared without importing any stage (``--help`` answers in a blink).

A stage module reads its options from the parsed ``args`` (``fourdpqa.stages.common`` for the shared ones); this
module only declares them. Importing it imports the standard library and nothing else of the pipeline.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

PROMPT_STYLES = ("cot", "direct-output")  # fourdpqa.external.vlm4d.PROMPTS (a test keeps them equal)


def _common(p: argparse.ArgumentParser, pipeline: bool) -> None:
    p.add_argument("--params", default="params.yaml", help="parameters file (default: params.yaml)")
    if pipeline:
        p.add_argument("--force", action="store_true", help="redo every item even when its outputs are up to date")


def _videos(p: argparse.ArgumentParser) -> None:
    p.add_argument("--video", action="append", help="only this video id (repeatable; no pruning then)")
    p.add_argument("--workers", type=int, default=1, help="process this many videos in parallel (a process pool; "
                                                          "default 1)")


def _tracking_uri(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tracking-uri", default=None, help="MLflow tracking URI (default: the store in <data_root>/mlflow)")


def _tracks(p: argparse.ArgumentParser) -> None:
    _videos(p)
    p.add_argument("--animate", metavar="OUT", help="also write an animation of --video's tracks (.mp4 or .gif)")


def _review(p: argparse.ArgumentParser) -> None:
    p.add_argument("--per-type", type=int, default=None,
                   help="QA pairs per (split, question type, format) (default: params review.per_type)")
    p.add_argument("--serve", action="store_true", help="serve the page on localhost and record answers")
    p.add_argument("--port", type=int, default=8765, help="port of --serve (default 8765)")
    p.add_argument("--agreement", action="store_true", help="print human-label agreement of the recorded answers")


def _train(p: argparse.ArgumentParser) -> None:
    p.add_argument("--export", default=None, help="conversation JSONL (default: <data_root>/dataset/exports/"
                                                  "train_conversations.jsonl, else dataset/train.parquet)")
    p.add_argument("--name", default="trained", help="model name: output in <data_root>/models/<name>/")
    _tracking_uri(p)


def _evaluate(p: argparse.ArgumentParser) -> None:
    p.add_argument("--predictors", help="comma-separated predictor names (default: params evaluate.predictors)")
    p.add_argument("--limit", type=int, default=None, help="evaluate only the first N benchmark questions")
    p.add_argument("--compare", nargs="+", metavar="LABEL=PREDICTIONS.jsonl",
                   help="instead of evaluating, put earlier prediction files side by side in eval/compare.*")
    _tracking_uri(p)


def _vlm4d(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default=None, help="folder with real_mc.json / synthetic_mc.json and the videos "
                                                "(default: params evaluate.vlm4d_dir)")
    p.add_argument("--predictor", default="trained", help="predictor name (see fourdpqa.predictors)")
    p.add_argument("--prompt", default="cot", choices=PROMPT_STYLES)
    p.add_argument("--frames", type=int, default=None, help="frames per video (default: params evaluate.frames)")
    p.add_argument("--limit", type=int, default=None, help="only the first N questions")


OPTIONS: dict[str, Callable[[argparse.ArgumentParser], None]] = {
    "generate": _videos, "standardize": _videos, "tracks": _tracks, "qa": _videos, "review": _review,
    "train": _train, "evaluate": _evaluate, "vlm4d": _vlm4d,
}


def add_arguments(stage: str, parser: argparse.ArgumentParser, pipeline: bool = True) -> None:
    """The options of ``stage`` (``pipeline``: it is part of dvc.yaml, so it takes ``--force``)."""
    _common(parser, pipeline)
    if stage in OPTIONS:
        OPTIONS[stage](parser)
