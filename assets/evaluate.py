"""Evaluation: every configured predictor on the benchmark -> the Table-2 report (one MLflow run per predictor)."""

import dagster as dg

from dagster_project.metadata import png_markdown
from dagster_project.resources import PipelineParams
from fourdpqa.device import set_determinism
from fourdpqa.stages.evaluate import evaluate


@dg.asset(group_name="models", deps=["benchmark", "trained_model"],
          description="Per-type accuracy (paper Table 2 layout) of random, blind, oracle, flow and trained predictors.")
def evaluation(context: dg.AssetExecutionContext, pipeline: PipelineParams) -> dg.MaterializeResult:
    params = pipeline.load()
    set_determinism(params.base.seed, params.base.num_threads)
    result = evaluate(params)
    for name, reason in result.stage.quarantined.items():
        context.log.warning(f"predictor {name} not evaluated: {reason}")
    return dg.MaterializeResult(
        metadata={
            "table": dg.MetadataValue.md(result.markdown),
            "plot": png_markdown(result.report_paths["png"], "accuracy per question type"),
            "mlflow_run_ids": dg.MetadataValue.json(result.run_ids),
            "overall": dg.MetadataValue.json({n: s["overall"].mean for n, s in result.summaries.items()}),
            "benchmark_questions": next(iter(result.summaries.values()))["overall"].n,
            "failed_questions": dg.MetadataValue.json(result.failures),
            "not_evaluated": dg.MetadataValue.json(result.stage.quarantined),
            "report_csv": dg.MetadataValue.path(str(result.report_paths["csv"])),
        }
    )
