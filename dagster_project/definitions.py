"""The Dagster code location: every stage's assets (one group per stage), the dataset checks, jobs, sensor and
schedule. Built lazily from params.yaml (one ingest asset per enabled source) when Dagster loads the location."""

from __future__ import annotations

import dagster as dg

import assets.assemble
import assets.evaluate
import assets.generate
import assets.qa
import assets.review
import assets.standardize
import assets.tracks
import assets.train
import assets.validate
from assets.resources import PipelineParams
from dagster_project import executors, sensors
from fourdpqa.params import Params, load_params

STATIC_MODULES = [assets.generate, assets.tracks, assets.qa, assets.assemble, assets.validate, assets.review,
                  assets.train, assets.evaluate]


def build(params: Params, params_path: str = "params.yaml", executor: str | None = None) -> dg.Definitions:
    """Definitions for ``params`` (its sources decide the ingest assets); ``executor`` as in executors.executor."""
    ingest = [assets.standardize.ingest_key(s) for s in params.standardize.sources]
    ingest_job, per_video_job, dataset_job = sensors.jobs(ingest)
    return dg.Definitions(
        assets=[*dg.load_assets_from_modules(STATIC_MODULES), *assets.standardize.build(params)],
        asset_checks=[*assets.validate.DATASET_CHECKS, *assets.evaluate.EVALUATION_CHECKS],
        jobs=[ingest_job, per_video_job, dataset_job],
        sensors=[sensors.new_videos_sensor(per_video_job), sensors.dataset_rebuild_sensor(dataset_job)],
        schedules=[sensors.nightly_ingest(ingest_job)],
        resources={"pipeline": PipelineParams(params_path=params_path)},
        executor=executors.executor(executor),
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build(load_params("params.yaml"))
