"""train: fine-tune the VLM on the training set -> data/models/<name>/ (+ metrics json, loss plot, MLflow run).

Training on the assembled dataset requires its validation report to have passed *for that dataset* (a report left
from an earlier dataset, e.g. after a validate run was killed, is refused). Non-zero ranks of a multi-GPU launch
(``torchrun``) only compute; rank 0 holds the stage lock, writes and records.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from fourdpqa import layout
from fourdpqa.params import Params
from fourdpqa.stages import common, stage_list
from fourdpqa.stages.protocol import Job, Stage, StageFailed, StageReport, prepare, run_stage

log = logging.getLogger("fourdpqa")


def check_validated(where: layout.Layout) -> None:
    """Refuse a dataset whose validation did not pass, or whose report checked an earlier dataset. A dataset
    without a manifest (not written by the assemble stage) is trained on with a warning."""
    from fourdpqa.stages.validate import blocking_failures, read_verdict

    if not where.manifest(where.dataset, "assemble").exists():
        log.warning("train: %s was not written by the assemble stage; training without a validation gate", where.dataset)
        return
    failures = blocking_failures(read_verdict(where))
    if failures:
        raise StageFailed("train: the dataset failed blocking validation checks: " + "; ".join(failures))


def train_stage(name: str = "trained", export: str | None = None, tracking_uri: str | None = None) -> Stage:
    """The train stage for one model name and training file (the CLI options)."""

    def work(job: Job) -> None:
        from fourdpqa.stages.records import write_training_records
        from fourdpqa.stages.mlflow_runs import train_with_tracking

        if export is None:
            check_validated(job.where)
        summary = train_with_tracking(job.params, export, name, tracking_uri)
        write_training_records(job.where.root, summary)  # dvc metrics / plots
        log.info("train: %d steps, loss %.4f -> %.4f, model %s, MLflow run %s", summary["steps"],
                 summary["first_loss"], summary["final_loss"], summary["model_dir"], summary["mlflow_run_id"])

    def inputs(params: Params, item: str) -> list[Path]:
        where = layout.of(params)
        return [Path(export)] if export else [where.dataset, where.validation]

    return Stage(
        info=stage_list.get("train"),
        out_dir=lambda where: where.models,
        items=lambda params: [name],
        work=work,
        outputs=lambda params, item: [layout.of(params).model(item), layout.of(params).model_metrics(item),
                                      layout.of(params).model_loss_plot(item)],
        inputs=inputs,
        uses_device=True,
    )


STAGE = train_stage()


def run(params: Params, args: argparse.Namespace | None) -> StageReport:
    name = getattr(args, "name", None) or "trained"
    export, uri = getattr(args, "export", None), getattr(args, "tracking_uri", None)
    if int(os.environ.get("RANK", "0")) > 0:  # a non-zero rank of a multi-GPU launch: compute only, rank 0 reports
        from fourdpqa.stages.mlflow_runs import train_with_tracking

        prepare(train_stage(name, export, uri), params)
        train_with_tracking(params, export, name, uri)
        return StageReport("train")
    return run_stage(train_stage(name, export, uri), params, force=common.force_arg(args))
