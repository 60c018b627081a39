"""validate: the validation report of the assembled dataset (the validate stage, which training requires), and the
asset checks on the training set and the benchmark: one property per check, calling :mod:`fourdpqa.validate`.

Blocking checks (schema, label balance of the benchmark, leakage, answer consistency, oracle-2, benchmark marks,
blind audit) stop downstream training and evaluation in the same run; the training set's balance and the pixel
probe are warnings.
"""

from __future__ import annotations

from collections.abc import Callable

import dagster as dg
import polars as pl

from assets.explain import check_metadata, failure, from_report
from assets.metadata import image_entries
from assets.resources import PipelineParams
from assets.runner import run_whole
from fourdpqa import layout
from fourdpqa.params import Params
from fourdpqa.stages import stage_list
from fourdpqa.stages import validate as stage
from fourdpqa.validate import (
    CheckResult, check_answer_consistency, check_label_balance, check_leakage, check_schema, scene_frame_loader,
)
from fourdpqa.validate.learnability import check_pixel_learnability
from fourdpqa.validate.marks import check_marks, scene_instances
from fourdpqa.validate.oracle_gate import check_oracle
from fourdpqa.validate.text_bias import check_blind_bias

SPLIT = {"training_set": "train", "benchmark": "benchmark"}
INFO = stage_list.get("validate")


@dg.asset(name=INFO.assets[0], group_name=INFO.name, deps=stage_list.upstream_assets(INFO.name),
          description="Every validation check of the dataset: data/validation/report.json (+ answer histograms).")
def validation_report(pipeline: PipelineParams) -> dg.MaterializeResult:
    params = pipeline.load()
    run_whole(stage.STAGE, params)
    where = layout.of(params)
    report = stage.read_verdict(where)
    failures = stage.blocking_failures(report)
    if failures:
        failed = [from_report(c) for c in report["checks"] if c["blocking"] and not c["passed"]]
        raise failure("blocking checks failed: " + "; ".join(failures), failed)
    plots = sorted(where.validation_plots.glob("*.png"))
    return dg.MaterializeResult(metadata={
        "passed": report["passed"],
        "checks": dg.MetadataValue.json({c["name"]: c["passed"] for c in report["checks"]}),
        "path": dg.MetadataValue.path(str(where.validation_report)),
        **{k: v for p in plots for k, v in image_entries(p.stem, p, p.stem, max_width=900).items()},
    })


def _table(params: Params, asset: str) -> pl.DataFrame:
    return pl.read_parquet(layout.of(params).split_table(SPLIT[asset]))


def _qa_tables(params: Params) -> dict[str, pl.DataFrame]:
    return {f"qa/{p.name}": pl.read_parquet(p) for p in sorted(layout.of(params).qa.glob("*.parquet")) if ".tmp-" not in p.name}


def to_dagster(result: CheckResult, asset: str) -> dg.AssetCheckResult:
    """Rule, observed, counts and examples as metadata (:func:`assets.explain.check_metadata`); a failed
    non-blocking check is a warning."""
    return dg.AssetCheckResult(
        asset_key=asset,
        check_name=result.name,
        passed=result.passed,
        severity=dg.AssetCheckSeverity.ERROR if result.blocking else dg.AssetCheckSeverity.WARN,
        metadata=check_metadata(result),
    )


def _split_check(asset: str, name: str, description: str,
                 run: Callable[[Params, pl.DataFrame], CheckResult]) -> dg.AssetChecksDefinition:
    """A blocking check of one split table: ``run(params, table)`` gives its result."""
    @dg.asset_check(asset=asset, name=name, blocking=True, description=description)
    def _check(pipeline: PipelineParams) -> dg.AssetCheckResult:
        params = pipeline.load()
        return to_dagster(run(params, _table(params, asset)), asset)

    return _check


def _split_checks(asset: str) -> list[dg.AssetChecksDefinition]:
    """Schema (with the QA tables the training set came from), answer consistency and oracle-2 of one split."""
    extra = _qa_tables if asset == "training_set" else (lambda params: {})
    return [
        _split_check(asset, "check_schema", "Pandera schema of the split table (and of every QA table it came from).",
                     lambda params, table: check_schema({asset: table, **extra(params)})),
        _split_check(asset, "check_answer_consistency",
                     "Every answer equals the generator's own re-derivation (records not edited).",
                     lambda params, table: check_answer_consistency(table, layout.of(params).scenes)),
        _split_check(asset, "check_oracle", "Oracle-2, sharing no code with the generator, agrees on every derivable answer.",
                     lambda params, table: check_oracle(table, layout.of(params).scenes, layout.of(params).tracks)),
    ]


@dg.asset_check(asset="benchmark", name="check_marks", blocking=True,
                description="Circles / boxes on the exported frames are drawn, enclose one object and do not overlap.")
def check_marks_benchmark(pipeline: PipelineParams) -> dg.AssetCheckResult:
    params = pipeline.load()
    v = params.validate
    result = check_marks(_table(params, "benchmark"), layout.of(params).dataset, scene_instances(layout.of(params).scenes),
                         v.mark_foreign_share, v.max_ambiguous_mark_share, "benchmark")
    return to_dagster(result, "benchmark")


@dg.asset_check(asset="benchmark", name="check_label_balance", blocking=True,
                description="Per type: answer classes <= 1.5x uniform share, yes/no 45-55%, MC letters uniform.")
def check_label_balance_benchmark(pipeline: PipelineParams) -> dg.AssetCheckResult:
    params = pipeline.load()
    return to_dagster(check_label_balance(_table(params, "benchmark"), params.validate, "benchmark"), "benchmark")


@dg.asset_check(asset="training_set", name="check_label_balance", blocking=False,
                description="Same balance rules on the training set (warning: training may keep natural skew).")
def check_label_balance_training(pipeline: PipelineParams) -> dg.AssetCheckResult:
    params = pipeline.load()
    return to_dagster(check_label_balance(_table(params, "training_set"), params.validate, "train"), "training_set")


@dg.asset_check(asset="benchmark", name="check_leakage", blocking=True, additional_deps=["training_set"],
                description="No benchmark video in training and no near-duplicate clip (pHash of frames).")
def check_leakage_benchmark(pipeline: PipelineParams) -> dg.AssetCheckResult:
    params = pipeline.load()
    result = check_leakage(_table(params, "training_set"), _table(params, "benchmark"),
                           scene_frame_loader(layout.of(params).scenes), params.validate.phash_max_distance)
    return to_dagster(result, "benchmark")


@dg.asset_check(asset="benchmark", name="check_blind_bias", blocking=True, additional_deps=["training_set"],
                description="Text-only predictors (majority, bag of words, TF-IDF, query rule) stay within "
                            "blind_margin of chance unless not significant.")
def check_blind_bias_benchmark(pipeline: PipelineParams) -> dg.AssetCheckResult:
    params = pipeline.load()
    v = params.validate
    result = check_blind_bias(_table(params, "training_set"), _table(params, "benchmark"), v.blind_margin, v.blind_blocking,
                              v.blind_null_draws, params.base.seed)
    return to_dagster(result, "benchmark")


@dg.asset_check(asset="benchmark", name="check_pixel_learnability", blocking=False, additional_deps=["training_set"],
                description="A small 3-D CNN with an optical-flow stream, trained on the training clips (and their "
                            "camera poses), beats the text-only baselines per type and per category.")
def check_pixel_learnability_benchmark(pipeline: PipelineParams) -> dg.AssetCheckResult:
    params = pipeline.load()
    train, bench = _table(params, "training_set"), _table(params, "benchmark")
    blind = check_blind_bias(train, bench, params.validate.blind_margin)
    where = layout.of(params)
    result = check_pixel_learnability(train, bench, where.dataset, blind.details["per_type"], params.validate.probe,
                                      params.base.seed, params.base.device, where.scenes)
    return to_dagster(result, "benchmark")


DATASET_CHECKS = [
    *_split_checks("training_set"), *_split_checks("benchmark"),
    check_label_balance_benchmark, check_label_balance_training, check_leakage_benchmark, check_marks_benchmark,
    check_blind_bias_benchmark, check_pixel_learnability_benchmark,
]

