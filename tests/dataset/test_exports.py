"""Exports: lmms-eval task folder (yaml + utils hooks), benchmark JSONL, training conversations, datasets copies."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml

from fourdpqa.export.benchmark import write_benchmark_jsonl
from fourdpqa.export.lmms_eval import TASK, write_lmms_eval_task
from fourdpqa.qa_format import format_prompt
from tests.helpers.dataset_data import make_records, qa_frame


class TaskLoader(yaml.SafeLoader):
    """Plain yaml plus lmms-eval's ``!function`` tag (kept as the reference string)."""


TaskLoader.add_constructor("!function", lambda loader, node: ("!function", loader.construct_scalar(node)))


def load_task(include_path: Path) -> tuple[dict, object]:
    task_dir = include_path / TASK
    config = yaml.load((task_dir / f"{TASK}.yaml").read_text(), Loader=TaskLoader)
    spec = importlib.util.spec_from_file_location(f"utils_{abs(hash(str(task_dir)))}", task_dir / "utils.py")
    utils = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(utils)
    return config, utils


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def score(config: dict, utils, docs: list[dict], responses: list[str]) -> dict[str, float]:
    """What lmms-eval does with the hooks: process_results per doc, then each metric's aggregation."""
    per_doc = [utils.process_results(d, [r]) for d, r in zip(docs, responses, strict=True)]
    out = {}
    for m in config["metric_list"]:
        tag, ref = m["aggregation"]
        assert tag == "!function" and ref.startswith("utils.")
        out[m["metric"]] = getattr(utils, ref.split(".", 1)[1])([p[m["metric"]] for p in per_doc])
    return out


def test_task_yaml_is_complete(assembled):
    params, _ = assembled
    config, utils = load_task(params.data / "dataset" / "exports" / "lmms_eval")
    assert config["task"] == TASK and config["dataset_path"] == "json" and config["output_type"] == "generate_until"
    data_file = Path(config["dataset_kwargs"]["data_files"]["test"])
    assert data_file.is_absolute() and data_file.exists() and config["test_split"] == "test"
    assert config["generation_kwargs"]["do_sample"] is False and config["generation_kwargs"]["temperature"] == 0
    for hook in ("doc_to_visual", "doc_to_text", "process_results"):
        tag, ref = config[hook]
        assert tag == "!function" and callable(getattr(utils, ref.split(".", 1)[1]))
    metrics = {m["metric"] for m in config["metric_list"]}
    assert metrics == set(utils.METRICS) and "fourdpqa_depth" in metrics and "fourdpqa_spatial" in metrics
    text = (params.data / "dataset" / "exports" / "lmms_eval" / TASK / f"{TASK}.yaml").read_text()
    assert "!function utils.doc_to_text" in text  # bare reference, like lmms-eval's own task files


def test_doc_to_text_snapshot_and_visual(tmp_path):
    row = make_records("proc_00001")[0] | {
        "question": "How does the camera move?", "options": ["forward", "left", "backward", "right"],
        "answer": "B", "answer_text": "left", "answer_format": "mc",
        "split": "benchmark", "clip_key": "proc_00001-c0-plain", "video": "clips/proc_00001/proc_00001-c0-plain/clip.mp4",
        "frames": ["clips/proc_00001/proc_00001-c0-plain/00000.jpg"]}
    df = qa_frame([row]).with_columns(frames=pl.col("frames").cast(pl.List(pl.Utf8)))
    jsonl = write_benchmark_jsonl(df, tmp_path / "exports" / "benchmark.jsonl")
    _, utils = load_task(write_lmms_eval_task(tmp_path / "exports" / "lmms_eval", jsonl, tmp_path))
    doc = read_jsonl(jsonl)[0]
    assert utils.doc_to_text(doc) == (
        "How does the camera move?\nA. forward\nB. left\nC. backward\nD. right\n"
        "Answer with the option's letter from the given choices directly.")
    assert utils.doc_to_text(doc, {"pre_prompt": "P: ", "post_prompt": "\nAnswer:"}).startswith("P: How does")
    assert utils.doc_to_visual(doc) == [str(tmp_path.resolve() / "clips/proc_00001/proc_00001-c0-plain/clip.mp4")]
    assert {k: doc[k] for k in ("id", "question_type", "category", "answer")} == {
        "id": row["id"], "question_type": 1, "category": "camera_motion", "answer": "B"}


def test_perfect_predictions_score_100_and_shuffled_near_chance(assembled):
    params, result = assembled
    include = params.data / "dataset" / "exports" / "lmms_eval"
    config, utils = load_task(include)
    docs = read_jsonl(Path(config["dataset_kwargs"]["data_files"]["test"]))
    assert [d["id"] for d in docs] == result.benchmark["id"].to_list()
    for d in docs:
        assert d["prompt"] == format_prompt(d) and Path(utils.doc_to_visual(d)[0]).exists()
    perfect = score(config, utils, docs, [d["answer"] for d in docs])
    assert all(v == 100.0 for v in perfect.values()), perfect
    verbose = [f"The answer is {d['answer']}." if d["answer_format"] == "mc" else f"{d['answer'].capitalize()}." for d in docs]
    assert score(config, utils, docs, verbose)["fourdpqa_acc"] == 100.0
    rng = np.random.default_rng(0)
    shuffled = [None] * len(docs)
    for fmt in ("mc", "yn"):
        idx = [i for i, d in enumerate(docs) if d["answer_format"] == fmt]
        for i, j in zip(idx, rng.permutation(idx), strict=True):
            shuffled[i] = docs[j]["answer"]
    chance = 100.0 * np.mean([1 / len(d["options"]) for d in docs])
    got = score(config, utils, docs, shuffled)
    assert abs(got["fourdpqa_acc"] - chance) < 12, (got["fourdpqa_acc"], chance)
    by_type = [d for d in docs if d["question_name"] == "depth"]
    assert got["fourdpqa_depth"] == pytest.approx(
        100.0 * np.mean([shuffled[docs.index(d)] == d["answer"] for d in by_type]))


def test_training_conversations(assembled):
    params, result = assembled
    out = params.data / "dataset"
    lines = read_jsonl(out / "exports" / "train_conversations.jsonl")
    rows = {r["id"]: r for r in result.train.iter_rows(named=True)}
    assert [line["id"] for line in lines] == sorted(rows)
    for line in lines:
        r = rows[line["id"]]
        user, assistant = line["messages"]
        assert user["role"] == "user" and assistant["role"] == "assistant"
        assert user["content"][0] == {"type": "video", "video": r["video"]} and (out / r["video"]).exists()
        assert user["content"][1]["text"] == format_prompt(r)
        assert assistant["content"][0]["text"] == r["answer"]
        assert line["conversations"][0]["value"] == "<video>\n" + format_prompt(r)
        assert all((out / f).exists() for f in line["frames"])


def test_benchmark_jsonl_fields(assembled):
    params, result = assembled
    docs = read_jsonl(params.data / "dataset" / "exports" / "benchmark.jsonl")
    bench = {r["id"]: r for r in result.benchmark.iter_rows(named=True)}
    for d in docs:
        r = bench[d["id"]]
        for k in ("video", "question_type", "category", "question", "options", "answer", "answer_format", "question_name"):
            assert d[k] == r[k]


def test_datasets_save_to_disk(assembled):
    from datasets import load_from_disk

    params, result = assembled
    for split, df in (("train", result.train), ("benchmark", result.benchmark)):
        ds = load_from_disk(str(params.data / "dataset" / "hf" / split))
        assert ds.num_rows == df.height and ds["id"] == df.sort("id")["id"].to_list()
        assert ds[0]["options"] == df.sort("id")["options"][0].to_list()
