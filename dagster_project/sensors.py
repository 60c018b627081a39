"""New source videos become partitions and runs; a nightly schedule re-ingests the sources."""

from __future__ import annotations

import dagster as dg

from assets.partitions import videos
from assets.resources import PipelineParams
from fourdpqa.stages import stage_list

PER_VIDEO = [a for info in stage_list.pipeline() if info.per_video and info.name != "generate" for a in info.assets]
DATASET = [a for info in stage_list.pipeline() if not info.per_video for a in info.assets]


def jobs(ingest_keys: list[str]) -> tuple[dg.UnresolvedAssetJobDefinition, ...]:
    """(ingest_job, per_video_job, dataset_job)."""
    ingest = dg.define_asset_job("ingest_job", selection=dg.AssetSelection.assets(
        *stage_list.get("generate").assets, *ingest_keys))
    per_video = dg.define_asset_job("per_video_job", selection=dg.AssetSelection.assets(*PER_VIDEO))
    dataset = dg.define_asset_job("dataset_job", selection=dg.AssetSelection.assets(*DATASET))
    return ingest, per_video, dataset


def new_videos_sensor(per_video_job: dg.UnresolvedAssetJobDefinition) -> dg.SensorDefinition:
    @dg.sensor(job=per_video_job, minimum_interval_seconds=60, description="Adds a partition per new raw video.")
    def new_videos(context: dg.SensorEvaluationContext, pipeline: PipelineParams) -> dg.SensorResult:
        from fourdpqa.stages import standardize

        ids = standardize.list_raw_videos(pipeline.load())
        known = set(context.instance.get_dynamic_partitions(videos.name))
        new = [i for i in ids if i not in known]
        return dg.SensorResult(
            run_requests=[dg.RunRequest(partition_key=i, run_key=f"new-video-{i}") for i in new],
            dynamic_partitions_requests=[videos.build_add_request(new)] if new else [],
            cursor=str(len(ids)),
        )

    return new_videos


def nightly_ingest(ingest_job: dg.UnresolvedAssetJobDefinition) -> dg.ScheduleDefinition:
    """Re-ingests nightly (re-rendering the procedural source when params change); the sensor then fans out."""
    return dg.ScheduleDefinition(job=ingest_job, cron_schedule="0 3 * * *", name="nightly_ingest")
