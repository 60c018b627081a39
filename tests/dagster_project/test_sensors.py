"""Automation shaped like the data: a new video gives exactly one per-video run whoever registered its partition
(the sensor, or the ingest assets the nightly schedule runs), and once its QA landed exactly one dataset_job run;
nothing is requested twice, nothing while runs are in flight, and sensors / schedule start running on request."""

from __future__ import annotations

import dagster as dg
import pytest

import assets.standardize as standardize_assets
from assets.generate import procedural_videos
from assets.partitions import videos
from assets.resources import PipelineParams
from dagster_project import jobs, sensors
from dagster_project.definitions import build
from fourdpqa.params import load_params
from tests.dagster_project.test_definitions import tiny_params
from tests.helpers.params_file import write_params_file


def _targets(request: dg.RunRequest) -> tuple[str, ...]:
    """The partition of a run request, or the (start, end) of its partition range."""
    if request.partition_key:
        return (request.partition_key,)
    return request.tags[sensors.RANGE_START_TAG], request.tags[sensors.RANGE_END_TAG]


def _tick(repo: dg.RepositoryDefinition, name: str, instance: dg.DagsterInstance, resources: dict,
          cursor: str | None) -> dg.SensorResult:
    ctx = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources)
    result = repo.get_sensor_def(name)(ctx)
    return result if isinstance(result, dg.SensorResult) else dg.SensorResult(skip_reason=result)


@pytest.fixture
def setup(tmp_path):
    params_file = tiny_params(tmp_path)
    resources = {"pipeline": PipelineParams(params_path=str(params_file))}
    instance = dg.DagsterInstance.ephemeral()
    repo = build(load_params(params_file), str(params_file)).get_repository_def()
    return repo, instance, resources, params_file


def test_sensor_adds_partitions_for_new_videos(setup):
    repo, instance, resources, _ = setup
    dg.materialize([procedural_videos], instance=dg.DagsterInstance.ephemeral(), resources=resources)
    result = _tick(repo, "new_videos", instance, resources, None)
    assert [_targets(r) for r in result.run_requests] == [("proc_00000", "proc_00001")]  # one run for the batch
    assert result.dynamic_partitions_requests[0].partition_keys == ["proc_00000", "proc_00001"]
    instance.add_dynamic_partitions(videos.name, ["proc_00000", "proc_00001"])
    assert not _tick(repo, "new_videos", instance, resources, result.cursor).run_requests  # asked once


def test_ingested_videos_get_one_per_video_run_each_then_one_dataset_run(setup):
    repo, instance, resources, params_file = setup
    ingest, _ = standardize_assets.build(load_params(params_file))
    # the nightly schedule's job: the ingest assets register the partitions themselves
    assert dg.materialize([procedural_videos, ingest], instance=instance, resources=resources).success
    first = _tick(repo, "new_videos", instance, resources, None)
    assert [(_targets(r), r.job_name) for r in first.run_requests] == [(("proc_00000", "proc_00001"), None)]
    assert not first.dynamic_partitions_requests  # already registered
    assert repo.get_sensor_def("new_videos").job_name == "per_video_job"
    assert not _tick(repo, "new_videos", instance, resources, first.cursor).run_requests

    waiting = _tick(repo, "dataset_rebuild", instance, resources, None)
    assert not waiting.run_requests and "no new per-video results" in waiting.skip_reason.skip_message
    run = instance.add_run(dg.DagsterRun(job_name="per_video_job", status=dg.DagsterRunStatus.STARTED,
                                         tags={"dagster/partition": "proc_00001"}))
    instance.report_runless_asset_event(dg.AssetMaterialization("qa_pairs", partition="proc_00000"))
    busy = _tick(repo, "dataset_rebuild", instance, resources, waiting.cursor)
    assert not busy.run_requests and "waiting for 1 runs" in busy.skip_reason.skip_message
    # even without its cursor, the sensor asks nothing for a materialized partition or one with a run in flight
    assert not _tick(repo, "new_videos", instance, resources, None).run_requests

    instance.report_runless_asset_event(dg.AssetMaterialization("qa_pairs", partition="proc_00001"))
    instance.report_run_failed(run)  # the batch's last run is over
    rebuild = _tick(repo, "dataset_rebuild", instance, resources, waiting.cursor)  # a skip keeps the cursor
    assert len(rebuild.run_requests) == 1 and repo.get_sensor_def("dataset_rebuild").job_name == "dataset_job"
    assert not _tick(repo, "dataset_rebuild", instance, resources, rebuild.cursor).run_requests
    assert not _tick(repo, "new_videos", instance, resources, first.cursor).run_requests  # both done

    instance.delete_dynamic_partition(videos.name, "proc_00001")  # a retired video: the dataset shrinks once
    again = _tick(repo, "dataset_rebuild", instance, resources, rebuild.cursor)
    assert len(again.run_requests) == 1
    assert not _tick(repo, "dataset_rebuild", instance, resources, again.cursor).run_requests


def test_automation_switch_starts_sensors_and_schedule(setup, monkeypatch):
    _, _, _, params_file = setup
    monkeypatch.setenv(jobs.AUTOMATION_ENV, "on")
    repo = build(load_params(params_file), str(params_file)).get_repository_def()
    assert {s.name: s.default_status for s in repo.sensor_defs} == {
        "new_videos": dg.DefaultSensorStatus.RUNNING, "dataset_rebuild": dg.DefaultSensorStatus.RUNNING}
    assert repo.get_schedule_def("nightly_ingest").default_status == dg.DefaultScheduleStatus.RUNNING
    monkeypatch.delenv(jobs.AUTOMATION_ENV)
    repo = build(load_params(params_file), str(params_file)).get_repository_def()
    assert repo.get_schedule_def("nightly_ingest").default_status == dg.DefaultScheduleStatus.STOPPED
    monkeypatch.setenv(jobs.AUTOMATION_ENV, "yes please")
    with pytest.raises(ValueError, match="FOURDPQA_AUTOMATION='yes please'"):
        build(load_params(params_file), str(params_file))


def test_a_batch_of_eleven_videos_gives_one_dataset_rebuild_after_its_last_run(tmp_path, monkeypatch):
    """The issue-26 race: with an earlier per-video result on record, the ingest registers 11 partitions and
    dataset_rebuild ticks before new_videos has queued their runs; it must wait for every run of the batch."""
    monkeypatch.setenv("FOURDPQA_PARTITIONS_PER_RUN", "4")
    params_file = write_params_file(tmp_path, generate={"n_videos": 11, "n_frames": 4, "width": 32, "height": 32,
                                                        "max_objects": 2})
    resources = {"pipeline": PipelineParams(params_path=str(params_file))}
    instance = dg.DagsterInstance.ephemeral()
    repo = build(load_params(params_file), str(params_file)).get_repository_def()
    instance.add_dynamic_partitions(videos.name, ["old_video"])
    instance.report_runless_asset_event(dg.AssetMaterialization("qa_pairs", partition="old_video"))
    ingest, _ = standardize_assets.build(load_params(params_file))
    assert dg.materialize([procedural_videos, ingest], instance=instance, resources=resources).success
    assert len(instance.get_dynamic_partitions(videos.name)) == 11  # old_video retired: not on disk

    early = _tick(repo, "dataset_rebuild", instance, resources, None)  # before any per-video run was queued
    assert not early.run_requests and "waiting for the per-video runs of 11" in early.skip_reason.skip_message
    requested = _tick(repo, "new_videos", instance, resources, None)
    batches = [_targets(r) for r in requested.run_requests]
    assert batches == [("proc_00000", "proc_00003"), ("proc_00004", "proc_00007"), ("proc_00008", "proc_00010")]
    runs = [instance.add_run(dg.DagsterRun(job_name="per_video_job", status=dg.DagsterRunStatus.STARTED,
                                           tags=dict(r.tags))) for r in requested.run_requests]
    keys = [f"proc_{i:05d}" for i in range(11)]
    cursor = early.cursor
    for i, key in enumerate(keys[:10]):  # results land run by run; the last run fails on its last video
        instance.report_runless_asset_event(dg.AssetMaterialization("qa_pairs", partition=key))
        tick = _tick(repo, "dataset_rebuild", instance, resources, cursor)
        assert not tick.run_requests, f"a dataset rebuild after {i + 1} of 11 videos"
        cursor = tick.cursor or cursor
    for run in runs[:-1]:
        instance.report_dagster_event(dg.DagsterEvent(event_type_value="PIPELINE_SUCCESS", job_name="per_video_job"),
                                      run_id=run.run_id)
        assert not _tick(repo, "dataset_rebuild", instance, resources, cursor).run_requests  # one run still going
    instance.report_run_failed(runs[-1])  # proc_00010 was quarantined: reported, not awaited
    rebuild = _tick(repo, "dataset_rebuild", instance, resources, cursor)
    assert len(rebuild.run_requests) == 1
    assert not _tick(repo, "dataset_rebuild", instance, resources, rebuild.cursor).run_requests
