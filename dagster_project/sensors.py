"""Jobs shaped like the data, and the automation that chains them.

* ``ingest_job`` renders / lists the sources and registers a partition per video (the nightly schedule runs it);
* ``new_videos`` (sensor) registers partitions for videos found on disk and requests one ``per_video_job`` run for
  every registered partition whose per-video assets were never materialized, whoever registered it (the ingest
  assets or the sensor itself), so schedule and sensor cooperate;
* ``dataset_rebuild`` (sensor) requests one ``dataset_job`` run once per-video results have landed (or videos were
  retired) and no run or backfill is in flight: a batch of 24 new partitions gives one dataset rebuild, not 24.

Sensors and schedule start stopped unless ``FOURDPQA_AUTOMATION=on`` (``make ui AUTOMATION=on``).
"""

from __future__ import annotations

import json
import os

import dagster as dg

from assets.partitions import videos
from assets.resources import PipelineParams
from fourdpqa.stages import stage_list

PER_VIDEO = [a for info in stage_list.pipeline() if info.per_video and info.name != "generate" for a in info.assets]
DATASET = [a for info in stage_list.pipeline() if not info.per_video for a in info.assets]
LAST_PER_VIDEO = dg.AssetKey(PER_VIDEO[-1])  # qa_pairs: a partition is done when its QA table is materialized
AUTOMATION_ENV = "FOURDPQA_AUTOMATION"
IN_FLIGHT = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
             dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
PARTITION_TAG = "dagster/partition"


def jobs(ingest_keys: list[str]) -> tuple[dg.UnresolvedAssetJobDefinition, ...]:
    """(ingest_job, per_video_job, dataset_job)."""
    ingest = dg.define_asset_job("ingest_job", selection=dg.AssetSelection.assets(
        *stage_list.get("generate").assets, *ingest_keys))
    per_video = dg.define_asset_job("per_video_job", selection=dg.AssetSelection.assets(*PER_VIDEO))
    dataset = dg.define_asset_job("dataset_job", selection=dg.AssetSelection.assets(*DATASET))
    return ingest, per_video, dataset


def automation_on() -> bool:
    """Whether sensors and schedule start running (``FOURDPQA_AUTOMATION``: ``on`` / ``off``, default off)."""
    value = os.environ.get(AUTOMATION_ENV, "off").strip().lower()
    if value not in ("on", "off"):
        raise ValueError(f"{AUTOMATION_ENV}={value!r}: expected 'on' or 'off'")
    return value == "on"


def _sensor_status() -> dg.DefaultSensorStatus:
    return dg.DefaultSensorStatus.RUNNING if automation_on() else dg.DefaultSensorStatus.STOPPED


def _in_flight(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    return list(instance.get_runs(filters=dg.RunsFilter(statuses=IN_FLIGHT)))


def new_videos_sensor(per_video_job: dg.UnresolvedAssetJobDefinition) -> dg.SensorDefinition:
    @dg.sensor(job=per_video_job, minimum_interval_seconds=60, default_status=_sensor_status(),
               description="Registers a partition per new raw video and requests one per-video run for each "
                           "registered partition not yet materialized.")
    def new_videos(context: dg.SensorEvaluationContext, pipeline: PipelineParams) -> dg.SensorResult:
        from fourdpqa.stages import standardize

        on_disk = standardize.list_raw_videos(pipeline.load())
        instance = context.instance
        known = set(instance.get_dynamic_partitions(videos.name))
        new = [i for i in on_disk if i not in known]
        done = instance.get_materialized_partitions(LAST_PER_VIDEO)
        running = {r.tags.get(PARTITION_TAG) for r in _in_flight(instance)}
        requested = set(json.loads(context.cursor)) if context.cursor else set()  # requested, not yet done
        pending = [i for i in on_disk if i not in done and i not in requested and i not in running]
        return dg.SensorResult(
            run_requests=[dg.RunRequest(partition_key=i, run_key=f"new-video-{i}") for i in pending],
            dynamic_partitions_requests=[videos.build_add_request(new)] if new else [],
            cursor=json.dumps(sorted((requested | set(pending)) & set(on_disk) - done)),
        )

    return new_videos


def dataset_rebuild_sensor(dataset_job: dg.UnresolvedAssetJobDefinition) -> dg.SensorDefinition:
    @dg.sensor(job=dataset_job, minimum_interval_seconds=60, default_status=_sensor_status(),
               description="One dataset_job run after new per-video results (or retired videos), once no run or "
                           "backfill is in flight.")
    def dataset_rebuild(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        """Cursor: the storage id of the newest per-video result acted on and the partition count seen."""
        from dagster._core.execution.backfill import BulkActionStatus

        instance = context.instance
        seen = json.loads(context.cursor) if context.cursor else {"storage_id": -1, "partitions": None}
        latest = instance.fetch_materializations(LAST_PER_VIDEO, limit=1).records
        storage_id = latest[0].storage_id if latest else -1
        partitions = len(instance.get_dynamic_partitions(videos.name))
        retired = seen["partitions"] is not None and partitions < seen["partitions"]
        if storage_id <= seen["storage_id"] and not retired:  # remember the count: a later retirement shows
            return dg.SensorResult(skip_reason="no new per-video results since the last dataset request",
                                   cursor=json.dumps({**seen, "partitions": partitions}))
        busy = len(_in_flight(instance)) + len(instance.get_backfills(status=BulkActionStatus.REQUESTED))
        if busy:
            return dg.SkipReason(f"waiting for {busy} runs / backfills in flight")
        return dg.SensorResult(
            run_requests=[dg.RunRequest(run_key=f"dataset-after-{storage_id}-{partitions}")],
            cursor=json.dumps({"storage_id": storage_id, "partitions": partitions}),
        )

    return dataset_rebuild


def nightly_ingest(ingest_job: dg.UnresolvedAssetJobDefinition) -> dg.ScheduleDefinition:
    """Re-ingests nightly (re-rendering the procedural source when params change); ``new_videos`` then requests
    the runs of the partitions the ingest registered, and ``dataset_rebuild`` the dataset once they landed."""
    status = dg.DefaultScheduleStatus.RUNNING if automation_on() else dg.DefaultScheduleStatus.STOPPED
    return dg.ScheduleDefinition(job=ingest_job, cron_schedule="0 3 * * *", name="nightly_ingest",
                                 default_status=status)
