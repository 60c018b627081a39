"""Evaluate: every configured predictor on the held-out benchmark -> predictions, Table-2 report, MLflow runs.

Reads ``<data_root>/dataset/benchmark.parquet`` (clip frames relative to ``dataset/``) and, for the text-prior
baselines, ``dataset/train.parquet``. Writes ``eval/predictions/<name>.jsonl`` (one scored answer per question),
``eval/report.{md,csv,png}`` (all predictors side by side) and ``eval/report.json`` (scores).
One MLflow run per evaluation with a nested run per predictor (``fourdpqa.stages.tracking``, experiment
``fourdpqa-evaluate``); a predictor that cannot be built or run (e.g. no trained model yet) is quarantined and the
others go on.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from tqdm import tqdm

from fourdpqa import layout, quarantine, report
from fourdpqa.answers import score_answer
from fourdpqa.atomic import write_json, write_jsonl
from fourdpqa.params import Params
from fourdpqa.predictors import Predictor, Sample, build_predictor, trained_model_dir
from fourdpqa.predictors.contract import MAX_RESPONSE_CHARS, PredictorContractError, unanswered
from fourdpqa.qa_format import format_prompt
from fourdpqa.stages import stage_list
from fourdpqa.stages.protocol import BAD_INPUT, Job, Stage, StageFailed, StageReport, run_stage
from fourdpqa.stages.records import write_evaluation_records

log = logging.getLogger("fourdpqa.evaluate")
# A question whose clip cannot be read or whose model call fails gets an empty (wrong) answer; bugs propagate.
ANSWER_ERRORS = (*BAD_INPUT, RuntimeError)
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


def predictions_path(params: Params, name: str) -> Path:
    return layout.of(params).predictions_file(name)


def read_split(params: Params, split: str) -> pl.DataFrame:
    path = layout.of(params).split_table(split)
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
    with tqdm(total=len(samples), desc=f"evaluate {predictor.name}", unit="question", disable=None) as bar:
        for start in range(0, len(samples), batch_size):
            batch = samples[start:start + batch_size]
            try:
                responses += predictor.answer(batch, max_chars)
                errors += [""] * len(batch)
            except PredictorContractError:
                raise
            except ANSWER_ERRORS:
                for sample in batch:
                    try:
                        responses += predictor.answer([sample], max_chars)
                        errors.append("")
                    except PredictorContractError:
                        raise
                    except ANSWER_ERRORS as exc:
                        log.warning("evaluate %s: question %s failed: %s", predictor.name, sample.record["id"], exc)
                        responses.append("")
                        errors.append(f"{type(exc).__name__}: {exc}")
            bar.update(len(batch))
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
    from fourdpqa.stages.tracking import EvaluationTracker  # MLflow and the model stack load only when evaluating

    where = layout.of(params)
    train_path = where.split_table("train")
    train_rows = pl.read_parquet(train_path).to_dicts() if train_path.exists() else []
    samples = make_samples(bench.to_dicts(), where.dataset)
    out_dir = where.eval
    tracker = EvaluationTracker(params, where.split_table("benchmark"), len(samples), trained_model_dir(params),
                                tracking_uri)
    summaries: dict[str, dict[str, report.Cell]] = {}
    failures: dict[str, int] = {}
    scored: dict[str, list[dict[str, Any]]] = {}

    def work(name: str) -> Path:
        with tracker.predictor(name):
            predictor = build_predictor(name, params, train_records=train_rows)
            responses, errors = predict_all(predictor, samples, params.evaluate.batch_size,
                                            params.evaluate.max_response_chars)
            rows = score_rows(samples, responses, errors)
            path = predictions_path(params, name)
            write_jsonl(path, rows)
            summaries[name] = report.summarize(rows)
            scored[name] = rows
            failures[name] = unanswered(rows)
            tracker.log_scores({k: c.mean for k, c in summaries[name].items() if c.mean is not None},
                               failures[name], path)
        return path

    with tracker.evaluation(bench.select("id", "question_type", "answer_format", "answer")):
        stage = StageReport("evaluate")
        for name in names:  # a predictor that cannot be built or run is set aside; the others go on
            try:
                work(name)
            except BAD_INPUT as exc:
                stage.quarantined[name] = f"{type(exc).__name__}: {exc}"
                quarantine.quarantine(where.root, "evaluate", name, stage.quarantined[name])
                log.warning("evaluate: predictor %s not evaluated: %s", name, stage.quarantined[name])
                continue
            quarantine.release(where.root, "evaluate", name)
            stage.done.append(name)
        ordered = {n: summaries[n] for n in names if n in summaries}
        if not ordered:
            raise StageFailed(f"no predictor could be evaluated: {stage.quarantined}")
        diagnosed = report.diagnostics({n: scored[n] for n in ordered})
        paths = report.write_report(ordered, out_dir, diagnosed=diagnosed)
        tracker.log_report({n: s["overall"].mean for n, s in ordered.items()}, paths)
    write_json(out_dir / "report.json", {
        "benchmark_questions": len(samples), "failed_questions": failures, "quarantined": stage.quarantined,
        "overall": {n: s["overall"].mean for n, s in ordered.items()},
        "per_column": {n: {k: {"n": c.n, "accuracy": c.mean} for k, c in sorted(s.items())} for n, s in ordered.items()},
        **diagnosed,
    })
    return EvaluationResult(ordered, paths, tracker.run_ids, stage, failures)


def compare(params: Params, specs: Sequence[str]) -> dict[str, Path]:
    """``eval/compare.{md,csv,png}`` from ``LABEL=path`` prediction files (e.g. two checkpoints' runs)."""
    runs = []
    for spec in specs:
        label, sep, path = spec.partition("=")
        if not sep or not label or not path:
            raise ValueError(f"--compare expects LABEL=PATH, got {spec!r}")
        runs.append((label, report.read_predictions(path)))
    return report.write_report(report.side_by_side(runs), layout.of(params).eval, stem="compare")


def evaluate_stage(names: Sequence[str] | None = None, limit: int | None = None, tracking_uri: str | None = None,
                   on_result: Callable[[EvaluationResult], None] | None = None) -> Stage:
    """The evaluate stage for a predictor selection (the CLI options); its item names the selection. ``on_result``
    receives what a run produced (e.g. the MLflow run ids the Dagster asset shows); not called when up to date."""
    label = "evaluate" if names is None and limit is None else f"evaluate-{','.join(names or [])}-{limit}"

    def work(job: Job) -> None:
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
        report_json = layout.of(params).eval_report
        return [layout.of(params).predictions, *(report_json.with_suffix(s) for s in (".md", ".csv", ".png", ".json"))]

    return Stage(info=stage_list.get("evaluate"), out_dir=lambda where: where.eval, items=lambda params: [label],
                 work=work, outputs=outputs, inputs=inputs, uses_device=True)


STAGE = evaluate_stage()


def run(params: Params, args: argparse.Namespace | None) -> StageReport | None:
    if args is not None and getattr(args, "compare", None):
        paths = compare(params, args.compare)
        print(paths["md"].read_text(encoding="utf-8"))
        return None
    names = args.predictors.split(",") if args is not None and args.predictors else None
    return run_stage(evaluate_stage(names, getattr(args, "limit", None), getattr(args, "tracking_uri", None)), params)
