"""learnability: the pixel probe's report (the learnability stage, after validate and off the critical path) with
its one non-blocking check, reported from the stage's ``report.json`` in the same step."""

from __future__ import annotations

import dagster as dg

from assets.explain import from_report
from assets.metadata import image_entries
from assets.resources import PipelineParams
from assets.runner import run_whole
from assets.validate import check_spec, to_dagster
from fourdpqa import layout
from fourdpqa.stages import learnability as stage
from fourdpqa.stages import stage_list
from fourdpqa.validate.learnability import CHECK

INFO = stage_list.get("learnability")


@dg.asset(name=INFO.assets[0], group_name=INFO.name, deps=stage_list.upstream_assets(INFO.name),
          check_specs=[check_spec(CHECK)],
          description="The pixel probe (a small video model trained from scratch) against the text-only predictors "
                      "and the optical-flow heuristic: data/learnability/report.json (+ learnability.png).")
def learnability_report(pipeline: PipelineParams) -> dg.MaterializeResult:
    params = pipeline.load()
    run_whole(stage.STAGE, params)
    where = layout.of(params)
    result = from_report(stage.read_report(where)["check"])
    plot = where.learnability_plot
    return dg.MaterializeResult(
        metadata={"passed": result.passed, "path": dg.MetadataValue.path(str(where.learnability_report)),
                  "learnable_categories": dg.MetadataValue.json(result.details.get("learnable_categories", [])),
                  **(image_entries("learnability", plot, "probe vs text", max_width=900) if plot.exists() else {})},
        check_results=[to_dagster(result, CHECK)])
