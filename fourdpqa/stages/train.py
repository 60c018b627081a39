"""train: fine-tune the VLM on the training set -> data/models/<name>/ (+ metrics json, loss plot, MLflow run)."""

from __future__ import annotations

import argparse
import logging

from fourdpqa.device import set_determinism
from fourdpqa.params import Params
from fourdpqa.stages.common import StageReport
from fourdpqa.stages.records import write_training_records
from fourdpqa.stages.tracking import train_with_tracking

log = logging.getLogger("fourdpqa")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--export", default=None,
                        help="conversation JSONL (default: <data_root>/dataset/exports/train_conversations.jsonl, "
                             "else dataset/train.parquet)")
    parser.add_argument("--name", default="trained", help="model name: output in <data_root>/models/<name>/")
    parser.add_argument("--tracking-uri", default=None,
                        help="MLflow tracking URI (default: <data_root>/mlruns)")


def run(params: Params, args: argparse.Namespace | None) -> StageReport:
    set_determinism(params.base.seed, params.base.num_threads)
    name = getattr(args, "name", None) or "trained"
    summary = train_with_tracking(params, getattr(args, "export", None), name, getattr(args, "tracking_uri", None))
    report = StageReport("train")
    if "rank" in summary:  # a non-zero rank of a multi-GPU launch: rank 0 reports
        return report
    write_training_records(params.data, summary)
    log.info("train: %d steps, loss %.4f -> %.4f, model %s, MLflow run %s", summary["steps"],
             summary["first_loss"], summary["final_loss"], summary["model_dir"], summary["mlflow_run_id"])
    report.done.append(name)
    return report
