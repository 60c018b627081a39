"""validate: the asset checks on the training set and the benchmark, one per entry of the check registry
(:data:`fourdpqa.validate.registry.CHECKS`), and the validation report (the validate stage, which training requires).

One computation: ``dataset_checks`` runs the validate stage (the same run the CLI and ``dvc repro`` make) and
reports each check as ``report.json`` holds it; ``validation_report`` publishes that report (the stage is then up
to date: nothing is computed again). Blocking checks (schema, label balance of the benchmark, leakage, answer
consistency, oracle-2, benchmark marks, blind audit) run before anything downstream of the dataset and stop it in
the same run; the training set's balance and marks are warnings.
"""

from collections.abc import Iterator

import dagster as dg

from assets.explain import check_metadata, from_report
from assets.metadata import image_entries
from assets.resources import PipelineParams
from assets.runner import run_whole
from fourdpqa import layout
from fourdpqa.stages import stage_list
from fourdpqa.stages import validate as stage
from fourdpqa.validate.registry import CHECKS, CheckInfo
from fourdpqa.validate.result import CheckResult

INFO = stage_list.get("validate")


@dg.asset(name=INFO.assets[0], group_name=INFO.name, deps=stage_list.upstream_assets(INFO.name),
          description="Every validation check of the dataset: data/validation/report.json (+ answer histograms), "
                      "as the checks on training_set / benchmark report it.")
def validation_report(context: dg.AssetExecutionContext, pipeline: PipelineParams) -> dg.MaterializeResult:
    params = pipeline.load()
    run_whole(stage.STAGE, params)
    where = layout.of(params)
    report = stage.read_verdict(where)
    failures = stage.blocking_failures(report)
    if failures:  # only when materialized without its checks (which would have stopped the run): say so
        context.log.error("blocking checks failed: " + "; ".join(failures))
    plots = sorted(where.validation_plots.glob("*.png"))
    return dg.MaterializeResult(metadata={
        "passed": report["passed"],
        "checks": dg.MetadataValue.json({c["name"]: c["passed"] for c in report["checks"]}),
        "path": dg.MetadataValue.path(str(where.validation_report)),
        **{k: v for p in plots for k, v in image_entries(p.stem, p, p.stem, max_width=900).items()},
    })


def to_dagster(result: CheckResult, check: CheckInfo) -> dg.AssetCheckResult:
    """Rule, observed, counts and examples as metadata (:func:`assets.explain.check_metadata`); a failed
    non-blocking check is a warning."""
    return dg.AssetCheckResult(
        asset_key=check.asset,
        check_name=check.dagster_name,
        passed=result.passed,
        severity=dg.AssetCheckSeverity.ERROR if result.blocking else dg.AssetCheckSeverity.WARN,
        metadata=check_metadata(result),
    )


def check_spec(check: CheckInfo) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(check.dagster_name, asset=check.asset, blocking=check.blocking, description=check.rule)


@dg.multi_asset_check(specs=[check_spec(c) for c in CHECKS], name="dataset_checks",
                      description="The validate stage (data/validation/report.json), each check as the report holds it.")
def dataset_checks(pipeline: PipelineParams) -> Iterator[dg.AssetCheckResult]:
    params = pipeline.load()
    run_whole(stage.STAGE, params)  # skipped when up to date (e.g. validation_report ran it)
    report = stage.read_verdict(layout.of(params))
    by_name = {c["name"]: c for c in report["checks"]}
    for check in CHECKS:
        result = (from_report(by_name[check.name]) if check.name in by_name else
                  CheckResult(check.name, False, check.blocking, "not in the validation report", check.rule))
        yield to_dagster(result, check)


DATASET_CHECKS = [dataset_checks]
