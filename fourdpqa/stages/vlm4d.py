"""VLM4D: run a predictor on a local copy of the VLM4D benchmark and report its official sub-split accuracies.

``python -m fourdpqa vlm4d --data DIR --predictor NAME [--prompt cot|direct-output] [--frames N] [--limit N]``
writes ``<data_root>/eval/vlm4d/<predictor>_<prompt>.jsonl`` (processed outputs in VLM4D's field names),
``..._stats.json`` and ``..._stats.md``, and logs one MLflow run (experiment ``fourdpqa-vlm4d``) opened before the
predictor is built, so its duration is the evaluation's.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import polars as pl

from fourdpqa import layout
from fourdpqa.atomic import write_json, write_jsonl, write_text
from fourdpqa.external import vlm4d
from fourdpqa.params import Params
from fourdpqa.predictors import build_predictor
from fourdpqa.layout import item_name
from fourdpqa.stages.protocol import StageFailed, StageReport

log = logging.getLogger("fourdpqa.vlm4d")
MLFLOW_EXPERIMENT = "fourdpqa-vlm4d"


def _score(params: Params, args: argparse.Namespace, items: list[vlm4d.VLM4DItem], data: str,
           frames: int) -> tuple[vlm4d.VLM4DRun, dict, Path]:
    """Predict and score ``items``; writes ``<stem>.jsonl`` and ``<stem>_stats.json``; returns (result, statistics,
    stem)."""
    train_path = layout.of(params).split_table("train")
    train_rows = pl.read_parquet(train_path).to_dicts() if train_path.exists() else []
    predictor = build_predictor(args.predictor, params, train_records=train_rows)
    result = vlm4d.evaluate_vlm4d(items, predictor, data, frames, args.prompt, params.evaluate.batch_size)
    if not result.rows:
        raise StageFailed(f"VLM4D: none of the {len(items)} questions has its video under {data} "
                          f"(first missing: {result.missing_videos[0] if result.missing_videos else '-'})")
    stats = vlm4d.statistics(result.rows)
    stem = layout.of(params).vlm4d / f"{item_name(args.predictor)}_{args.prompt}"
    write_jsonl(stem.with_suffix(".jsonl"), result.rows)
    write_json(stem.with_name(stem.name + "_stats.json"),
               {"stats": stats, "missing_videos": result.missing_videos, "frames": frames, "prompt": args.prompt})
    return result, stats, stem


def run(params: Params, args: argparse.Namespace) -> StageReport:
    data = args.data or params.evaluate.vlm4d_dir
    if not data:
        raise StageFailed("no VLM4D folder: pass --data DIR or set evaluate.vlm4d_dir in params.yaml")
    try:
        items = vlm4d.load_vlm4d(data)
    except vlm4d.VLM4DError as exc:
        raise StageFailed(str(exc)) from exc
    if args.limit is not None:
        items = items[: args.limit]
    frames = args.frames or params.evaluate.frames
    from fourdpqa.stages.mlflow_runs import metric_key, open_store, recorded  # MLflow loads only when recording

    mlflow = open_store(layout.of(params).root, MLFLOW_EXPERIMENT)
    with recorded(mlflow, f"vlm4d-{args.predictor}-{args.prompt}"):  # opened before the work: its duration
        mlflow.log_params({"predictor": args.predictor, "prompt": args.prompt, "frames": frames,
                           "questions": len(items)})
        result, stats, stem = _score(params, args, items, data, frames)
        table = vlm4d.statistics_markdown({f"{args.predictor} ({args.prompt})": stats})
        write_text(stem.with_name(stem.name + "_stats.md"), table)
        mlflow.log_param("missing_videos", len(result.missing_videos))
        mlflow.log_metrics({metric_key(c): s["accuracy"] for c, s in stats.items()})
        mlflow.log_artifact(str(stem.with_suffix(".jsonl")))
    print(table)
    if result.missing_videos:
        print(f"warning: {len(result.missing_videos)} of {len(items)} questions not scored, video missing "
              f"(first: {result.missing_videos[0]})")
    report = StageReport("vlm4d", done=[f"{r['split']}/{r['id']}" for r in result.rows])
    report.quarantined.update({m.split(":", 1)[0]: "video missing" for m in result.missing_videos})
    return report
