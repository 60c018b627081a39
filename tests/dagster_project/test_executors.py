"""The executor is configuration: with FOURDPQA_EXECUTOR=dask the per-video job runs its steps on a Dask cluster
(here an in-process dask.distributed.LocalCluster) and writes exactly what an in-process run writes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import dagster as dg
import pytest
import yaml

import assets.standardize as standardize_assets
from assets.generate import procedural_videos
from assets.resources import PipelineParams
from dagster_project import executors
from dagster_project.definitions import build
from fourdpqa.params import load_params

pytestmark = pytest.mark.slow
PARAMS_ENV = "FOURDPQA_TEST_PARAMS"


def per_video_job() -> dg.JobDefinition:
    """Reconstructable entry point (Dagster re-imports it where steps run): the job as the code location builds it."""
    path = os.environ[PARAMS_ENV]
    return build(load_params(path), path).get_job_def("per_video_job")


def _write(root: Path) -> Path:
    data = root / "data"
    path = root / "params.yaml"
    path.write_text(yaml.safe_dump({
        "base": {"data_root": str(data), "allowed_roots": [str(data)], "device": "cpu", "num_threads": 1},
        "generate": {"n_videos": 1, "n_frames": 8, "width": 32, "height": 32, "max_objects": 2},
        "standardize": {"sources": [{"name": "procedural", "kind": "kubric", "root": str(data / "raw" / "procedural")}]},
        "tracks": {"queries_per_video": 16},
        "qa": {"clip_frames": 8, "clips_per_video": 1, "questions_per_clip": 12},
    }))
    return path


def _outputs(data: Path) -> dict[str, str]:
    return {p.relative_to(data).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for sub in ("scenes", "tracks", "qa") for p in sorted((data / sub).rglob("*"))
            if p.is_file() and "_manifest" not in p.parts and p.name != "_report.json"}


def _instance(folder: Path) -> dg.DagsterInstance:
    folder.mkdir(parents=True)
    return dg.DagsterInstance.local_temp(str(folder))


def _run(root: Path, executor: str, monkeypatch, instance: dg.DagsterInstance) -> dict[str, str]:
    root.mkdir()
    path = _write(root)
    params = load_params(path)
    resources = {"pipeline": PipelineParams(params_path=str(path))}
    ingest, _ = standardize_assets.build(params)
    assert dg.materialize([procedural_videos, ingest], instance=instance, resources=resources).success
    monkeypatch.setenv(PARAMS_ENV, str(path))
    monkeypatch.setenv(executors.EXECUTOR_ENV, executor)
    result = dg.execute_job(dg.reconstructable(per_video_job), instance=instance,
                            tags={"dagster/partition": "proc_00000"})
    assert result.success
    return _outputs(root / "data")


def test_dask_local_cluster_run_equals_an_in_process_run(tmp_path, monkeypatch):
    from distributed import LocalCluster

    local = _run(tmp_path / "local", "in_process", monkeypatch, _instance(tmp_path / "i1"))
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        monkeypatch.setenv("FOURDPQA_DASK_SCHEDULER", cluster.scheduler_address)
        on_dask = _run(tmp_path / "dask", "dask", monkeypatch, _instance(tmp_path / "i2"))
    assert local and {k.split("/")[0] for k in local} == {"scenes", "tracks", "qa"}
    assert on_dask == local


def test_unknown_executor_is_refused_by_name():
    with pytest.raises(ValueError, match="FOURDPQA_EXECUTOR='spark'"):
        executors.executor("spark")
