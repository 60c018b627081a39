"""Ingest: the raw videos of every configured source, and the dynamic partitions they define."""


import dagster as dg

from dagster_project.partitions import videos
from dagster_project.resources import PipelineParams
from fourdpqa.stages import generate, standardize


@dg.asset(group_name="ingest", description="Raw source videos (the procedural source is rendered here).")
def raw_videos(context: dg.AssetExecutionContext, pipeline: PipelineParams) -> dg.MaterializeResult:
    params = pipeline.load()
    report = generate.run(params, None)
    ids = standardize.list_raw_videos(params)
    known = set(context.instance.get_dynamic_partitions(videos.name))
    new = [i for i in ids if i not in known]
    if new:
        context.instance.add_dynamic_partitions(videos.name, new)
    context.log.info(f"{len(ids)} raw videos, {len(new)} new partitions")
    return dg.MaterializeResult(
        metadata={
            "videos": len(ids),
            "new_partitions": len(new),
            "generated": len(report.done) if report else 0,
            "up_to_date": len(report.skipped) if report else 0,
        }
    )
