"""The executor is configuration (FOURDPQA_EXECUTOR): per-video partitions run under the multiprocess executor, and
the ingest job on a Dask cluster (an in-process dask.distributed.LocalCluster); both write exactly what a local CLI
run of the same stages writes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import dagster as dg
import pytest

import assets.standardize as standardize_assets
from assets.generate import procedural_videos
from assets.resources import PipelineParams
from dagster_project import executors
from fourdpqa.__main__ import main
from fourdpqa.params import load_params
from tests.helpers.params_file import TINY_RUN, write_params_file

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _job(name: str):  # noqa: ANN202 - a ReconstructableJob
    """The job as Dagster loads it in production: the code location module, params.yaml of the working folder."""
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    repo = ReconstructableRepository.for_module("dagster_project.definitions", "defs", working_directory=str(ROOT))
    return repo.get_reconstructable_job(name)


def _write(root: Path) -> Path:
    root.mkdir(parents=True)
    return write_params_file(root, TINY_RUN)


def _outputs(data: Path, subs: tuple[str, ...]) -> dict[str, str]:
    return {p.relative_to(data).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for sub in subs for p in sorted((data / sub).rglob("*"))
            if p.is_file() and "_manifest" not in p.parts and p.name != "_report.json"}


def _cli(root: Path, stages: tuple[str, ...]) -> Path:
    path = _write(root)
    for stage in stages:
        assert main([stage, "--params", str(path)]) == 0
    return root / "data"


def _instance(folder: Path) -> dg.DagsterInstance:
    folder.mkdir(parents=True)
    return dg.DagsterInstance.local_temp(str(folder))


def _configure(monkeypatch, path: Path, executor: str) -> None:
    monkeypatch.chdir(path.parent)  # where the code location finds params.yaml
    monkeypatch.setenv(executors.EXECUTOR_ENV, executor)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # step processes import the code location


def test_per_video_partitions_on_the_multiprocess_executor_equal_a_local_run(tmp_path, monkeypatch):
    local = _outputs(_cli(tmp_path / "local", ("generate", "standardize", "tracks", "qa")), ("scenes", "tracks", "qa"))
    path = _write(tmp_path / "dagster")
    instance = _instance(tmp_path / "instance")
    ingest, _ = standardize_assets.build(load_params(path))
    resources = {"pipeline": PipelineParams(params_path=str(path))}
    assert dg.materialize([procedural_videos, ingest], instance=instance, resources=resources).success
    _configure(monkeypatch, path, "multiprocess")
    for key in ("proc_00000",):
        result = dg.execute_job(_job("per_video_job"), instance=instance, tags={"dagster/partition": key})
        assert result.success
    assert local and _outputs(tmp_path / "dagster" / "data", ("scenes", "tracks", "qa")) == local


def test_ingest_job_on_a_dask_local_cluster_equals_a_local_run(tmp_path, monkeypatch):
    from distributed import LocalCluster

    local = _outputs(_cli(tmp_path / "local", ("generate",)), ("raw",))
    path = _write(tmp_path / "dask")
    _configure(monkeypatch, path, "dask")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        monkeypatch.setenv("FOURDPQA_DASK_SCHEDULER", cluster.scheduler_address)
        result = dg.execute_job(_job("ingest_job"), instance=_instance(tmp_path / "instance"))
    assert result.success
    assert local and _outputs(tmp_path / "dask" / "data", ("raw",)) == local


def test_unknown_executor_is_refused_by_name():
    with pytest.raises(ValueError, match="FOURDPQA_EXECUTOR='spark'"):
        executors.executor("spark")
