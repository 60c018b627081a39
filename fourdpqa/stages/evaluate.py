"""evaluate: every configured predictor on the held-out benchmark -> predictions, Table-2 report, MLflow runs.

Reads ``<data_root>/dataset/benchmark.parquet`` (clip frames relative to ``dataset/``) and, for the text-prior
baselines, ``dataset/train.parquet``. Writes ``eval/predictions/<name>.jsonl`` (one scored answer per question),
``eval/report.{md,csv,png}`` (all predictors side by side) and ``eval/report.json`` (scores). The work is
:func:`fourdpqa.evaluate.evaluate`; this driver hands it the MLflow tracker (``fourdpqa.stages.mlflow_runs``:
one parent run per evaluation, a nested run per predictor, experiment ``fourdpqa-evaluate``) and runs it under the
stage protocol.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from fourdpqa import layout
from fourdpqa.params import Params
from fourdpqa.stages import common, stage_list
from fourdpqa.stages.protocol import Job, Stage, StageFailed, StageReport, run_stage

if TYPE_CHECKING:  # the library (polars, predictors) loads when evaluating, not for --help
    from fourdpqa.evaluate import EvaluationResult


def evaluate(params: Params, names: Sequence[str] | None = None, limit: int | None = None,
             tracking_uri: str | None = None) -> EvaluationResult:
    """:func:`fourdpqa.evaluate.evaluate` recorded in MLflow (``tracking_uri``, else the store ``<data_root>/mlflow``)."""
    from fourdpqa import evaluate as library
    from fourdpqa.predictors import trained_model_dir
    from fourdpqa.stages.mlflow_runs import EvaluationTracker

    tracker = EvaluationTracker(params, layout.of(params).split_table("benchmark"), trained_model_dir(params),
                                tracking_uri)
    try:
        return library.evaluate(params, names, tracker, limit)
    except library.NoPredictorEvaluated as exc:
        raise StageFailed(str(exc)) from exc


def evaluate_stage(names: Sequence[str] | None = None, limit: int | None = None, tracking_uri: str | None = None,
                   on_result: Callable[[EvaluationResult], None] | None = None) -> Stage:
    """The evaluate stage for a predictor selection (the CLI options); its item names the selection. ``on_result``
    receives what a run produced (e.g. the MLflow run ids the Dagster asset shows); not called when up to date."""
    label = "evaluate" if names is None and limit is None else f"evaluate-{','.join(names or [])}-{limit}"

    def work(job: Job) -> None:
        from fourdpqa.stages.records import write_evaluation_records

        result = evaluate(job.params, names, limit=limit, tracking_uri=tracking_uri)
        write_evaluation_records(job.where.root, result.summaries)
        print(result.markdown)
        if on_result is not None:
            on_result(result)

    def inputs(params: Params, item: str) -> list[Path]:
        where = layout.of(params)
        chosen = names or params.evaluate.predictors
        models = [where.model("trained")] if "trained" in chosen else []
        return [where.dataset, where.scenes, *models]

    def outputs(params: Params, item: str) -> list[Path]:
        return [layout.of(params).predictions, *layout.of(params).eval_report_files]

    return Stage(info=stage_list.get("evaluate"), out_dir=lambda where: where.eval, items=lambda params: [label],
                 work=work, outputs=outputs, inputs=inputs, uses_device=True)


STAGE = evaluate_stage()


def run(params: Params, args: argparse.Namespace | None) -> StageReport | None:
    if args is not None and getattr(args, "compare", None):
        from fourdpqa.evaluate import compare

        paths = compare(params, args.compare)
        print(paths["md"].read_text(encoding="utf-8"))
        return None
    names = args.predictors.split(",") if args is not None and args.predictors else None
    stage = evaluate_stage(names, getattr(args, "limit", None), getattr(args, "tracking_uri", None))
    return run_stage(stage, params, force=common.force_arg(args))
