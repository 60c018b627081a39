"""generate: the procedural source rendered into Kubric worker folders (up-to-date videos are skipped)."""

import dagster as dg

from assets.resources import PipelineParams
from assets.runner import report_metadata, run_whole
from fourdpqa import layout
from fourdpqa.stages import generate, stage_list

INFO = stage_list.get("generate")


@dg.asset(name=INFO.assets[0], group_name=INFO.name,
          description="The procedural (Kubric-like) source videos: data/raw/procedural/<video_id>/.")
def procedural_videos(pipeline: PipelineParams) -> dg.MaterializeResult:
    params = pipeline.load()
    report = run_whole(generate.STAGE, params)
    return dg.MaterializeResult(metadata={
        **report_metadata(report), "path": dg.MetadataValue.path(str(layout.of(params).raw(generate.SOURCE)))})
