"""learnability: can the benchmark be learned from its pixels? -> data/learnability/ (report.json, learnability.png).

The pixel probe (:mod:`fourdpqa.probe`) trained on the training clips and scored on the benchmark next to the blind
audit's text-only predictors (read from ``validation/report.json``, not recomputed) and the optical-flow heuristic
(:mod:`fourdpqa.validate.learnability`). A diagnostic off the critical path: it runs after validate, nothing
downstream waits for it, and its check is a warning.

Cached on its inputs: the probe's benchmark answers and the flow heuristic's accuracies are kept in ``probe.json``
with the digest of everything they depend on (both split tables, whose frame paths name their clips' content, the
training scenes' camera poses, the probe settings, the seed, the device type and the probe's code). A rerun that
finds the same digest (e.g. validate reran with another audit setting) re-judges the stored answers without
retraining.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import polars as pl

from fourdpqa import fingerprint, layout
from fourdpqa.atomic import atomic_path, write_json
from fourdpqa.params import Params
from fourdpqa.stages import stage_list
from fourdpqa.stages.protocol import Job, Stage, StageReport, run_stage
from fourdpqa.validate.result import CheckResult

log = logging.getLogger("fourdpqa.learnability")
PROBE_CODE = ("fourdpqa.probe.fit", "fourdpqa.validate.learnability")  # what the stored answers were computed by
METRICS = "learnability"


def _cameras(where: layout.Layout, videos: list[str]) -> list[Path]:
    return [where.scene(v) / "cameras.parquet" for v in sorted(videos)]


def probe_key(params: Params, where: layout.Layout, train: pl.DataFrame) -> str:
    """Digest of everything the probe's answers depend on (module doc)."""
    from fourdpqa.device import resolve_device

    tables = {s: fingerprint.file_digest(where.split_table(s)) for s in ("train", "benchmark")}
    cameras = fingerprint.digest_files(_cameras(where, train["video_id"].unique().to_list()), where.root)
    return fingerprint.combine({"tables": tables, "cameras": cameras, "probe": params.learnability.model_dump(),
                                "seed": params.base.seed, "device": resolve_device(params.base.device).type,
                                "code": fingerprint.code_digest(PROBE_CODE)})


def stored(path: Path, key: str) -> dict[str, Any] | None:
    """The stored probe answers when they were computed for ``key``."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if record.get("key") == key else None


def probe_answers(params: Params, where: layout.Layout, train: pl.DataFrame, benchmark: pl.DataFrame) -> dict[str, Any]:
    """``{"key", "probe": ProbeResult fields | None, "error", "flow"}``: reused from the published ``probe.json``
    when its key matches, else computed (the probe trained, the flow heuristic run)."""
    from dataclasses import asdict

    from fourdpqa.errors import BadInput
    from fourdpqa.probe.fit import NothingToLearn, run_probe
    from fourdpqa.validate.learnability import flow_accuracy

    key = probe_key(params, where, train)
    previous = stored(where.probe_result, key)
    if previous is not None:
        log.info("learnability: the probe's answers for this dataset and settings are stored; not retraining")
        return {**previous, "reused": True}
    cfg = params.learnability
    try:
        probe, error = asdict(run_probe(train, benchmark, where.dataset, cfg, params.base.seed, params.base.device,
                                        where.scenes)), None
    except (NothingToLearn, BadInput) as exc:  # nothing to learn from, or an unreadable clip: a warning
        probe, error = None, str(exc)
    return {"key": key, "probe": probe, "error": error, "flow": flow_accuracy(train, benchmark, where.dataset),
            "reused": False}


def blind_per_type(report: dict[str, Any]) -> dict[str, Any]:
    """The blind audit's per-(type, format) scores from a validation report (empty when it did not run)."""
    blind = next((c for c in report["checks"] if c["name"] == "check_blind_bias"), {})
    return blind.get("details", {}).get("per_type", {})


def learn(job: Job) -> None:
    from fourdpqa.probe import ProbeResult
    from fourdpqa.stages.validate import dataset_stamp, read_verdict
    from fourdpqa.validate.learnability import judge, not_run
    from fourdpqa.validate.learnability_plot import plot_learnability

    params, where = job.params, job.where
    validation = read_verdict(where)  # of this very dataset, else StageFailed: run validate first
    train, benchmark = (pl.read_parquet(where.split_table(s)) for s in ("train", "benchmark"))
    if not params.learnability.enabled:
        result, answers = not_run("learnability.enabled is false"), None
    else:
        answers = probe_answers(params, where, train, benchmark)
        write_json(job.out / where.probe_result.name, {k: v for k, v in answers.items() if k != "reused"})
        if answers["probe"] is None:
            result = not_run(answers["error"])
        else:
            categories = dict(benchmark.select("question_name", "category").unique().iter_rows())
            result = judge(ProbeResult(**answers["probe"]), blind_per_type(validation), answers["flow"], categories,
                           params.learnability)
    write_json(job.out / where.learnability_report.name,
               {"passed": result.passed, "check": result.as_dict(), "dataset": dataset_stamp(where)})
    if result.details.get("per_type"):
        with atomic_path(job.out / where.learnability_plot.name) as tmp:
            tmp.write_bytes(plot_learnability(result.details["per_type"]))
    write_metrics(where, result, bool(answers and not answers["reused"]))


def write_metrics(where: layout.Layout, result: CheckResult, retrained: bool) -> None:
    """``metrics/learnability.json`` (dvc metrics): the verdict, whether this run trained the probe, and the probe's
    and the best text-only predictor's accuracy per category."""
    per_category = result.details.get("per_category", {})
    write_json(where.metrics(METRICS), {
        "passed": result.passed, "retrained": retrained,
        "probe_per_category": {c: v["probe"] for c, v in per_category.items()},
        "best_text_per_category": {c: v["best_text"] for c, v in per_category.items()}})


def inputs(params: Params, item: str) -> list[Path]:
    where = layout.of(params)
    return [where.split_table("train"), where.split_table("benchmark"), where.dataset / "clips",
            where.validation_report, *sorted(where.scenes.glob("*/cameras.parquet"))]


STAGE = Stage(
    info=stage_list.get("learnability"),
    out_dir=lambda where: where.learnability,
    items=lambda params: ["learnability"],
    work=learn,
    outputs=lambda params, item: [layout.of(params).learnability],
    inputs=inputs,
    staged=True,
    uses_device=True,  # the probe trains a small model
)


def read_report(where: layout.Layout) -> dict[str, Any]:
    return json.loads(where.learnability_report.read_text(encoding="utf-8"))


def run(params: Params, args: argparse.Namespace | None = None) -> StageReport:
    from fourdpqa.validate.learnability import format_learnability

    stage_report = run_stage(STAGE, params)
    check = read_report(layout.of(params))["check"]
    print("\n".join(format_learnability(CheckResult(**check))))
    return stage_report
