"""Fine-tuning: loss goes down, resume continues the same curve, the vision tower stays frozen, MLflow records."""

from __future__ import annotations

import argparse
import json
import os

import numpy as np
import pytest
import torch
from helpers.vlm_data import QA, write_export

from fourdpqa.layout import Layout
from fourdpqa.params import Params, TrainParams
from fourdpqa.stages import train as train_stage
from fourdpqa.train import (
    latest_checkpoint, micro_batch_indices, read_conversations, train_model,
)
from fourdpqa.vlm.model import MERGER_PREFIX, VISION_PREFIX, build_tiny_model, load_vlm
from fourdpqa.vlm.runner import VLMRunner

CPU = torch.device("cpu")
TINY = dict(tiny_hidden_size=32, tiny_layers=1, tiny_vision_depth=1, frames=4, image_size=28, max_train_samples=None)


@pytest.fixture(scope="module")
def convs(tmp_path_factory):
    return read_conversations(write_export(tmp_path_factory.mktemp("export")))


def test_reads_frames_and_video_records(convs):
    assert [c.answer for c in convs] == [a for _, a in QA]
    assert all(len(c.frames) == 4 and c.video is None for c in convs[:-1])
    last = convs[-1]
    assert last.frames == () and last.video.endswith("3.mp4")
    frames = last.load_frames()
    assert len(frames) == 4 and frames[0].shape == (32, 32, 3)


def test_bad_records_name_file_and_line(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text('{"id": "a", "frames": ["f.jpg"], "messages": []}\n')
    with pytest.raises(ValueError, match=r"x\.jsonl:1: .*malformed"):
        read_conversations(p)
    p.write_text(json.dumps({"id": "b", "messages": [{"role": "user", "content": "q"},
                                                      {"role": "assistant", "content": "a"}]}) + "\n")
    with pytest.raises(ValueError, match="'b' has neither 'frames' nor 'video'"):
        read_conversations(p)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_conversations(tmp_path / "missing.jsonl")


def test_falls_back_to_the_train_table_with_qa_format_text(tmp_path):
    import polars as pl

    from fourdpqa.qa_format import format_prompt, format_target
    from fourdpqa.train import load_training_set

    rec = {"id": "proc_00001-c0-q01-000", "question": "Is the camera moving left?", "options": ["yes", "no"],
           "answer_format": "yn", "answer": "no", "answer_text": "no", "frames": ["clips/a/00000.jpg"],
           "video": "clips/a/clip.mp4"}
    (tmp_path / "dataset").mkdir()
    pl.DataFrame([rec]).write_parquet(tmp_path / "dataset" / "train.parquet")
    (conv,), source = load_training_set(tmp_path)
    assert source.name == "train.parquet"
    assert (conv.prompt, conv.answer) == (format_prompt(rec), format_target(rec)) and conv.answer == "no"
    assert conv.frames == (str(tmp_path / "dataset" / "clips/a/00000.jpg"),)
    with pytest.raises(FileNotFoundError, match="no training data"):
        load_training_set(tmp_path / "empty")


def test_reads_the_assemble_export_format(tmp_path):
    import cv2

    from fourdpqa.export.conversation import conversation

    rec = {"id": "proc_00002-c0-q01-000", "question": "Is the camera moving left?", "options": ["yes", "no"],
           "answer_format": "yn", "answer": "yes", "answer_text": "yes", "question_type": 1, "video": "",
           "frames": [f"clips/proc_00002/k/{i:05d}.jpg" for i in range(2)]}
    for f in rec["frames"]:
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(tmp_path / f), np.zeros((8, 8, 3), np.uint8))
    export = tmp_path / "exports" / "train_conversations.jsonl"  # media paths are relative to the dataset dir
    export.parent.mkdir()
    export.write_text(json.dumps(conversation(rec)) + "\n")
    (conv,) = read_conversations(export)
    assert conv.answer == "yes" and conv.video is None
    assert conv.frames == tuple(str(tmp_path / f) for f in rec["frames"])
    assert conv.prompt.startswith("Is the camera moving left?")


def test_data_order_depends_only_on_seed_and_step():
    epoch = [i for k in range(4) for i in micro_batch_indices(8, 2, k, seed=7)]
    assert sorted(epoch) == list(range(8))  # one epoch = a permutation
    assert micro_batch_indices(8, 2, 5, seed=7) == micro_batch_indices(8, 2, 5, seed=7)
    assert epoch != [i for k in range(4) for i in micro_batch_indices(8, 2, k, seed=8)]


def test_loss_decreases_on_repeated_batch(convs):
    tp = TrainParams(**TINY, max_steps=30, batch_size=2, lr=1e-2, warmup_ratio=0.1)
    res = train_model(convs[:2], tp, seed=0, device=CPU, out_dir=None)
    assert len(res.losses) == 30 and res.steps == 30
    assert np.mean(res.losses[-5:]) < 0.5 * np.mean(res.losses[:5])


def test_resume_continues_the_same_loss_curve(convs, tmp_path):
    tp = TrainParams(**TINY, max_steps=8, batch_size=2, grad_accum=2, lr=5e-3, checkpoint_every=3)
    full = train_model(convs, tp, 1, CPU, tmp_path / "full", tmp_path / "ck_full")
    part = train_model(convs, tp, 1, CPU, tmp_path / "resumed", tmp_path / "ck", stop_after=5)  # "killed" at 5
    assert part.model_dir is None and len(part.losses) == 5
    assert latest_checkpoint(tmp_path / "ck").name == "step_00000003"  # only the newest is kept
    resumed = train_model(convs, tp, 1, CPU, tmp_path / "resumed", tmp_path / "ck")
    assert resumed.resumed_from == 3
    np.testing.assert_allclose(resumed.losses, full.losses, rtol=1e-5, atol=1e-6)
    a, b = load_vlm(str(tmp_path / "full")).model.state_dict(), load_vlm(str(tmp_path / "resumed")).model.state_dict()
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    # a changed parameter set must not reuse the old checkpoint
    other = train_model(convs, tp.model_copy(update={"lr": 1e-3}), 1, CPU, None, tmp_path / "ck", stop_after=1)
    assert other.resumed_from == 0


def test_vision_tower_frozen_llm_and_merger_trained(convs, tmp_path):
    tp = TrainParams(**TINY, max_steps=4, batch_size=2, lr=5e-3)
    res = train_model(convs, tp, 2, CPU, tmp_path / "m", None)
    trained = load_vlm(str(res.model_dir))
    init = build_tiny_model(trained.tokenizer, 32, 1, 1, seed=2).state_dict()
    after = trained.model.state_dict()
    vision = [k for k in init if k.startswith(VISION_PREFIX) and not k.startswith(MERGER_PREFIX)]
    merger = [k for k in init if k.startswith(MERGER_PREFIX)]
    llm = [k for k in init if k.startswith("model.language_model.") or k.startswith("lm_head.")]
    assert vision and merger and llm
    assert all(torch.equal(init[k], after[k]) for k in vision)
    assert all(not torch.equal(init[k], after[k]) for k in merger if k.endswith("weight"))
    assert sum(not torch.equal(init[k], after[k]) for k in llm) >= len(llm) - 1  # all but perhaps unused rows


def test_fine_tunes_a_local_checkpoint_through_the_real_loading_path(convs, tmp_path):
    tp = TrainParams(**TINY, max_steps=6, batch_size=4, lr=1e-2)
    base = train_model(convs, tp, 0, CPU, tmp_path / "base", None)
    tuned = train_model(convs, tp.model_copy(update={"model": str(base.model_dir), "max_steps": 2}), 0, CPU,
                        tmp_path / "tuned", None)
    assert tuned.losses[0] < base.losses[0]  # starts from the trained weights, not a fresh init
    a, b = load_vlm(str(base.model_dir)).model.state_dict(), load_vlm(str(tuned.model_dir)).model.state_dict()
    vision = [k for k in a if k.startswith(VISION_PREFIX) and not k.startswith(MERGER_PREFIX)]
    assert all(torch.equal(a[k], b[k]) for k in vision)


def test_lora_option_trains_and_saves_a_plain_model(convs, tmp_path):
    tp = TrainParams(**TINY, max_steps=3, batch_size=2, lr=5e-3, lora=True, lora_r=4)
    res = train_model(convs, tp, 0, CPU, tmp_path / "lora", None)
    loaded = load_vlm(str(res.model_dir))  # merged: loads as a plain Qwen2.5-VL model
    assert not any("lora" in k for k in loaded.model.state_dict())


def test_stage_trains_logs_to_mlflow_and_model_answers(tmp_path):
    import mlflow

    root = tmp_path / "data"
    export = write_export(root / "dataset")  # paths relative to dataset/, file moved under exports/
    (Layout(root).train_conversations).parent.mkdir(parents=True)
    export.rename(Layout(root).train_conversations)
    params = Params(base={"data_root": str(root), "seed": 3, "num_threads": 1},
                    train=TrainParams(**TINY, max_steps=40, batch_size=4, lr=1e-2, checkpoint_every=20))
    uri = (tmp_path / "mlruns").as_uri()
    train_stage.run(params, argparse.Namespace(export=None, name="trained", tracking_uri=uri))
    summary = json.loads((root / "models" / "trained_metrics.json").read_text())
    assert summary["steps"] == 40 and len(summary["losses"]) == 40
    assert (root / "models" / "trained_loss.png").read_bytes()[:4] == b"\x89PNG"

    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("fourdpqa-train")
    (run,) = client.search_runs([exp.experiment_id])
    assert run.data.params["train.max_steps"] == "40" and run.data.params["base.seed"] == "3"
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in history] == list(range(1, 41))
    np.testing.assert_allclose([m.value for m in history], summary["losses"], rtol=1e-6)
    assert run.data.metrics["final_loss"] == pytest.approx(summary["losses"][-1])
    assert {a.path for a in client.list_artifacts(run.info.run_id)} == {"trained_metrics.json", "trained_loss.png"}

    # the saved model answers its (memorised) training questions through the runner
    convs = read_conversations(Layout(root).train_conversations)
    runner = VLMRunner(root / "models" / "trained", device="cpu")
    answers = runner.generate([(c.load_frames(), c.prompt) for c in convs], max_new_tokens=6)
    assert answers == [c.answer for c in convs]


def test_trained_model_asset_materializes_with_metadata(tmp_path):
    import dagster as dg
    import yaml

    from assets.train import trained_model
    from assets.resources import PipelineParams

    root = tmp_path / "data"
    write_export(root / "dataset" / "exports").rename(Layout(root).train_conversations)
    p = tmp_path / "params.yaml"
    p.write_text(yaml.safe_dump({"base": {"data_root": str(root), "num_threads": 1},
                                 "train": {**TINY, "max_steps": 2, "batch_size": 2}}))
    result = dg.materialize([trained_model], resources={"pipeline": PipelineParams(params_path=str(p))})
    assert result.success
    (mat,) = result.asset_materializations_for_node("trained_model")
    md = mat.metadata
    summary = json.loads((root / "models" / "trained_metrics.json").read_text())
    assert md["steps"].value == 2 and md["final_loss"].value == pytest.approx(summary["final_loss"])
    assert len(md["mlflow_run_id"].value) == 32 and (root / "mlruns").is_dir()
    assert "data:image/png;base64," in md["loss_curve"].value


def test_crash_resume_continues_the_same_mlflow_run(tmp_path):
    from fourdpqa.train import run_training

    root = tmp_path / "data"
    write_export(root / "dataset" / "exports").rename(Layout(root).train_conversations)
    params = Params(base={"data_root": str(root), "seed": 4, "num_threads": 1},
                    train=TrainParams(**TINY, max_steps=4, batch_size=2, checkpoint_every=2))
    uri = (tmp_path / "mlruns").as_uri()
    first = run_training(params, tracking_uri=uri, stop_after=3)  # killed after step 3: checkpoint at 2
    assert first["model_dir"] is None
    second = run_training(params, tracking_uri=uri)
    assert second["mlflow_run_id"] == first["mlflow_run_id"] and second["resumed_from"] == 2
    assert second["losses"][:2] == first["losses"][:2] and len(second["losses"]) == 4
    assert (root / "models" / "trained" / "config.json").is_file()
