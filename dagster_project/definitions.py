"""The Dagster code location: every stage's assets, the validation checks, jobs, sensor and schedule."""

import dagster as dg

import assets.assemble
import assets.evaluate
import assets.generate
import assets.standardize
import assets.qa
import assets.review
import assets.tracks
import assets.train
from dagster_project.checks import DATASET_CHECKS
from dagster_project.resources import PipelineParams
from dagster_project.sensors import dataset_job, ingest_job, new_videos_sensor, nightly_ingest, per_video_job

ASSET_MODULES = [assets.generate, assets.standardize, assets.tracks, assets.qa, assets.assemble, assets.review, assets.train, assets.evaluate]

defs = dg.Definitions(
    assets=dg.load_assets_from_modules(ASSET_MODULES),
    asset_checks=DATASET_CHECKS,
    jobs=[ingest_job, per_video_job, dataset_job],
    sensors=[new_videos_sensor],
    schedules=[nightly_ingest],
    resources={"pipeline": PipelineParams()},
)
