"""Leftovers of a killed run (issue 25.18): the forkserver workers of ``--workers 2`` outlived their killed parent
(326 MB), and a training run resumed after a kill finished with the failure tag of the kill still on it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (read from /proc: children of children too)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parents.items() if pp == p and c not in found]
        found.update(kids)
        todo += kids
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_killing_a_pooled_run_leaves_no_worker_behind(tmp_path, ledger):
    data = tmp_path / "data"
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({
        "base": {"data_root": str(data), "allowed_roots": [str(data)], "device": "cpu", "num_threads": 1},
        "generate": {"n_videos": 6, "n_frames": 24, "width": 96, "height": 96, "max_objects": 4},
    }))
    proc = subprocess.Popen([sys.executable, "-m", "fourdpqa", "generate", "--workers", "2", "--params", str(params)],
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: set[int] = set()
    deadline = time.time() + 300
    while time.time() < deadline and len(workers) < 3 and proc.poll() is None:  # forkserver + 2 workers
        workers = _descendants(proc.pid)
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 20
    while time.time() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.2)
    left = sorted(p for p in workers if _alive(p))
    for p in left:  # do not leak them into the rest of the suite
        os.kill(p, signal.SIGKILL)
    handled = len(workers) >= 3 and not left
    ledger.record("generate", "SIGKILL of a --workers 2 run", handled=handled, lost=0)
    assert len(workers) >= 3, "the kill must land while the workers run"
    assert not left, f"processes left running: {left}"


def test_a_resumed_training_run_finishes_without_the_failure_of_its_kill(tmp_path, ledger):
    from mlflow.tracking import MlflowClient

    from fourdpqa.stages import mlflow_runs
    from tests.stages.test_mlflow_runs import _data

    params = _data(tmp_path, seed=4, max_steps=4, batch_size=2, checkpoint_every=2)
    uri = (tmp_path / "mlruns").as_uri()
    first = mlflow_runs.train_with_tracking(params, tracking_uri=uri, stop_after=3)
    client = MlflowClient(uri)
    # what close_stale_runs does to the run of a process killed after its step-2 checkpoint
    client.set_tag(first["mlflow_run_id"], "fourdpqa.failure", "process 1 ended without closing the run")
    client.set_terminated(first["mlflow_run_id"], status="FAILED")
    second = mlflow_runs.train_with_tracking(params, tracking_uri=uri)
    run = client.get_run(second["mlflow_run_id"])
    handled = (second["mlflow_run_id"] == first["mlflow_run_id"] and run.info.status == "FINISHED"
               and "fourdpqa.failure" not in run.data.tags and "ended without" in run.data.tags["fourdpqa.resumed_after"])
    ledger.record("train", "resumed run keeps the failure tag of its kill", handled=handled, lost=0)
    assert handled, (run.info.status, run.data.tags)
