"""The Dagster code location: every stage's assets (one group per stage), the dataset checks, jobs, sensors and
schedule. Built lazily from params.yaml (one ingest asset per enabled source) when Dagster loads the location."""

from __future__ import annotations

import os

import dagster as dg

import assets.assemble
import assets.evaluate
import assets.generate
import assets.learnability
import assets.qa
import assets.review
import assets.standardize
import assets.tracks
import assets.train
import assets.validate
from assets.resources import PipelineParams
from dagster_project import executors, jobs, sensors
from fourdpqa.params import Params, load_params

STATIC_MODULES = [assets.generate, assets.tracks, assets.qa, assets.assemble, assets.validate, assets.learnability,
                  assets.review, assets.train, assets.evaluate]
WORKERS_ENV = "FOURDPQA_WORKERS"  # processes per per-video step of a batch run (default 1)


def build(params: Params, params_path: str = "params.yaml", executor: str | None = None) -> dg.Definitions:
    """Definitions for ``params`` (its sources decide the ingest assets); ``executor`` as in executors.executor."""
    ingest = [assets.standardize.ingest_key(s) for s in params.standardize.sources]
    ingest_job, per_video_job, dataset_job = jobs.jobs(ingest, executor)
    workers = int(os.environ.get(WORKERS_ENV, "1"))
    return dg.Definitions(
        assets=[*dg.load_assets_from_modules(STATIC_MODULES), *assets.standardize.build(params)],
        asset_checks=[*assets.validate.DATASET_CHECKS, *assets.evaluate.EVALUATION_CHECKS],
        jobs=[ingest_job, per_video_job, dataset_job],
        sensors=[sensors.new_videos_sensor(per_video_job), sensors.dataset_rebuild_sensor(dataset_job)],
        schedules=[jobs.nightly_ingest(ingest_job)],
        resources={"pipeline": PipelineParams(params_path=params_path, workers=workers)},
        executor=executors.per_video_executor(executor),  # dataset_job names its own
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build(load_params("params.yaml"))
