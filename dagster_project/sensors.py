"""The automation that chains the jobs (``dagster_project.jobs``): new videos -> per-video runs -> one dataset rebuild.

* ``new_videos`` registers partitions for videos found on disk and requests per-video runs for every registered
  partition whose per-video assets were never materialized, whoever registered it (the ingest assets or the sensor
  itself): one run per batch of consecutive partitions (``FOURDPQA_PARTITIONS_PER_RUN``), so schedule and sensor
  cooperate and a batch of new videos costs a few runs, not one per video;
* ``dataset_rebuild`` requests one ``dataset_job`` run once new per-video results have landed (or videos were
  retired) and the batch is over: no run or backfill in flight, and every registered partition either materialized
  or attempted by a run that finished (a quarantined video does not hold the dataset back). A batch of new videos
  therefore gives exactly one dataset rebuild, after its last per-video run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import dagster as dg

from assets.partitions import partitions_per_run, videos
from assets.resources import PipelineParams
from dagster_project.jobs import PER_VIDEO, automation_on

LAST_PER_VIDEO = dg.AssetKey(PER_VIDEO[-1])  # qa_pairs: a partition is done when its QA table is materialized
IN_FLIGHT = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
             dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]
PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def _sensor_status() -> dg.DefaultSensorStatus:
    return dg.DefaultSensorStatus.RUNNING if automation_on() else dg.DefaultSensorStatus.STOPPED


def partitions_of(run: dg.DagsterRun, order: list[str]) -> set[str]:
    """The video partitions a run targets: its partition, or every partition of its range (in registration order)."""
    tags = run.tags
    if PARTITION_TAG in tags:
        return {tags[PARTITION_TAG]}
    if RANGE_START_TAG in tags and tags[RANGE_START_TAG] in order and tags.get(RANGE_END_TAG) in order:
        return set(order[order.index(tags[RANGE_START_TAG]):order.index(tags[RANGE_END_TAG]) + 1])
    return set()


def _runs(instance: dg.DagsterInstance, statuses: list[dg.DagsterRunStatus],
          job_name: str | None = None) -> list[dg.DagsterRun]:
    return list(instance.get_runs(filters=dg.RunsFilter(statuses=statuses, job_name=job_name)))


def batch_requests(pending: Iterable[str], order: list[str], size: int) -> list[dg.RunRequest]:
    """One run request per stretch of at most ``size`` pending partitions that are consecutive in ``order``."""
    chosen = set(pending)
    stretches: list[list[str]] = []
    previous = None
    for i, key in enumerate(order):
        if key not in chosen:
            continue
        if previous == i - 1 and len(stretches[-1]) < size:
            stretches[-1].append(key)
        else:
            stretches.append([key])
        previous = i
    return [dg.RunRequest(partition_key=s[0], run_key=f"new-videos-{s[0]}") if len(s) == 1 else
            dg.RunRequest(run_key=f"new-videos-{s[0]}...{s[-1]}",
                          tags={RANGE_START_TAG: s[0], RANGE_END_TAG: s[-1]}) for s in stretches]


def new_videos_sensor(per_video_job: dg.UnresolvedAssetJobDefinition) -> dg.SensorDefinition:
    @dg.sensor(job=per_video_job, minimum_interval_seconds=60, default_status=_sensor_status(),
               description="Registers a partition per new raw video and requests per-video runs (one per batch of "
                           "consecutive partitions) for the registered partitions not yet materialized.")
    def new_videos(context: dg.SensorEvaluationContext, pipeline: PipelineParams) -> dg.SensorResult:
        from fourdpqa.stages import standardize

        on_disk = standardize.list_raw_videos(pipeline.load())
        instance = context.instance
        order = list(instance.get_dynamic_partitions(videos.name))
        new = [i for i in on_disk if i not in set(order)]
        order += new
        done = instance.get_materialized_partitions(LAST_PER_VIDEO)
        running = set().union(*(partitions_of(r, order) for r in _runs(instance, IN_FLIGHT)))
        requested = set(json.loads(context.cursor)) if context.cursor else set()  # requested, not yet done
        pending = [i for i in on_disk if i not in done and i not in requested and i not in running]
        return dg.SensorResult(
            run_requests=batch_requests(pending, order, partitions_per_run()),
            dynamic_partitions_requests=[videos.build_add_request(new)] if new else [],
            cursor=json.dumps(sorted((requested | set(pending)) & set(on_disk) - done)),
        )

    return new_videos


def unfinished_partitions(instance: dg.DagsterInstance) -> set[str]:
    """Registered partitions whose per-video work is still to come: not materialized, and not attempted by a finished
    per-video run (a failed one included: its videos were quarantined and are reported, not awaited)."""
    order = list(instance.get_dynamic_partitions(videos.name))
    done = instance.get_materialized_partitions(LAST_PER_VIDEO)
    attempted = set().union(*(partitions_of(r, order) for r in _runs(instance, FINISHED, "per_video_job")))
    return set(order) - done - attempted


def dataset_rebuild_sensor(dataset_job: dg.UnresolvedAssetJobDefinition) -> dg.SensorDefinition:
    @dg.sensor(job=dataset_job, minimum_interval_seconds=60, default_status=_sensor_status(),
               description="One dataset_job run after a batch of per-video results (or retired videos), once every "
                           "run of the batch finished and no registered video awaits its per-video run.")
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
        busy = len(_runs(instance, IN_FLIGHT)) + len(instance.get_backfills(status=BulkActionStatus.REQUESTED))
        if busy:
            return dg.SkipReason(f"waiting for {busy} runs / backfills in flight")
        waiting = unfinished_partitions(instance)
        if waiting:
            return dg.SkipReason(f"waiting for the per-video runs of {len(waiting)} registered videos "
                                 f"(e.g. {sorted(waiting)[:3]})")
        return dg.SensorResult(
            run_requests=[dg.RunRequest(run_key=f"dataset-after-{storage_id}-{partitions}")],
            cursor=json.dumps({"storage_id": storage_id, "partitions": partitions}),
        )

    return dataset_rebuild
