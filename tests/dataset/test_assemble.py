"""Assembly: split by video, benchmark scope, tracking share, balance by selection, clip export, refusal."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import polars as pl
import pytest

from fourdpqa.assemble import AssemblyRefused, assemble, split_videos
from fourdpqa.atomic import write_parquet
from fourdpqa.params import ValidateParams
from fourdpqa.scene import read_scene, write_scene
from fourdpqa.selection import allocate, balanced_order, select_benchmark
from fourdpqa.validate import balance_problems, check_label_balance
from tests.helpers.dataset_data import make_records, qa_frame, small_params, toy_oracle


def test_split_has_no_shared_videos_and_is_reproducible():
    videos = {f"proc_{i:05d}": "procedural" for i in range(20)} | {f"vk_{i:03d}": "vkitti2" for i in range(6)}
    train, bench = split_videos(videos, 0.25, seed=7)
    assert not set(train) & set(bench)
    assert sorted(train + bench) == sorted(videos)
    assert sum(v.startswith("proc") for v in bench) == 5 and sum(v.startswith("vk") for v in bench) == 2
    assert split_videos(videos, 0.25, seed=7) == (train, bench)
    assert split_videos(videos, 0.25, seed=8) != (train, bench)


def test_balanced_selection_from_a_skewed_pool():
    """70% of the MC answers are 'A' and one label dominates; the selected prefix must still be balanced."""
    rows = []
    for i in range(200):
        letter = "A" if i < 140 else "BCD"[i % 3]
        label = "increasing" if i % 5 else ["decreasing", "constant"][i % 2]
        rows.append({"answer": letter, "label": label, "answer_text": label})
    df = pl.DataFrame(rows)
    vp = ValidateParams()
    order, valid = balanced_order(df, "mc", vp, np.random.default_rng(0))
    n = int(valid[-1])
    assert n >= 12
    sel = df[order[:n].tolist()]
    letters = dict(sel["answer"].value_counts().iter_rows())
    classes = sel["label"].value_counts()["count"].to_list()
    assert balance_problems("mc", classes, letters, vp) == []
    assert max(letters.values()) / n <= 1.5 / 4
    assert not balance_problems("mc", [1, 1, 1, 1], dict.fromkeys("ABCD", 1), vp)
    assert balance_problems("mc", [140, 60], {"A": 140, "B": 60}, vp)


def test_allocate_spreads_evenly_over_question_types():
    class G:  # allocate() only reads unit and valid lengths
        def __init__(self, unit, valid):
            self.unit, self.valid = unit, np.array(valid)

    groups = [G("a", range(0, 101)), G("b", [0, 2, 4, 6]), G("c", range(0, 51))]
    sizes = allocate(groups, 60)
    assert sum(sizes) == 60 and sizes[1] == 6 and abs(sizes[0] - sizes[2]) <= 1


def test_assembled_splits(assembled):
    params, result = assembled
    train, bench = result.train, result.benchmark
    assert not set(train["video_id"]) & set(bench["video_id"])
    assert set(result.benchmark_videos) == set(bench["video_id"]) and len(result.benchmark_videos) == 2
    assert bench["question_type"].is_between(1, 11).all() and set(bench["answer_format"]) <= {"mc", "yn"}
    assert bench.height == params.assemble.benchmark_size and train.height == params.assemble.train_size
    n12 = (train["question_type"] == 12).sum()
    n13 = (train["question_type"] == 13).sum()
    assert n12 + n13 == round(0.2 * train.height) and abs(n12 - n13) <= 1
    assert set(train["answer_format"]) == {"mc", "yn", "trajectory", "numeric"}
    assert check_label_balance(bench, params.validate, "benchmark").passed
    per_type = bench["question_name"].value_counts()["count"]
    share = params.assemble.benchmark_size / 11  # shared evenly across the 11 types, up to one balanced step
    assert per_type.len() == 11 and per_type.min() >= 0.75 * share and per_type.max() <= 1.5 * share
    assert all(c.passed for c in result.checks)
    out = params.data / "dataset"
    assert pl.read_parquet(out / "benchmark.parquet")["id"].to_list() == bench["id"].to_list()
    assert json.loads((out / "split.json").read_text())["benchmark_videos"] == result.benchmark_videos


def test_clip_export_resizes_burns_marks_and_shares_unmarked_frames(assembled):
    params, result = assembled
    out = params.data / "dataset"
    both = pl.concat([result.train, result.benchmark])
    # one folder per distinct clip content; a marked row differs from the unmarked clip only on its marked frames
    assert {Path(fs[0]).parent for fs in both["frames"]} == {d.relative_to(out) for d in (out / "clips").glob("*/*")}
    circle = both.filter(pl.col("reference_mode") == "circle").row(0, named=True)
    k = circle["marks"][0]["frame"]
    plain = [f for f in circle["frames"]]
    plain[k] = str(Path(plain[k]).with_name(f"{k:05d}.jpg"))
    assert [f for i, f in enumerate(circle["frames"]) if i != k] == [f for i, f in enumerate(plain) if i != k]
    marked, unmarked = cv2.imread(str(out / circle["frames"][k])), cv2.imread(str(out / plain[k]))
    assert marked.shape == unmarked.shape == (40, 48, 3)
    assert np.abs(marked.astype(int) - unmarked.astype(int)).max() > 60  # the circle is drawn there
    bench = result.benchmark.filter(pl.col("reference_mode") == "circle").row(0, named=True)
    cap = cv2.VideoCapture(str(out / bench["video"]))
    n = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        assert frame.shape == (40, 48, 3)
        n += 1
    assert n == len(bench["clip_frames"])
    assert (result.train["video"] == "").all()  # training reads frames; only the benchmark gets mp4s


def test_assembly_is_deterministic(assembled):
    params, result = assembled
    out = params.data / "dataset"
    first = {p: (out / p).read_bytes() for p in ("train.parquet", "benchmark.parquet", "exports/benchmark.jsonl",
                                                 "exports/train_conversations.jsonl")}
    assemble(params, oracle=toy_oracle)
    assert all((out / p).read_bytes() == b for p, b in first.items())


def test_refuses_a_benchmark_with_a_wrong_answer_and_keeps_earlier_outputs(assembled):
    params, result = assembled
    out = params.data / "dataset"
    before = (out / "benchmark.parquet").read_bytes()
    vid = result.benchmark_videos[0]
    target = result.benchmark.filter(pl.col("video_id") == vid).row(0, named=True)
    flipped = {"yes": "no", "no": "yes", "A": "B", "B": "A", "C": "D", "D": "C"}[target["answer"]]
    # the scene's truth changes under the stored answer (selection, which balances stored answers, is unchanged)
    scene = read_scene(params.data / "scenes" / vid)
    scene.meta.extra["answers"][target["id"]] = flipped
    write_scene(scene, params.data / "scenes" / vid)
    with pytest.raises(AssemblyRefused, match="check_answer_consistency") as err:
        assemble(params, oracle=toy_oracle)
    assert err.value.failures[0].details["disagreements"].keys() == {target["id"]}
    assert (out / "benchmark.parquet").read_bytes() == before


def test_malformed_qa_table_is_quarantined_and_the_rest_assembles(synthetic_data):
    rows = make_records("proc_00099")
    rows[3]["options"] = rows[3]["options"][:3] if rows[3]["answer_format"] == "mc" else ["yes"]
    write_parquet(synthetic_data / "qa" / "proc_00099.parquet", qa_frame(rows))
    result = assemble(small_params(synthetic_data), oracle=toy_oracle)
    assert set(result.quarantined) == {"proc_00099"} and rows[3]["id"] in result.quarantined["proc_00099"]
    record = json.loads((synthetic_data / "quarantine" / "assemble" / "proc_00099.json").read_text())
    assert rows[3]["id"] in record["reason"]
    assert "proc_00099" not in set(result.train["video_id"]) | set(result.benchmark["video_id"])


def test_select_benchmark_keeps_only_descriptive_mc_and_yn():
    qa = qa_frame(make_records("proc_00001") + make_records("proc_00002"))
    bench = select_benchmark(qa, 10_000, ValidateParams(), seed=1)
    assert set(bench["question_type"].unique()) == set(range(1, 12))
    assert set(bench["answer_format"]) == {"mc", "yn"}


def test_max_option_ratio_param_tightens_selection(synthetic_data):
    """validate.max_option_ratio = 1 allows no answer class above its uniform share: exactly balanced groups."""
    params = small_params(synthetic_data)
    params = params.model_copy(update={"validate": params.validate.model_copy(update={"max_option_ratio": 1.0})})
    result = assemble(params, oracle=toy_oracle)
    for (_, fmt), grp in result.benchmark.group_by("question_name", "answer_format"):
        counts = grp["answer"].value_counts()["count"].to_list()
        assert max(counts) * (4 if fmt == "mc" else 2) <= grp.height
