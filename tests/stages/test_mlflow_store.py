"""The MLflow store travels with the data: its records hold proxied ``mlflow-artifacts:`` locations only, so a moved
copy keeps its runs and model, and a clone that gets the data through ``dvc pull`` serves the runs and the
registered model with a stock ``mlflow server`` (the ``make mlflow`` command)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import polars as pl
import pytest
import yaml

from fourdpqa.assemble import assemble
from fourdpqa.evaluate import make_samples
from fourdpqa.params import Params, TrainParams
from fourdpqa.predictors import build_predictor
from fourdpqa.stages import mlflow_runs, mlflow_store
from fourdpqa.stages.validate import dataset_stamp
from fourdpqa import layout
from fourdpqa.train import DEFAULT_EXPORT, read_conversations
from fourdpqa.vlm.runner import VLMRunner
from tests.helpers.dataset_data import toy_oracle, write_data_root
from tests.helpers.repo_copy import copy_repo
from tests.helpers.vlm_data import TINY_TRAIN, write_export

BIN = Path(sys.executable).parent
MODEL = f"models:/{mlflow_runs.REGISTERED_MODEL}/1"


@pytest.fixture(autouse=True)
def _project_store(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def _store_text(store: Path) -> str:
    """Every record of the store as text: the database's SQL dump and the text files among the artifacts."""
    with sqlite3.connect(store / mlflow_store.DATABASE) as db:
        dump = "\n".join(db.iterdump())
    files = [p.read_text(errors="ignore") for p in (store / mlflow_store.ARTIFACTS_DIR).rglob("*")
             if p.is_file() and p.suffix in ("", ".json", ".yaml", ".txt", ".md", ".jinja")]
    return "\n".join([dump, *files])


def test_proxied_uris_resolve_locally_for_a_sqlite_store_and_through_a_server_otherwise(tmp_path, monkeypatch):
    from mlflow.store.artifact.artifact_repository_registry import (
        get_artifact_repository, get_registered_artifact_repositories)
    from mlflow.store.artifact.mlflow_artifacts_repo import MlflowArtifactsRepository

    assert get_registered_artifact_repositories()["mlflow-artifacts"] is mlflow_store.artifact_repository  # plugin
    uri = "mlflow-artifacts:/1/abc/artifacts"
    local = get_artifact_repository(uri, tracking_uri=f"sqlite:///{tmp_path}/store/mlflow.db")
    assert Path(local.artifact_dir) == tmp_path / "store" / "mlartifacts" / "1" / "abc" / "artifacts"
    served = get_artifact_repository(uri, tracking_uri="http://127.0.0.1:5000")
    assert type(served) is MlflowArtifactsRepository
    assert served.artifact_uri == "http://127.0.0.1:5000/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts"
    monkeypatch.setenv(mlflow_store.SERVER_DESTINATION_ENV, str(tmp_path / "dest"))  # inside `mlflow server`
    assert Path(get_artifact_repository(uri, tracking_uri="sqlite:///x.db").artifact_dir) == \
        tmp_path / "dest" / "1" / "abc" / "artifacts"


def test_a_moved_data_root_keeps_its_runs_and_model_and_names_no_path(tmp_path):
    import mlflow

    made = tmp_path / "data"
    write_export(made / "dataset" / "exports").rename(made / DEFAULT_EXPORT)
    params = Params(base={"data_root": str(made), "seed": 3, "num_threads": 1},
                    train=TrainParams(**{**TINY_TRAIN, "batch_size": 2, "max_steps": 2}))
    first = mlflow_runs.train_with_tracking(params)  # default store: <data>/mlflow
    moved = tmp_path / "elsewhere" / "data"
    shutil.copytree(made, moved)
    shutil.rmtree(made)  # a record pointing at the old place would now fail
    store = mlflow_store.store_dir(moved)
    assert str(made) not in _store_text(store) and "mlflow-artifacts:/" in _store_text(store)

    client = mlflow.tracking.MlflowClient(mlflow_store.store_uri(moved))  # plain MLflow, no server
    run = client.get_run(first["mlflow_run_id"])
    assert run.info.artifact_uri.startswith(mlflow_store.PROXIED_ROOT)
    got = Path(client.download_artifacts(run.info.run_id, "trained_metrics.json", str(tmp_path / "dl")))
    assert got.read_bytes() == (moved / "models" / "trained_metrics.json").read_bytes()
    mlflow.set_tracking_uri(mlflow_store.store_uri(moved))
    (conv,) = [c for c in read_conversations(moved / DEFAULT_EXPORT) if c.frames][:1]
    answer = mlflow.pyfunc.load_model(MODEL).predict([{"frames": list(conv.frames), "prompt": conv.prompt}])
    runner = VLMRunner(moved / "models" / "trained", device="cpu")
    assert answer == runner.generate([(list(conv.frames), conv.prompt)], params.evaluate.max_new_tokens)

    again = params.model_copy(update={"base": params.base.model_copy(update={"data_root": str(moved)}),
                                      "train": params.train.model_copy(update={"lr": 2e-3})})
    second = mlflow_runs.train_with_tracking(again)  # a new run, written into the moved store
    exp_id = client.get_run(second["mlflow_run_id"]).info.experiment_id
    assert (store / mlflow_store.ARTIFACTS_DIR / exp_id / second["mlflow_run_id"] / "artifacts" /
            "trained_metrics.json").is_file()
    assert not made.exists()


# ------------------------------------------------------------------------------------------- through dvc and mlflow
def _run(repo: Path, *cmd: str | Path, timeout: int = 900) -> str:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "PYTHONPATH": str(repo)}
    proc = subprocess.run([str(c) for c in cmd], cwd=repo, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))}:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    return proc.stdout


def _repo(dst: Path) -> Path:
    """A git repository with the project's tracked files (no data) and a tiny configuration."""
    copy_repo(dst)
    params = yaml.safe_load((dst / "params.yaml").read_text())
    params["base"]["num_threads"] = 1
    params["qa"].update(out_width=32, out_height=32)
    params["assemble"].update(train_size=80, benchmark_size=40, export_mp4=False)
    params["train"].update({**TINY_TRAIN, "max_steps": 3, "batch_size": 2})
    params["evaluate"].update(predictors=["random", "trained"], batch_size=4, max_new_tokens=6)
    (dst / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    _run(dst, "git", "init", "-q")
    return dst


def _params(repo: Path, root: Path) -> Params:
    """The repository's params.yaml with the data root where the test stands (stages run inside the repo)."""
    values = yaml.safe_load((repo / "params.yaml").read_text())
    return Params.model_validate({**values, "base": {**values["base"], "data_root": str(root),
                                                     "allowed_roots": [str(root)]}})


def _assembled(repo: Path) -> None:
    """The inputs of train and evaluate (scenes, the assembled dataset, a passing validation report), as the
    upstream stages would publish them (those stages have their own tests)."""
    root = repo / "data"
    write_data_root(root, 4, per_type=4)
    params = _params(repo, root)
    assemble(params, oracle=toy_oracle)
    where = layout.of(params)
    where.validation_report.parent.mkdir(parents=True)
    where.validation_report.write_text(json.dumps({"dataset": dataset_stamp(where), "checks": [], "passed": True}))


def _serve(store: Path, port: int) -> subprocess.Popen:
    """``make mlflow``'s command on ``store`` (one worker; no GenAI job runner)."""
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    cmd = [BIN / "mlflow", "server", "--backend-store-uri", f"sqlite:///{store}/mlflow.db", "--artifacts-destination",
           f"{store}/mlartifacts", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    proc = subprocess.Popen([str(c) for c in cmd], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as resp:
                if resp.status == 200:
                    return proc
        except OSError:
            time.sleep(1)
    os.killpg(proc.pid, signal.SIGTERM)
    raise AssertionError("mlflow server did not answer within 300 s")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_a_dvc_pull_clone_serves_the_runs_and_the_registered_model(tmp_path):
    import mlflow

    repo = _repo(tmp_path / "repo")
    _assembled(repo)
    dvc = BIN / "dvc"
    _run(repo, dvc, "repro", "--single-item", "train", "evaluate")
    _run(repo, dvc, "remote", "add", "-d", "storage", tmp_path / "remote")
    _run(repo, dvc, "push", "train", "evaluate")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    _run(repo, *git, "add", "-A")
    _run(repo, *git, "commit", "-qm", "pipeline run")
    clone = tmp_path / "clone"
    _run(tmp_path, "git", "clone", "-q", repo, clone)
    assert not (clone / "data" / "mlflow").exists()
    _run(clone, dvc, "pull", "train", "evaluate")
    predictions = [json.loads(r) for r in (repo / "data/eval/predictions/trained.jsonl").read_text().splitlines()]
    dataset = shutil.copytree(repo / "data" / "dataset", tmp_path / "benchmark")  # the questions, as a user has them
    shutil.rmtree(repo / "data")  # the clone must not need the original's files

    port = _free_port()
    server = _serve(clone / "data" / "mlflow", port)
    try:
        client = mlflow.tracking.MlflowClient(f"http://127.0.0.1:{port}")
        (train,) = client.search_runs([client.get_experiment_by_name(mlflow_runs.TRAIN_EXPERIMENT).experiment_id])
        evaluation = client.search_runs([client.get_experiment_by_name(mlflow_runs.EVAL_EXPERIMENT).experiment_id])
        assert train.info.status == "FINISHED" and train.data.metrics["steps"] == 3
        assert {r.info.run_name for r in evaluation} >= {"random", "trained"}
        (trained_eval,) = [r for r in evaluation if r.info.run_name == "trained"]
        assert trained_eval.data.tags[mlflow_runs.TAG_TRAIN_RUN] == train.info.run_id
        (version,) = client.search_model_versions(f"name = '{mlflow_runs.REGISTERED_MODEL}'")
        assert version.run_id == train.info.run_id
        assert {a.path for a in client.list_artifacts(train.info.run_id)} >= {"trained_metrics.json"}

        mlflow.set_tracking_uri(f"http://127.0.0.1:{port}")
        model = mlflow.pyfunc.load_model(MODEL)  # downloaded through the server
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=120)
    params = _params(clone, clone / "data")
    bench = pl.read_parquet(dataset / "benchmark.parquet").sort("video_id", "id").head(1)
    answer = model.predict(bench.to_pandas(), params={"frames_root": str(dataset)})
    assert answer == build_predictor("trained", params).predict(make_samples(bench.to_dicts(), dataset))
    assert answer == [next(p["response"] for p in predictions if p["id"] == bench["id"][0])]  # as evaluate said
