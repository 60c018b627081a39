"""evaluate: every configured predictor on the benchmark -> the Table-2 report (one MLflow run per predictor)."""

import json

import dagster as dg

from assets.metadata import image_entries
from assets.resources import PipelineParams
from assets.runner import run_whole
from fourdpqa import layout, report
from fourdpqa.stages import evaluate, stage_list

INFO = stage_list.get("evaluate")


@dg.asset(name=INFO.assets[0], group_name=INFO.name, deps=stage_list.upstream_assets(INFO.name),
          description="Per-type accuracy (paper Table 2 layout) of random, blind, the lazy motion baselines, "
                      "oracle, flow and trained predictors.")
def evaluation(context: dg.AssetExecutionContext, pipeline: PipelineParams) -> dg.MaterializeResult:
    params = pipeline.load()
    produced: list[evaluate.EvaluationResult] = []
    run_whole(evaluate.evaluate_stage(on_result=produced.append), params)
    report_json = layout.of(params).eval_report
    result = json.loads(report_json.read_text(encoding="utf-8"))
    for name, reason in result["quarantined"].items():
        context.log.warning(f"predictor {name} not evaluated: {reason}")
    return dg.MaterializeResult(
        metadata={
            "table": dg.MetadataValue.md(report_json.with_suffix(".md").read_text(encoding="utf-8")),
            **image_entries("plot", report_json.with_suffix(".png"), "accuracy per question type"),
            "overall": dg.MetadataValue.json(result["overall"]),
            "mlflow_run_ids": dg.MetadataValue.json(produced[0].run_ids if produced else {}),
            "benchmark_questions": result["benchmark_questions"],
            "failed_questions": dg.MetadataValue.json(result["failed_questions"]),
            "not_evaluated": dg.MetadataValue.json(result["quarantined"]),
            "report_csv": dg.MetadataValue.path(str(report_json.with_suffix(".csv"))),
        }
    )


@dg.asset_check(asset=evaluation, name="check_answer_diversity", blocking=False,
                description="Every model that looks at the frames varies its answers: not one answer to every yes/no "
                            "question, and more than two letters across the MC questions (the blind row, a text prior, "
                            "is reported but not judged).")
def check_answer_diversity(pipeline: PipelineParams) -> dg.AssetCheckResult:
    result = json.loads(layout.of(pipeline.load()).eval_report.read_text(encoding="utf-8"))
    passed, observed = report.diversity_verdict(result)
    return dg.AssetCheckResult(
        passed=passed, severity=dg.AssetCheckSeverity.WARN,
        metadata={"observed": observed, "answers": dg.MetadataValue.json(result.get("answers", {})),
                  "degenerate": dg.MetadataValue.json(result.get("degenerate", []))})


EVALUATION_CHECKS = [check_answer_diversity]
