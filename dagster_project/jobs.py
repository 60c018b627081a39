"""Jobs shaped like the data, the nightly schedule, and the switch that starts automation.

* ``ingest_job`` renders / lists the sources and registers a partition per video (the nightly schedule runs it);
* ``per_video_job`` runs the per-video assets of one partition or of a range of partitions (a batch: one run, one
  step per asset over all of its videos); its steps run in the run's own process by default (they form a chain,
  so separate step processes would only add start-up), on the cluster with ``FOURDPQA_EXECUTOR=dask`` / ``k8s``;
* ``dataset_job`` builds the dataset-level assets once for all partitions (assemble, validation, review, train,
  evaluate), each step in its own process (review beside training).

Any other selection (``dagster asset materialize``, "Materialize" in the UI) runs like a per-video run.

Sensors and schedule start stopped unless ``FOURDPQA_AUTOMATION=on`` (``make ui AUTOMATION=on``).
"""

from __future__ import annotations

import os

import dagster as dg

from dagster_project import executors
from fourdpqa.stages import stage_list

PER_VIDEO = [a for info in stage_list.pipeline() if info.per_video and info.name != "generate" for a in info.assets]
DATASET = [a for info in stage_list.pipeline() if not info.per_video for a in info.assets]
AUTOMATION_ENV = "FOURDPQA_AUTOMATION"


def automation_on() -> bool:
    """Whether sensors and schedule start running (``FOURDPQA_AUTOMATION``: ``on`` / ``off``, default off)."""
    value = os.environ.get(AUTOMATION_ENV, "off").strip().lower()
    if value not in ("on", "off"):
        raise ValueError(f"{AUTOMATION_ENV}={value!r}: expected 'on' or 'off'")
    return value == "on"


def jobs(ingest_keys: list[str], executor: str | None = None) -> tuple[dg.UnresolvedAssetJobDefinition, ...]:
    """(ingest_job, per_video_job, dataset_job); ``executor`` as in :func:`executors.executor`."""
    ingest = dg.define_asset_job(
        "ingest_job", selection=dg.AssetSelection.assets(*stage_list.get("generate").assets, *ingest_keys),
        description="Render the procedural source and list every enabled source: registers one partition per new "
                    "video and retires the partitions (and per-video outputs) of videos that disappeared.")
    per_video = dg.define_asset_job(
        "per_video_job", selection=dg.AssetSelection.assets(*PER_VIDEO),
        executor_def=executors.per_video_executor(executor),
        description="Standard scene, point tracks and QA of one video partition, or of a range of partitions in one "
                    "run (a backfill makes one run per batch of partitions). Up-to-date videos are skipped.")
    dataset = dg.define_asset_job(
        "dataset_job", selection=dg.AssetSelection.assets(*DATASET), executor_def=executors.executor(executor),
        description="Once for all partitions: assemble the training set and benchmark, validate them (report and "
                    "asset checks), the review page, fine-tune the VLM and evaluate every predictor.")
    return ingest, per_video, dataset


def nightly_ingest(ingest_job: dg.UnresolvedAssetJobDefinition) -> dg.ScheduleDefinition:
    """Re-ingests nightly (re-rendering the procedural source when params change); ``new_videos`` then requests
    the runs of the partitions the ingest registered, and ``dataset_rebuild`` the dataset once they finished."""
    status = dg.DefaultScheduleStatus.RUNNING if automation_on() else dg.DefaultScheduleStatus.STOPPED
    return dg.ScheduleDefinition(job=ingest_job, cron_schedule="0 3 * * *", name="nightly_ingest",
                                 default_status=status,
                                 description="03:00 every night: ingest_job (new videos then flow through the sensors).")
