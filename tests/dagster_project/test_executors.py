"""The executor is configuration (FOURDPQA_EXECUTOR): per-video partitions run one batch per run on this machine, and
on a real Dask cluster started as separate services (a ``dask scheduler`` and two ``dask worker`` processes); both
write exactly what a local CLI run of the same stages writes."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

import assets.standardize as standardize_assets
from assets.generate import procedural_videos
from assets.resources import PipelineParams
from dagster_project import executors, sensors
from fourdpqa.__main__ import main
from fourdpqa.params import load_params
from tests.helpers.params_file import TINY_RUN, write_params_file

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
PER_VIDEO = ("scenes", "tracks", "qa")
TWO_VIDEOS = {"generate": {**TINY_RUN["generate"], "n_videos": 2}}


def _job(name: str):  # noqa: ANN202 - a ReconstructableJob
    """The job as Dagster loads it in production: the code location module, params.yaml of the working folder."""
    from dagster._core.definitions.reconstruct import ReconstructableJob, ReconstructableRepository

    for cached in (ReconstructableJob.get_definition, ReconstructableJob.get_repository_definition):
        cached.cache_clear()  # the executor is read when the definitions load: load them under this test's setting
    repo = ReconstructableRepository.for_module("dagster_project.definitions", "defs", working_directory=str(ROOT))
    return repo.get_reconstructable_job(name)


def _write(root: Path) -> Path:
    root.mkdir(parents=True)
    return write_params_file(root, TINY_RUN, TWO_VIDEOS)


def _outputs(data: Path, subs: tuple[str, ...]) -> dict[str, str]:
    return {p.relative_to(data).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for sub in subs for p in sorted((data / sub).rglob("*"))
            if p.is_file() and "_manifest" not in p.parts and p.name != "_report.json"}


def _cli(root: Path, stages: tuple[str, ...]) -> Path:
    path = _write(root)
    for stage in stages:
        assert main([stage, "--params", str(path)]) == 0
    return root / "data"


def _ingested(path: Path, instance_dir: Path) -> dg.DagsterInstance:
    instance_dir.mkdir(parents=True)
    instance = dg.DagsterInstance.local_temp(str(instance_dir))
    ingest, _ = standardize_assets.build(load_params(path))
    resources = {"pipeline": PipelineParams(params_path=str(path))}
    assert dg.materialize([procedural_videos, ingest], instance=instance, resources=resources).success
    return instance


def _configure(monkeypatch, path: Path, executor: str) -> None:
    monkeypatch.chdir(path.parent)  # where the code location finds params.yaml
    monkeypatch.setenv(executors.EXECUTOR_ENV, executor)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # step processes import the code location


BATCH = {sensors.RANGE_START_TAG: "proc_00000", sensors.RANGE_END_TAG: "proc_00001"}


def _step_pids(instance: dg.DagsterInstance, run_id: str) -> set[int]:
    return {e.dagster_event.pid for e in instance.all_logs(run_id)
            if e.dagster_event and e.dagster_event.event_type_value == "STEP_SUCCESS"}


def test_a_batch_of_partitions_in_one_in_process_run_equals_a_local_run(tmp_path, monkeypatch):
    local = _outputs(_cli(tmp_path / "local", ("generate", "standardize", "tracks", "qa")), PER_VIDEO)
    path = _write(tmp_path / "dagster")
    instance = _ingested(path, tmp_path / "instance")
    _configure(monkeypatch, path, "multiprocess")
    result = dg.execute_job(_job("per_video_job"), instance=instance, tags=BATCH)
    assert result.success
    assert _step_pids(instance, result.run_id) == {os.getpid()}  # every step in the run's process
    assert instance.get_materialized_partitions(dg.AssetKey("qa_pairs")) == {"proc_00000", "proc_00001"}
    assert local and _outputs(tmp_path / "dagster" / "data", PER_VIDEO) == local
    again = dg.execute_job(_job("per_video_job"), instance=instance, tags={"dagster/partition": "proc_00001"})
    meta = again.asset_materializations_for_node("qa_pairs")[0].metadata
    assert again.success and meta["status"].value == "skipped"  # up to date: nothing redone


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dask_cluster(tmp_path):
    """A Dask scheduler and two workers, each its own process started from the command line as on a cluster; the
    workers run in the folder that holds params.yaml (on a cluster: the shared checkout)."""
    from distributed import Client

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    folder = tmp_path / "dask"
    folder.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    dask = str(Path(sys.executable).with_name("dask"))
    logs = [open(tmp_path / f"dask-{i}.log", "wb") for i in range(3)]  # noqa: SIM115 - closed below
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              cwd=folder, env=env, stdout=logs[0], stderr=subprocess.STDOUT)]
    try:
        time.sleep(1)
        procs += [subprocess.Popen([dask, "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
                                    "--name", f"w{i}"], cwd=folder, env=env, stdout=logs[i], stderr=subprocess.STDOUT)
                  for i in (1, 2)]
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
            pids = set(client.run(os.getpid).values())
        yield address, folder, pids
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
        for f in logs:
            f.close()


def test_per_video_partitions_on_a_dask_cluster_of_separate_services_equal_a_local_run(tmp_path, monkeypatch,
                                                                                       dask_cluster):
    address, folder, worker_pids = dask_cluster
    local = _outputs(_cli(tmp_path / "local", ("generate", "standardize", "tracks", "qa")), PER_VIDEO)
    path = write_params_file(folder, TINY_RUN, TWO_VIDEOS)
    instance = _ingested(path, tmp_path / "instance")
    _configure(monkeypatch, path, "dask")
    monkeypatch.setenv(executors.DASK_SCHEDULER_ENV, address)
    ran_on: set[int] = set()
    for tags in ({"dagster/partition": "proc_00000"}, {"dagster/partition": "proc_00001"}, BATCH):
        result = dg.execute_job(_job("per_video_job"), instance=instance, tags=tags)
        assert result.success
        ran_on |= _step_pids(instance, result.run_id)
    assert ran_on and ran_on <= worker_pids  # every step ran in a worker process, none here
    assert local and _outputs(folder / "data", PER_VIDEO) == local


def test_unknown_executor_is_refused_by_name():
    with pytest.raises(ValueError, match="FOURDPQA_EXECUTOR='spark'"):
        executors.executor("spark")
