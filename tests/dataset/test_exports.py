"""Exports: lmms-eval task folder (yaml + utils hooks), benchmark JSONL, training conversations, the Hugging Face
DatasetDict and its card."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import polars as pl
import pytest
import yaml

from fourdpqa.export.benchmark import write_benchmark_jsonl
from fourdpqa.export.lmms_eval import TASK, write_lmms_eval_task
from fourdpqa.qa_format import format_prompt
from tests.helpers.dataset_data import (
    make_records,
    qa_frame,
    small_params,
    toy_oracle,
    write_data_root,
)


@pytest.fixture(scope="module")
def assembled(tmp_path_factory):
    """(params, AssemblyResult) of 8 synthetic videos, assembled once for the read-only export tests (benchmark mp4s
    stored, so both lmms-eval inputs can be checked)."""
    from fourdpqa.assemble import assemble

    params = small_params(write_data_root(tmp_path_factory.mktemp("exports") / "data"), export_mp4=True)
    return params, assemble(params, oracle=toy_oracle)


class TaskLoader(yaml.SafeLoader):
    """Plain yaml plus lmms-eval's ``!function`` tag (kept as the reference string)."""


TaskLoader.add_constructor("!function", lambda loader, node: ("!function", loader.construct_scalar(node)))


def load_task(include_path: Path) -> tuple[dict, object]:
    """The task yaml and its utils module as lmms-eval (>= 0.7.3) loads them: ``utils.py`` from the yaml's folder,
    a relative ``data_files`` path resolved against that folder."""
    task_dir = include_path / TASK
    config = yaml.load((task_dir / f"{TASK}.yaml").read_text(), Loader=TaskLoader)
    test = config["dataset_kwargs"]["data_files"]["test"]
    config["dataset_kwargs"]["data_files"]["test"] = str(task_dir / test) if (task_dir / test).is_file() else test
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
    assert data_file.exists() and config["test_split"] == "test"
    text = (params.data / "dataset" / "exports" / "lmms_eval" / TASK / f"{TASK}.yaml").read_text()
    assert "test: ../../benchmark.jsonl" in text  # relative to the task folder, resolved there by lmms-eval
    assert config["generation_kwargs"]["do_sample"] is False and config["generation_kwargs"]["temperature"] == 0
    for hook in ("doc_to_visual", "doc_to_text", "process_results"):
        tag, ref = config[hook]
        assert tag == "!function" and callable(getattr(utils, ref.split(".", 1)[1]))
    metrics = {m["metric"] for m in config["metric_list"]}
    assert metrics == set(utils.METRICS) and "fourdpqa_depth" in metrics and "fourdpqa_spatial" in metrics
    assert "!function utils.doc_to_text" in text  # bare reference, like lmms-eval's own task files


def test_doc_to_text_snapshot_and_visual(tmp_path):
    row = make_records("proc_00001")[0] | {
        "question": "How does the camera move?", "options": ["forward", "left", "backward", "right"],
        "answer": "B", "answer_text": "left", "answer_format": "mc",
        "split": "benchmark", "clip_key": "proc_00001-c0-plain", "video": "clips/proc_00001/proc_00001-c0-plain/clip.mp4",
        "frames": ["clips/proc_00001/proc_00001-c0-plain/00000.jpg"]}
    df = qa_frame([row]).with_columns(frames=pl.col("frames").cast(pl.List(pl.Utf8)))
    jsonl = write_benchmark_jsonl(df, tmp_path / "exports" / "benchmark.jsonl")
    _, utils = load_task(write_lmms_eval_task(tmp_path / "exports" / "lmms_eval", jsonl))
    doc = read_jsonl(jsonl)[0]
    assert utils.doc_to_text(doc) == (
        "How does the camera move?\nA. forward\nB. left\nC. backward\nD. right\n"
        "Answer with the option's letter from the given choices directly.")
    assert utils.doc_to_text(doc, {"pre_prompt": "P: ", "post_prompt": "\nAnswer:"}).startswith("P: How does")
    assert utils.doc_to_visual(doc) == [str(tmp_path.resolve() / "clips/proc_00001/proc_00001-c0-plain/clip.mp4")]
    assert {k: doc[k] for k in ("id", "question_type", "category", "answer")} == {
        "id": row["id"], "question_type": 1, "category": "camera_motion", "answer": "B"}


def test_without_stored_mp4s_lmms_eval_gets_the_same_mp4_muxed_from_the_frames(assembled, tmp_path, monkeypatch):
    """``assemble.export_mp4: false``: ``doc_to_visual`` muxes the clip's JPEG files on first use into a video
    OpenCV reads back as those files' bytes at the row's fps, byte-identical to the mp4 the export stores, and
    reused on the next call."""
    params, result = assembled
    dataset = params.data / "dataset"
    _, utils = load_task(dataset / "exports" / "lmms_eval")
    monkeypatch.setenv("FOURDPQA_VIDEO_CACHE", str(tmp_path / "cache"))
    docs = [d for d in read_jsonl(dataset / "exports" / "benchmark.jsonl") if d["reference_mode"] == "circle"][:2]
    assert docs
    for doc in docs:
        (path,) = utils.doc_to_visual(doc | {"video": ""})
        video = cv2.VideoCapture(path)
        video.set(cv2.CAP_PROP_FORMAT, -1)  # the packets as stored
        packets = []
        ok, packet = video.read()
        while ok:
            packets.append(packet.tobytes())
            ok, packet = video.read()
        assert packets == [(dataset / f).read_bytes() for f in doc["frames"]]
        assert video.get(cv2.CAP_PROP_FPS) == pytest.approx(doc["fps"])
        assert Path(path).read_bytes() == (dataset / doc["video"]).read_bytes()
        mtime = Path(path).stat().st_mtime_ns
        assert utils.doc_to_visual(doc | {"video": ""}) == [path] and Path(path).stat().st_mtime_ns == mtime


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
        assert r["video"] == "" and user["content"][0] == {"type": "video", "video": list(r["frames"])}
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


def test_task_folder_moves_with_the_dataset(assembled, tmp_path, monkeypatch):
    params, _ = assembled
    monkeypatch.delenv("FOURDPQA_MEDIA_ROOT", raising=False)
    task_files = list((params.data / "dataset" / "exports" / "lmms_eval").rglob("*"))
    assert not [p for p in task_files if p.is_file() and str(params.data) in p.read_text()]  # no absolute path
    moved = tmp_path / "elsewhere" / "dataset"
    shutil.copytree(params.data / "dataset", moved)
    config, utils = load_task(moved / "exports" / "lmms_eval")
    docs = read_jsonl(Path(config["dataset_kwargs"]["data_files"]["test"]))
    visual = utils.doc_to_visual(docs[0])
    assert visual == [os.path.join(moved.resolve(), docs[0]["video"])] and Path(visual[0]).is_file()
    monkeypatch.setenv("FOURDPQA_MEDIA_ROOT", "/mnt/clips")
    assert utils.doc_to_visual(docs[0]) == [os.path.join("/mnt/clips", docs[0]["video"])]


@pytest.mark.skipif(importlib.util.find_spec("lmms_eval") is None,
                    reason="lmms-eval not installed (GPU machines: pip install -e .[lmms]; it pulls torchvision)")
def test_lmms_eval_runs_the_task_with_its_dummy_model(assembled, tmp_path):
    params, result = assembled
    include = params.data / "dataset" / "exports" / "lmms_eval"
    proc = subprocess.run([sys.executable, "-m", "lmms_eval", "--model", "dummy", "--tasks", TASK,
                           "--include_path", str(include), "--batch_size", "1", "--output_path", str(tmp_path)],
                          capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (results,) = tmp_path.rglob("*results.json")
    scores = json.loads(results.read_text())["results"][TASK]
    assert 0.0 <= scores["fourdpqa_acc,none"] <= 100.0 and "fourdpqa_depth,none" in scores


@pytest.fixture
def hf_export(assembled):
    from fourdpqa.export.hf import load_hf

    params, result = assembled
    return params, result, load_hf(params.data / "dataset")


def decoded_video(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while (got := cap.read())[0]:
        frames.append(got[1])
    cap.release()
    return frames


def test_datasets_dict_embeds_the_clip_files_with_typed_features(hf_export):
    from datasets import ClassLabel, DatasetDict, Image, Video

    params, result, dd = hf_export
    dataset = (params.data / "dataset").resolve()
    assert isinstance(dd, DatasetDict) and list(dd) == ["train", "benchmark"]
    for split, df in (("train", result.train), ("benchmark", result.benchmark)):
        ds = dd[split]
        expected = df.sort("id")
        assert ds.num_rows == df.height and ds["id"] == expected["id"].to_list()
        assert isinstance(ds.features["video"], Video) and isinstance(ds.features["frames"].feature, Image)
        assert isinstance(ds.features["question_name"], ClassLabel)
        assert ds.features["question_name"].int2str(ds["question_name"]) == expected["question_name"].to_list()
        assert ds["options"][0] == expected["options"][0].to_list()
        raw = ds.cast_column("video", Video(decode=False)).cast_column("frames", [Image(decode=False)])
        for k in (0, ds.num_rows - 1):
            row, rec = raw[k], expected.row(k, named=True)  # decode=False: no torchcodec needed
            assert [f["path"] for f in row["frames"]] == rec["frames"]
            assert [f["bytes"] for f in row["frames"]] == [(dataset / f).read_bytes() for f in rec["frames"]]
            assert (row["video"] or {}).get("bytes") == ((dataset / rec["video"]).read_bytes() if rec["video"] else None)
            assert row["marks"] == rec["marks"] and row["measurement"] == rec["measurement"]  # typed as stored
            assert row["threshold"] == rec["threshold"]
    assert all(v is None for v in dd["train"].cast_column("video", Video(decode=False))["video"])


def test_load_dataset_from_another_working_directory_gives_both_splits_with_decodable_frames(assembled, tmp_path,
                                                                                              monkeypatch):
    """What a user types: ``datasets.load_dataset("<path>/hf")`` from anywhere (a moved copy: no path back to the
    original), both splits as the card's configs list them, frames that decode to the clip's pixels."""
    import datasets

    params, result = assembled
    moved = tmp_path / "moved" / "dataset"
    shutil.copytree(params.data / "dataset", moved)
    card = yaml.safe_load((moved / "hf" / "README.md").read_text().split("---")[1])
    assert [f["split"] for f in card["configs"][0]["data_files"]] == ["train", "benchmark"]
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    shutil.rmtree(moved.parent.parent / "moved" / "dataset" / "clips")  # the embedded copy needs no clip files
    dd = datasets.load_dataset(str(moved / "hf"), cache_dir=str(tmp_path / "hf_cache"))
    assert sorted(dd) == ["benchmark", "train"]
    for split, df in (("train", result.train), ("benchmark", result.benchmark)):
        row, rec = dd[split].select_columns(["frames"])[0], df.sort("id").row(0, named=True)  # video: torchcodec
        assert dd[split].num_rows == df.height and len(row["frames"]) == len(rec["frames"])
        jpeg = cv2.imread(str(params.data / "dataset" / rec["frames"][0]), cv2.IMREAD_COLOR)[:, :, ::-1]
        assert np.array_equal(np.asarray(row["frames"][0].convert("RGB")), jpeg)  # same decoder family, same bytes


def test_every_exported_row_points_at_decodable_clips_of_its_size(assembled):
    """Independent of the exporter: every path in the JSONL exports and the Parquet splits exists and decodes
    (OpenCV) to the row's frame count at the output size; the benchmark mp4 holds the same frames."""
    import pyarrow.parquet as pq

    params, result = assembled
    dataset = params.data / "dataset"
    rows = read_jsonl(dataset / "exports" / "train_conversations.jsonl") + read_jsonl(
        dataset / "exports" / "benchmark.jsonl")
    n_frames = {r["id"]: len(r["clip_frames"]) for df in (result.train, result.benchmark) for r in df.iter_rows(named=True)}
    assert sorted(r["id"] for r in rows) == sorted(n_frames)
    size = (params.qa.out_height, params.qa.out_width, 3)
    seen: set[str] = set()
    for r in rows:
        assert len(r["frames"]) == n_frames[r["id"]]
        for f in set(r["frames"]) - seen:
            assert cv2.imread(str(dataset / f)).shape == size, f
        seen |= set(r["frames"])
        if r["video"]:
            frames = decoded_video(dataset / r["video"])
            assert len(frames) == n_frames[r["id"]] and frames[0].shape == size
            jpeg = cv2.imread(str(dataset / r["frames"][-1])).astype(int)
            assert np.abs(frames[-1].astype(int) - jpeg).mean() < 12  # the same picture, two lossy codecs
    assert sum(bool(r["video"]) for r in rows) == result.benchmark.height  # an mp4 per benchmark row only
    for split in ("train", "benchmark"):
        table = pq.read_table(dataset / "hf" / "data" / f"{split}.parquet").to_pylist()
        assert all(f["bytes"] == (dataset / f["path"]).read_bytes() for t in table for f in t["frames"])
        assert all(t["video"]["bytes"] == (dataset / t["video"]["path"]).read_bytes() for t in table if t["video"])


def test_dataset_card_counts_parameters_and_licence(hf_export):
    params, result, _ = hf_export
    card = (params.data / "dataset" / "hf" / "README.md").read_text()
    header = yaml.safe_load(card.split("---")[1])
    assert header["license"] == "apache-2.0" and "video-text-to-text" in header["task_categories"]
    for (qname,), grp in result.train.group_by(["question_name"]):
        bench = result.benchmark.filter(pl.col("question_name") == qname).height
        assert f"| {qname} | {grp['category'][0]} | {grp.height} | {bench} |" in card
    assert f"| **total** | | {result.train.height} | {result.benchmark.height} |" in card
    assert "| procedural | kubric | " in card and "Apache-2.0" in card
    generation = yaml.safe_load(card.split("```yaml")[1].split("```")[0])
    assert generation["base"]["seed"] == params.base.seed
    assert generation["assemble"]["train_size"] == params.assemble.train_size
    assert str(params.data) not in card  # no absolute paths


def test_hf_export_is_byte_identical_when_rewritten(assembled, tmp_path):
    from fourdpqa.export.hf import save_hf

    params, result = assembled
    splits = {"train": result.train, "benchmark": result.benchmark}
    dataset = params.data / "dataset"
    save_hf(tmp_path / "again", splits, dataset, params)
    first = {p.relative_to(dataset / "hf"): p.read_bytes() for p in (dataset / "hf").rglob("*") if p.is_file()}
    again = {p.relative_to(tmp_path / "again"): p.read_bytes() for p in (tmp_path / "again").rglob("*") if p.is_file()}
    assert first == again
