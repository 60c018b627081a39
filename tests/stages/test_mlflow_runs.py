"""MLflow records of the drivers: dataset input, per-step curve, the logged and registered model, resume without
duplicate steps, runs of killed processes closed as FAILED, nested evaluation runs."""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from tests.helpers.vlm_data import TINY_TRAIN as TINY, write_export

from fourdpqa.params import Params, TrainParams
from fourdpqa.stages import mlflow_runs
from fourdpqa.stages import train as train_stage
from fourdpqa.train import DEFAULT_EXPORT, read_conversations
from fourdpqa.vlm.runner import VLMRunner

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _local_store(monkeypatch):
    """Each test decides its own store (the helpers' shells export MLFLOW_TRACKING_URI)."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")


def _client(uri: str):
    import mlflow

    return mlflow.tracking.MlflowClient(tracking_uri=uri)


def _data(tmp_path: Path, seed: int = 3, **train) -> Params:
    root = tmp_path / "data"
    write_export(root / "dataset" / "exports").rename(root / DEFAULT_EXPORT)
    return Params(base={"data_root": str(root), "seed": seed, "num_threads": 1},
                  train=TrainParams(**{**TINY, "batch_size": 4, "lr": 1e-2, **train}))


def _runs(uri: str, experiment: str) -> list:
    client = _client(uri)
    exp = client.get_experiment_by_name(experiment)
    return client.search_runs([exp.experiment_id], order_by=["attributes.start_time ASC"])


def test_training_run_holds_dataset_curve_and_registered_model(tmp_path):
    import mlflow

    params = _data(tmp_path, max_steps=40, checkpoint_every=20)
    root = params.data
    uri = (tmp_path / "mlruns").as_uri()
    train_stage.run(params, argparse.Namespace(export=None, name="trained", tracking_uri=uri))
    metrics = json.loads((root / "metrics" / "train.json").read_text())  # what dvc metrics shows
    losses = [float(r.split(",")[1]) for r in (root / "plots" / "train_loss.csv").read_text().splitlines()[1:]]
    assert metrics["steps"] == 40 and metrics["final_loss"] == pytest.approx(losses[-1], rel=1e-5)
    (run,) = _runs(uri, mlflow_runs.TRAIN_EXPERIMENT)
    client = _client(uri)
    fp = json.loads((root / "models" / "trained" / "fourdpqa_vlm.json").read_text())["fingerprint"]
    assert run.info.run_name == f"trained-{fp[:8]}" and run.data.tags[mlflow_runs.TAG_FINGERPRINT] == fp
    assert run.data.params["train.max_steps"] == "40" and run.data.params["data"] == DEFAULT_EXPORT
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in history] == list(range(1, 41))
    np.testing.assert_allclose([m.value for m in history], losses, rtol=1e-5)  # the dvc plots data: same curve
    # the training set is a dataset input whose digest is the export's content hash
    (inp,) = run.inputs.dataset_inputs
    export_hash = hashlib.sha256((root / DEFAULT_EXPORT).read_bytes()).hexdigest()[:16]
    assert inp.dataset.digest == export_hash and inp.dataset.source_type == "local"
    assert json.loads(inp.dataset.source)["uri"] == DEFAULT_EXPORT
    assert {t.key: t.value for t in inp.tags}["mlflow.data.context"] == "training"
    assert json.loads(inp.dataset.profile)["num_rows"] == 4
    assert {a.path for a in client.list_artifacts(run.info.run_id)} >= {"trained_metrics.json", "trained_loss.png"}
    # the model is logged in the transformers flavour, registered, and answers like the model on disk
    (version,) = client.search_model_versions(f"name = '{mlflow_runs.REGISTERED_MODEL}'")
    assert version.run_id == run.info.run_id
    mlflow.set_tracking_uri(uri)
    components = mlflow.transformers.load_model(f"models:/{mlflow_runs.REGISTERED_MODEL}/1", return_type="components")
    assert components["task"] == "image-text-to-text"
    local = mlflow.artifacts.download_artifacts(f"models:/{mlflow_runs.REGISTERED_MODEL}/1", dst_path=str(tmp_path / "dl"))
    convs = read_conversations(root / DEFAULT_EXPORT)
    items = [(c.load_frames(), c.prompt) for c in convs]
    answers = VLMRunner(Path(local) / "model", device="cpu").generate(items, max_new_tokens=6)
    assert answers == [c.answer for c in convs]  # memorised training answers, through the registered copy
    assert answers == VLMRunner(root / "models" / "trained", device="cpu").generate(items, max_new_tokens=6)
    # and through MLflow's pyfunc loader (free generation: these prompts carry no answer format)
    rows = pl.DataFrame({"frames": [list(c.frames) for c in convs], "video": [c.video for c in convs],
                         "prompt": [c.prompt for c in convs]}).to_pandas()  # the last clip is an mp4 only
    pyfunc = mlflow.pyfunc.load_model(f"models:/{mlflow_runs.REGISTERED_MODEL}/1", model_config={"max_new_tokens": 6})
    assert pyfunc.predict(rows) == answers


def test_trained_model_asset_materializes_with_metadata(tmp_path, monkeypatch):
    import dagster as dg
    import yaml

    from assets.train import trained_model
    from assets.resources import PipelineParams

    params = _data(tmp_path, max_steps=2, batch_size=2)
    p = tmp_path / "params.yaml"
    p.write_text(yaml.safe_dump(params.model_dump(mode="json", by_alias=True)))
    result = dg.materialize([trained_model], resources={"pipeline": PipelineParams(params_path=str(p))})
    assert result.success
    (mat,) = result.asset_materializations_for_node("trained_model")
    md = mat.metadata
    summary = json.loads((params.data / "models" / "trained_metrics.json").read_text())
    assert md["steps"].value == 2 and md["final_loss"].value == pytest.approx(summary["final_loss"])
    (run,) = _runs(mlflow_runs.store_uri(params.data), mlflow_runs.TRAIN_EXPERIMENT)  # default store: <data>/mlflow
    assert md["mlflow_run_id"].value == run.info.run_id and run.info.status == "FINISHED"
    assert "data:image/" in md["loss_curve"].value


def test_resume_continues_the_same_run_with_each_step_logged_once(tmp_path):
    params = _data(tmp_path, seed=4, max_steps=4, batch_size=2, checkpoint_every=2)
    uri = (tmp_path / "mlruns").as_uri()
    first = mlflow_runs.train_with_tracking(params, tracking_uri=uri, stop_after=3)  # "killed" after step 3
    assert first["model_dir"] is None
    second = mlflow_runs.train_with_tracking(params, tracking_uri=uri)  # resumes from the step-2 checkpoint
    assert second["mlflow_run_id"] == first["mlflow_run_id"] and second["resumed_from"] == 2
    assert second["losses"][:3] == first["losses"] and len(second["losses"]) == 4
    history = _client(uri).get_metric_history(second["mlflow_run_id"], "loss")
    assert sorted(m.step for m in history) == [1, 2, 3, 4]  # step 3 was recomputed but not logged again
    assert [m.value for m in sorted(history, key=lambda m: m.step)] == pytest.approx(second["losses"])
    assert (params.data / "models" / "trained" / "config.json").is_file()
    # a rerun of a finished, recorded training (Dagster re-materialising) neither reopens the run nor re-registers
    third = mlflow_runs.train_with_tracking(params, tracking_uri=uri)
    assert third["mlflow_run_id"] == second["mlflow_run_id"] and third["resumed_from"] == 4
    run = _client(uri).get_run(second["mlflow_run_id"])
    assert run.info.status == "FINISHED" and len(_runs(uri, mlflow_runs.TRAIN_EXPERIMENT)) == 1
    assert len(_client(uri).search_model_versions(f"name = '{mlflow_runs.REGISTERED_MODEL}'")) == 1


def test_an_exception_closes_the_run_as_failed(tmp_path, monkeypatch):
    params = _data(tmp_path, max_steps=2, batch_size=2)
    uri = (tmp_path / "mlruns").as_uri()

    def broken(*args, **kwargs):
        raise ValueError("disk full")

    monkeypatch.setattr(mlflow_runs, "run_training", broken)
    with pytest.raises(ValueError, match="disk full"):
        mlflow_runs.train_with_tracking(params, tracking_uri=uri)
    (run,) = _runs(uri, mlflow_runs.TRAIN_EXPERIMENT)
    assert run.info.status == "FAILED"


KILLED = """
import os, signal, sys
sys.path.insert(0, {root!r}); sys.path.insert(0, {tests!r})
from fourdpqa.params import Params
from fourdpqa.stages import mlflow_runs

def killed(job, callback=None, stop_after=None):
    os.kill(os.getpid(), signal.SIGKILL)  # dies inside the open run, before any checkpoint

mlflow_runs.run_training = killed
mlflow_runs.train_with_tracking(Params.model_validate_json({params!r}), tracking_uri={uri!r})
"""


def test_a_run_left_running_by_a_killed_process_is_closed_on_the_next_run(tmp_path):
    params = _data(tmp_path, max_steps=2, batch_size=2)
    uri = (tmp_path / "mlruns").as_uri()
    script = KILLED.format(root=str(ROOT), tests=str(ROOT / "tests"), params=params.model_dump_json(by_alias=True),
                           uri=uri)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True)
    assert proc.returncode == -9, proc.stderr[-2000:]
    (stale,) = _runs(uri, mlflow_runs.TRAIN_EXPERIMENT)
    assert stale.info.status == "RUNNING"
    mlflow_runs.train_with_tracking(params, tracking_uri=uri)
    old, new = _runs(uri, mlflow_runs.TRAIN_EXPERIMENT)
    assert old.info.run_id == stale.info.run_id and old.info.status == "FAILED"
    assert "ended without closing the run" in old.data.tags["fourdpqa.failure"]
    assert new.info.status == "FINISHED"


def test_evaluation_runs_nest_under_one_parent_tagged_with_the_training_run(tmp_path):
    root = tmp_path / "data"
    bench = root / "dataset" / "benchmark.parquet"
    bench.parent.mkdir(parents=True)
    frame = pl.DataFrame({"id": ["q1", "q2"], "question_type": [1, 2], "answer_format": ["mc", "yn"],
                          "answer": ["B", "yes"]})
    frame.write_parquet(bench)
    model = root / "models" / "trained"
    model.mkdir(parents=True)
    (model / "fourdpqa_vlm.json").write_text(json.dumps({"fingerprint": "abc123"}))
    params = Params(base={"data_root": str(root)})
    uri = (tmp_path / "mlruns").as_uri()
    client = _client(uri)
    exp = client.create_experiment(mlflow_runs.TRAIN_EXPERIMENT)
    train_run = client.create_run(exp, tags={mlflow_runs.TAG_FINGERPRINT: "abc123"}).info.run_id
    client.set_terminated(train_run)
    tracker = mlflow_runs.EvaluationTracker(params, bench, model, uri)
    predictions = tmp_path / "p.jsonl"
    predictions.write_text("{}\n")
    with tracker.evaluation(frame):
        for name in ("random", "trained"):
            with tracker.predictor(name):
                time.sleep(0.3)  # the work: a run opened after it would last a few milliseconds
                tracker.log_scores({"overall": 0.5}, 0, predictions)
        with pytest.raises(OSError), tracker.predictor("api"):
            raise OSError("no network")
        tracker.log_report({"random": 0.5, "trained": 0.5}, {"md": predictions})
    parent = client.get_run(tracker.run_ids["evaluation"])
    digest = hashlib.sha256(bench.read_bytes()).hexdigest()[:16]
    assert parent.info.run_name == f"evaluate-{digest[:8]}"
    assert parent.data.tags[mlflow_runs.TAG_TRAIN_RUN] == train_run
    assert parent.inputs.dataset_inputs[0].dataset.digest == digest
    assert parent.data.metrics["overall/trained"] == 0.5
    children = {n: client.get_run(tracker.run_ids[n]) for n in ("random", "trained", "api")}
    for name, child in children.items():
        assert child.info.run_name == name and child.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert children["trained"].data.tags[mlflow_runs.TAG_TRAIN_RUN] == train_run
    assert mlflow_runs.TAG_TRAIN_RUN not in children["random"].data.tags
    assert children["random"].info.end_time - children["random"].info.start_time >= 300
    assert children["api"].info.status == "FAILED" and "no network" in children["api"].data.tags["fourdpqa.failure"]


@pytest.mark.parametrize("lock", ["current", "stale", "absent"])
def test_the_dataset_input_carries_the_dvc_md5_of_the_dataset_when_dvc_lock_describes_it(tmp_path, lock):
    import mlflow
    import yaml

    root = tmp_path / "data"
    bench = root / "dataset" / "benchmark.parquet"
    bench.parent.mkdir(parents=True)
    frame = pl.DataFrame({"id": ["q1", "q2"], "answer": ["B", "yes"]})
    frame.write_parquet(bench)
    md5 = "0123456789abcdef0123456789abcdef.dir"
    size = bench.stat().st_size + (lock == "stale")  # a stale lock: the folder was rebuilt outside dvc repro
    out = {"path": "data/dataset", "hash": "md5", "md5": md5, "size": size, "nfiles": 1}
    if lock != "absent":
        (tmp_path / "dvc.lock").write_text(yaml.safe_dump({"schema": "2.0", "stages": {
            "assemble": {"cmd": "python -m fourdpqa assemble", "outs": [out]},
            "validate": {"cmd": "python -m fourdpqa validate", "deps": [out],
                         "outs": [{"path": "data/validation", "md5": "f" * 32 + ".dir", "size": 1, "nfiles": 1}]}}}))
    uri = (tmp_path / "mlruns").as_uri()
    mlflow_runs.open_store(root, mlflow_runs.EVAL_EXPERIMENT, uri)
    with mlflow.start_run() as active:
        mlflow_runs.log_dataset(mlflow, frame, bench, root, "fourdpqa-benchmark", "evaluation")
    run = _client(uri).get_run(active.info.run_id)
    (inp,) = run.inputs.dataset_inputs
    content = hashlib.sha256(bench.read_bytes()).hexdigest()[:16]
    assert inp.dataset.digest == (md5 if lock == "current" else content)
    assert run.data.tags.get("dvc_md5") == (md5 if lock == "current" else None)
    assert run.data.tags["fourdpqa.evaluation_data_sha256"] == content
