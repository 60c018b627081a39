"""New source directories become partitions and runs; a nightly schedule re-ingests the sources."""


import dagster as dg

from dagster_project.partitions import videos
from dagster_project.resources import PipelineParams
from fourdpqa.stages import standardize

per_video_job = dg.define_asset_job(
    "per_video_job", selection=dg.AssetSelection.assets("standard_scenes").downstream()
)
ingest_job = dg.define_asset_job("ingest_job", selection=dg.AssetSelection.assets("raw_videos"))
# Dataset-level assets (unpartitioned): assemble -> checks -> review, train, evaluate.
dataset_job = dg.define_asset_job(
    "dataset_job", selection=dg.AssetSelection.assets("training_set", "benchmark").downstream()
)


@dg.sensor(job=per_video_job, minimum_interval_seconds=60, description="Adds a partition per new raw video.")
def new_videos_sensor(context: dg.SensorEvaluationContext, pipeline: PipelineParams) -> dg.SensorResult:
    ids = standardize.list_raw_videos(pipeline.load())
    known = set(context.instance.get_dynamic_partitions(videos.name))
    new = [i for i in ids if i not in known]
    return dg.SensorResult(
        run_requests=[dg.RunRequest(partition_key=i, run_key=f"new-video-{i}") for i in new],
        dynamic_partitions_requests=[videos.build_add_request(new)] if new else [],
        cursor=str(len(ids)),
    )


# The schedule re-ingests (regenerating the procedural source when params change); the sensor then fans out.
nightly_ingest = dg.ScheduleDefinition(job=ingest_job, cron_schedule="0 3 * * *", name="nightly_ingest")
