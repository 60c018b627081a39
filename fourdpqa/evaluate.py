"""Evaluation: every predictor on the held-out benchmark -> scored predictions and the Table-2 report.

The library half of the evaluate stage (like :mod:`fourdpqa.assemble` and :mod:`fourdpqa.validate`): it reads the
assembled splits, runs each predictor, scores it with the one answer extractor and writes
``eval/predictions/<name>.jsonl``, ``eval/report.{md,csv,png}`` and ``eval/report.json``. What it records elsewhere
goes through the :class:`Tracker` it is handed (the drivers pass the MLflow one, ``fourdpqa.stages.mlflow_runs``),
so this module imports no MLflow. A predictor that cannot be built or run is set aside with the reason; the others
go on.
"""

from __future__ import annotations

import contextlib
import errno
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import polars as pl
from tqdm import tqdm

from fourdpqa import layout, quarantine, report
from fourdpqa.answers import score_answer
from fourdpqa.atomic import write_json, write_jsonl
from fourdpqa.errors import BAD_INPUT
from fourdpqa.params import Params
from fourdpqa.predictors import Predictor, Sample, build_predictor
from fourdpqa.predictors.contract import MAX_RESPONSE_CHARS, PredictorContractError, unanswered
from fourdpqa.qa_format import format_prompt

log = logging.getLogger("fourdpqa.evaluate")
# A predictor that cannot be built or run (no trained model yet, no API model configured) is set aside.
PREDICTOR_ERRORS: tuple[type[Exception], ...] = BAD_INPUT
# A question whose clip cannot be read or whose model call fails gets an empty (wrong) answer; bugs propagate.
ANSWER_ERRORS: tuple[type[Exception], ...] = (*PREDICTOR_ERRORS, RuntimeError)
# QA fields copied into each prediction row (enough to re-aggregate without the benchmark table).
ROW_FIELDS = ("id", "video_id", "question_type", "question_name", "category", "answer_format", "answer")


class NoPredictorEvaluated(RuntimeError):
    """Every predictor was set aside: there is no report to write."""


class Tracker(Protocol):
    """Where an evaluation is recorded besides its files: one parent record per evaluation, one nested record per
    predictor opened before its work (``fourdpqa.stages.mlflow_runs.EvaluationTracker`` is the MLflow one)."""

    run_ids: dict[str, str]

    def evaluation(self, frame: pl.DataFrame) -> contextlib.AbstractContextManager[Any]: ...

    def predictor(self, name: str) -> contextlib.AbstractContextManager[Any]: ...

    def log_scores(self, accuracies: Mapping[str, float], failed: int, predictions: Path) -> None: ...

    def log_report(self, overall: Mapping[str, float], paths: Mapping[str, Path]) -> None: ...


class NoTracker:
    """Records nothing beyond the files (library use without MLflow)."""

    def __init__(self) -> None:
        self.run_ids: dict[str, str] = {}

    @contextlib.contextmanager
    def evaluation(self, frame: pl.DataFrame) -> Iterator[None]:
        yield

    @contextlib.contextmanager
    def predictor(self, name: str) -> Iterator[None]:
        yield

    def log_scores(self, accuracies: Mapping[str, float], failed: int, predictions: Path) -> None:
        pass

    def log_report(self, overall: Mapping[str, float], paths: Mapping[str, Path]) -> None:
        pass


@dataclass
class EvaluationResult:
    summaries: dict[str, dict[str, report.Cell]]
    report_paths: dict[str, Path]
    run_ids: dict[str, str]
    done: list[str] = field(default_factory=list)  # predictors evaluated, in order
    quarantined: dict[str, str] = field(default_factory=dict)  # predictor -> why it was set aside
    failures: dict[str, int] = field(default_factory=dict)  # predictor -> questions it failed to answer
    diagnosed: dict[str, Any] = field(default_factory=dict)  # answer diversity and the tests against blind

    @property
    def markdown(self) -> str:
        return self.report_paths["md"].read_text(encoding="utf-8")


def predictions_path(params: Params, name: str) -> Path:
    return layout.of(params).predictions_file(name)


def read_split(params: Params, split: str) -> pl.DataFrame:
    path = layout.of(params).split_table(split)
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, f"{path}: no {split} table; run the assemble stage first")
    return pl.read_parquet(path)


def make_samples(rows: Sequence[Mapping[str, Any]], base: Path) -> list[Sample]:
    """Samples over the exported clip frames (paths relative to the dataset folder) and the exact prompt."""
    return [Sample([base / f for f in r["frames"]], format_prompt(r), r) for r in rows]


def _answer_one_by_one(predictor: Predictor, batch: list[Sample], max_chars: int) -> tuple[list[str], list[str]]:
    responses: list[str] = []
    errors: list[str] = []
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
    return responses, errors


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
                got, why = _answer_one_by_one(predictor, batch, max_chars)
                responses += got
                errors += why
            bar.update(len(batch))
    return responses, errors


def score_rows(samples: list[Sample], responses: list[str], errors: list[str]) -> list[dict[str, Any]]:
    rows = []
    for sample, response, error in zip(samples, responses, errors, strict=True):
        scored = score_answer(sample.record, response)
        rows.append({**{k: sample.record[k] for k in ROW_FIELDS}, "response": response,
                     "extracted": scored.extracted, "score": scored.score, "error": error})
    return rows


def _write_scores(path: Path, n: int, result: EvaluationResult) -> None:
    ordered = result.summaries
    write_json(path, {
        "benchmark_questions": n, "failed_questions": result.failures, "quarantined": result.quarantined,
        "overall": {name: s["overall"].mean for name, s in ordered.items()},
        "per_column": {name: {k: {"n": c.n, "accuracy": c.mean} for k, c in sorted(s.items())}
                       for name, s in ordered.items()},
        **result.diagnosed,
    })


def evaluate(params: Params, names: Sequence[str] | None = None, tracker: Tracker | None = None,
             limit: int | None = None) -> EvaluationResult:
    """Run, score and report every predictor in ``names`` (default ``params.evaluate.predictors``), recording
    through ``tracker`` (default: nothing beyond the files). Raises :class:`NoPredictorEvaluated` when every
    predictor was set aside."""
    names = list(names or params.evaluate.predictors)
    tracker = tracker or NoTracker()
    where = layout.of(params)
    bench = read_split(params, "benchmark").sort("video_id", "id")
    if limit is not None:
        bench = bench.head(limit)
    train_path = where.split_table("train")
    train_rows = pl.read_parquet(train_path).to_dicts() if train_path.exists() else []
    samples = make_samples(bench.to_dicts(), where.dataset)
    result = EvaluationResult({}, {}, tracker.run_ids)
    scored: dict[str, list[dict[str, Any]]] = {}

    def work(name: str) -> None:
        with tracker.predictor(name):
            predictor = build_predictor(name, params, train_records=train_rows)
            responses, errors = predict_all(predictor, samples, params.evaluate.batch_size,
                                            params.evaluate.max_response_chars)
            rows = score_rows(samples, responses, errors)
            path = predictions_path(params, name)
            write_jsonl(path, rows)
            result.summaries[name] = report.summarize(rows)
            scored[name] = rows
            result.failures[name] = unanswered(rows)
            tracker.log_scores({k: c.mean for k, c in result.summaries[name].items() if c.mean is not None},
                               result.failures[name], path)

    with tracker.evaluation(bench.select("id", "question_type", "answer_format", "answer")):
        for name in names:  # a predictor that cannot be built or run is set aside; the others go on
            try:
                work(name)
            except PREDICTOR_ERRORS as exc:
                result.quarantined[name] = f"{type(exc).__name__}: {exc}"
                quarantine.quarantine(where.root, "evaluate", name, result.quarantined[name])
                log.warning("evaluate: predictor %s not evaluated: %s", name, result.quarantined[name])
                continue
            quarantine.release(where.root, "evaluate", name)
            result.done.append(name)
        result.summaries = {n: result.summaries[n] for n in names if n in result.summaries}
        if not result.summaries:
            raise NoPredictorEvaluated(f"no predictor could be evaluated: {result.quarantined}")
        result.diagnosed = report.diagnostics({n: scored[n] for n in result.summaries})
        result.report_paths = report.write_report(result.summaries, where.eval, stem=where.eval_report.stem,
                                                  diagnosed=result.diagnosed)
        tracker.log_report({n: s["overall"].mean for n, s in result.summaries.items()}, result.report_paths)
    _write_scores(where.eval_report, len(samples), result)
    return result


def compare(params: Params, specs: Sequence[str]) -> dict[str, Path]:
    """``eval/compare.{md,csv,png}`` from ``LABEL=path`` prediction files (e.g. two checkpoints' runs)."""
    runs = []
    for spec in specs:
        label, sep, path = spec.partition("=")
        if not sep or not label or not path:
            raise ValueError(f"--compare expects LABEL=PATH, got {spec!r}")
        runs.append((label, report.read_predictions(path)))
    return report.write_report(report.side_by_side(runs), layout.of(params).eval, stem="compare")
