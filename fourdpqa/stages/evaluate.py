"""Evaluate: every configured predictor on the held-out benchmark -> predictions, Table-2 report, MLflow runs.

Reads ``<data_root>/dataset/benchmark.parquet`` (clip frames relative to ``dataset/``) and, for the text-prior
baselines, ``dataset/train.parquet``. Writes ``eval/predictions/<name>.jsonl`` (one scored answer per question),
``eval/report.{md,csv,png}`` (all predictors side by side) and ``eval/report.json`` (scores, MLflow run ids; the
dvc metrics file).
Each predictor is one MLflow run in the local file store ``<data_root>/mlruns`` (experiment ``fourdpqa-evaluate``);
a predictor that cannot be built or run (e.g. no trained model yet) is quarantined and the others go on.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from fourdpqa import report
from fourdpqa.answers import score_answer
from fourdpqa.atomic import write_json, write_jsonl
from fourdpqa.params import Params
from fourdpqa.predictors import Predictor, Sample, build_predictor
from fourdpqa.predictors.contract import MAX_RESPONSE_CHARS, PredictorContractError, unanswered
from fourdpqa.qa_format import format_prompt
from fourdpqa.quarantine import safe_name
from fourdpqa.stages.common import ItemError, StageFailed, StageReport, for_each_item
from fourdpqa.train import open_mlflow

log = logging.getLogger("fourdpqa.evaluate")
MLFLOW_EXPERIMENT = "fourdpqa-evaluate"
# QA fields copied into each prediction row (enough to re-aggregate without the benchmark table).
ROW_FIELDS = ("id", "video_id", "question_type", "question_name", "category", "answer_format", "answer")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--predictors", help="comma-separated predictor names (default: params evaluate.predictors)")
    parser.add_argument("--limit", type=int, default=None, help="evaluate only the first N benchmark questions")
    parser.add_argument("--compare", nargs="+", metavar="LABEL=PREDICTIONS.jsonl",
                        help="instead of evaluating, put earlier prediction files side by side in eval/compare.*")


@dataclass
class EvaluationResult:
    summaries: dict[str, dict[str, report.Cell]]
    report_paths: dict[str, Path]
    run_ids: dict[str, str]
    stage: StageReport
    failures: dict[str, int] = field(default_factory=dict)  # predictor -> questions it failed to answer

    @property
    def markdown(self) -> str:
        return self.report_paths["md"].read_text(encoding="utf-8")


def dataset_dir(params: Params) -> Path:
    return params.data / "dataset"


def predictions_path(params: Params, name: str) -> Path:
    return params.data / "eval" / "predictions" / f"{safe_name(name)}.jsonl"


def read_split(params: Params, split: str) -> pl.DataFrame:
    path = dataset_dir(params) / f"{split}.parquet"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no {split} table; run the assemble stage first")
    return pl.read_parquet(path)


def make_samples(rows: Sequence[Mapping[str, Any]], base: Path) -> list[Sample]:
    """Samples over the exported clip frames (paths relative to the dataset folder) and the exact prompt."""
    return [Sample([base / f for f in r["frames"]], format_prompt(r), r) for r in rows]


def predict_all(predictor: Predictor, samples: list[Sample], batch_size: int,
                max_chars: int = MAX_RESPONSE_CHARS) -> tuple[list[str], list[str]]:
    """(responses, errors): a batch that fails is retried question by question; a question that still fails
    gets an empty answer (scored wrong) and its error text, so one bad clip cannot sink the whole run. A broken
    predictor contract (wrong number or type of answers) sets the whole predictor aside."""
    responses: list[str] = []
    errors: list[str] = []
    for start in range(0, len(samples), batch_size):
        batch = samples[start:start + batch_size]
        try:
            responses += predictor.answer(batch, max_chars)
            errors += [""] * len(batch)
            continue
        except PredictorContractError:
            raise
        except ItemError:
            pass
        for sample in batch:
            try:
                responses += predictor.answer([sample], max_chars)
                errors.append("")
            except PredictorContractError:
                raise
            except ItemError as exc:
                log.warning("evaluate %s: question %s failed: %s", predictor.name, sample.record["id"], exc)
                responses.append("")
                errors.append(f"{type(exc).__name__}: {exc}")
    return responses, errors


def score_rows(samples: list[Sample], responses: list[str], errors: list[str]) -> list[dict[str, Any]]:
    rows = []
    for sample, response, error in zip(samples, responses, errors, strict=True):
        scored = score_answer(sample.record, response)
        rows.append({**{k: sample.record[k] for k in ROW_FIELDS}, "response": response,
                     "extracted": scored.extracted, "score": scored.score, "error": error})
    return rows


def evaluate(params: Params, names: Sequence[str] | None = None, limit: int | None = None,
             tracking_uri: str | None = None) -> EvaluationResult:
    """Run, score and report every predictor in ``names`` (default ``params.evaluate.predictors``)."""
    names = list(names or params.evaluate.predictors)
    bench = read_split(params, "benchmark").sort("video_id", "id")
    if limit is not None:
        bench = bench.head(limit)
    train_path = dataset_dir(params) / "train.parquet"
    train_rows = pl.read_parquet(train_path).to_dicts() if train_path.exists() else []
    samples = make_samples(bench.to_dicts(), dataset_dir(params))
    out_dir = params.data / "eval"
    mlflow = open_mlflow(params.data, MLFLOW_EXPERIMENT, tracking_uri)
    summaries: dict[str, dict[str, report.Cell]] = {}
    run_ids: dict[str, str] = {}
    failures: dict[str, int] = {}

    def work(name: str) -> Path:
        predictor = build_predictor(name, params, train_records=train_rows)
        responses, errors = predict_all(predictor, samples, params.evaluate.batch_size,
                                        params.evaluate.max_response_chars)
        rows = score_rows(samples, responses, errors)
        path = predictions_path(params, name)
        write_jsonl(path, rows)
        summaries[name] = report.summarize(rows)
        failures[name] = unanswered(rows)
        with mlflow.start_run(run_name=f"eval-{name}") as run:
            mlflow.log_params({"predictor": name, "benchmark_questions": len(samples), "seed": params.base.seed,
                               "frames": params.evaluate.frames, "max_new_tokens": params.evaluate.max_new_tokens})
            mlflow.log_metrics({**{f"acc/{k.replace(':', '_')}": c.mean for k, c in summaries[name].items()
                                   if c.mean is not None}, "failed_questions": failures[name]})
            mlflow.log_artifact(str(path))
            run_ids[name] = run.info.run_id
        return path

    stage = for_each_item("evaluate", names, work, params.data)
    ordered = {n: summaries[n] for n in names if n in summaries}
    if not ordered:
        raise StageFailed(f"no predictor could be evaluated: {stage.quarantined}")
    paths = report.write_report(ordered, out_dir)
    with mlflow.start_run(run_name="eval-report") as run:
        mlflow.log_params({"predictors": ",".join(ordered), "benchmark_questions": len(samples)})
        mlflow.log_metrics({f"overall/{safe_name(n)}": s["overall"].mean for n, s in ordered.items()})
        for p in paths.values():
            mlflow.log_artifact(str(p))
        mlflow.set_tags({f"run/{safe_name(n)}": rid for n, rid in run_ids.items()})
        run_ids["report"] = run.info.run_id
    write_json(out_dir / "report.json", {
        "benchmark_questions": len(samples), "mlflow_run_ids": run_ids, "failed_questions": failures,
        "quarantined": stage.quarantined,
        "overall": {n: s["overall"].mean for n, s in ordered.items()},
        "per_column": {n: {k: {"n": c.n, "accuracy": c.mean} for k, c in sorted(s.items())} for n, s in ordered.items()},
    })
    return EvaluationResult(ordered, paths, run_ids, stage, failures)


def compare(params: Params, specs: Sequence[str]) -> dict[str, Path]:
    """``eval/compare.{md,csv,png}`` from ``LABEL=path`` prediction files (e.g. two checkpoints' runs)."""
    runs = []
    for spec in specs:
        label, sep, path = spec.partition("=")
        if not sep or not label or not path:
            raise ValueError(f"--compare expects LABEL=PATH, got {spec!r}")
        runs.append((label, report.read_predictions(path)))
    return report.write_report(report.side_by_side(runs), params.data / "eval", stem="compare")


def run(params: Params, args: argparse.Namespace | None) -> StageReport | None:
    if args is not None and getattr(args, "compare", None):
        paths = compare(params, args.compare)
        print(paths["md"].read_text(encoding="utf-8"))
        return None
    names = args.predictors.split(",") if args is not None and args.predictors else None
    result = evaluate(params, names, limit=getattr(args, "limit", None))
    print(result.markdown)
    return result.stage
