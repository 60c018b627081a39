"""Each validation check fails on a constructed bad dataset and passes on the good one."""

from __future__ import annotations

import json

import cv2
import numpy as np
import polars as pl
import pytest

from fourdpqa.params import ValidateParams
from fourdpqa.validate import (
    check_blind_bias, check_label_balance, check_leakage, check_oracle, check_schema, clip_hashes, hamming,
    near_duplicate, phash, plot_answer_histograms, run_validation, summarize,
)
from schemas.dataset import DatasetRowSchema, TableSchemaError, validate_table
from tests.helpers.dataset_data import make_records, make_scene, qa_frame, toy_oracle

VP = ValidateParams()


def scene_frames(video_id: str, frames: list[int]) -> np.ndarray:
    return make_scene(video_id).rgb[frames]


def dataset_rows(video_ids: list[str], split: str) -> pl.DataFrame:
    df = qa_frame([r for v in video_ids for r in make_records(v)])
    if split == "benchmark":
        df = df.filter(pl.col("question_type").is_between(1, 11))
    return df.with_columns(split=pl.lit(split), clip_key=pl.col("clip_id") + "-plain", video=pl.lit("clip.mp4"),
                           frames=pl.lit(["00000.jpg"], dtype=pl.List(pl.Utf8)))


@pytest.fixture(scope="module")
def good() -> tuple[pl.DataFrame, pl.DataFrame]:
    return dataset_rows([f"proc_{i:05d}" for i in range(6)], "train"), dataset_rows(["proc_00006", "proc_00007"], "benchmark")


# ---------------------------------------------------------------------------------------------------------- schema


def test_schema_passes_on_good_tables(good):
    assert check_schema({"train": good[0], "benchmark": good[1]}).passed


@pytest.mark.parametrize("breakage, check", [
    (lambda r: r.update(options=r["options"][:3]), "4 distinct options"),
    (lambda r: r.update(answer="E"), "answer letter"),
    (lambda r: r.update(answer_text="sideways"), "does not point at answer_text"),
    (lambda r: r.update(marks=json.dumps([{"kind": "circle", "frame": 0, "xy": [1.2, 0.5], "label": "1"}])), "coordinates in [0, 1]"),
    (lambda r: r.update(marks=json.dumps([{"kind": "box", "frame": 0, "box": [0.1, -0.1, 0.5, 0.5], "label": "1"}])), "coordinates in [0, 1]"),
])
def test_malformed_row_error_names_the_row_id(good, breakage, check):
    rows = good[1].to_dicts()
    victim = next(i for i, r in enumerate(rows) if r["answer_format"] == "mc" and i > 5)
    breakage(rows[victim])
    df = pl.DataFrame(rows, schema=good[1].schema)
    with pytest.raises(TableSchemaError) as err:
        validate_table(df, DatasetRowSchema, "benchmark")
    assert rows[victim]["id"] in str(err.value) and check in str(err.value)
    others = [r["id"] for i, r in enumerate(rows) if i != victim]
    assert not any(f"'{o}'" in str(err.value) for o in others)
    result = check_schema({"train": good[0], "benchmark": df})
    assert not result.passed and result.blocking and list(result.details["errors"]) == ["benchmark"]


def test_benchmark_rows_outside_scope_fail_the_schema(good):
    bad = dataset_rows(["proc_00006"], "train").with_columns(split=pl.lit("benchmark"))
    result = check_schema({"benchmark": bad})
    msg = str(result.details["errors"])
    assert not result.passed and "MC or yes/no questions of types 1-11" in msg and "proc_00006-c0-q12-000" in msg


# --------------------------------------------------------------------------------------------------- label balance


def test_label_balance_passes_on_good_and_fails_on_imbalanced(good):
    bench = good[1]
    assert check_label_balance(bench, VP, "benchmark").passed
    yes_heavy = bench.with_columns(
        answer=pl.when(pl.col("answer_format") == "yn").then(pl.lit("yes")).otherwise(pl.col("answer")),
        answer_text=pl.when(pl.col("answer_format") == "yn").then(pl.lit("yes")).otherwise(pl.col("answer_text")))
    res = check_label_balance(yes_heavy, VP, "benchmark")
    assert not res.passed and res.blocking
    assert all(k.endswith("/yn") for k in res.details["offenders"]) and len(res.details["offenders"]) == 11
    assert "yes share 1.000" in res.details["offenders"]["depth/yn"]


def test_mc_letter_skew_fails_chi_square(good):
    bench = good[1]
    mc = bench.filter(pl.col("answer_format") == "mc")
    skew = mc.with_columns(answer=pl.lit("A"), answer_text=pl.col("options").list.get(0), label=pl.col("options").list.get(0))
    res = check_label_balance(skew, VP, "benchmark")
    assert not res.passed
    assert "not uniform" in res.details["offenders"]["depth/mc"]
    assert res.details["groups"]["depth/mc"]["answers"] == {"A": mc.filter(pl.col("question_name") == "depth").height}
    assert not check_label_balance(skew, VP, "train").blocking


def test_dominant_answer_class_fails(good):
    bench = good[1].filter(pl.col("answer_format") == "yn")
    one_label = bench.with_columns(label=pl.when(pl.int_range(pl.len()) % 10 == 0).then(pl.lit("rare")).otherwise(pl.lit("common")))
    res = check_label_balance(one_label, VP, "benchmark")
    assert not res.passed and "answer class share" in next(iter(res.details["offenders"].values()))


# --------------------------------------------------------------------------------------------------------- leakage


def test_hamming_matches_bit_counts():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 2**63, 5, dtype=np.uint64), rng.integers(0, 2**63, 3, dtype=np.uint64)
    assert hamming(a, b).tolist() == [[bin(int(x) ^ int(y)).count("1") for y in b] for x in a]


def test_clip_phash_is_robust_to_noise_but_separates_videos():
    a = make_scene("proc_00001").rgb
    noisy = np.clip(a.astype(int) + np.random.default_rng(0).integers(-2, 3, a.shape), 0, 255).astype(np.uint8)
    ha, hn = clip_hashes(a), clip_hashes(noisy)
    assert len(ha) == 8 and hamming(ha, ha).diagonal().max() == 0
    assert near_duplicate(hn, ha, VP.phash_max_distance)
    others = [clip_hashes(make_scene(f"proc_{i:05d}").rgb) for i in range(2, 12)]
    assert not any(near_duplicate(h, ha, VP.phash_max_distance) for h in others)
    assert phash(a[0]) == phash(a[0].copy())


def test_leakage_passes_on_disjoint_videos(good):
    res = check_leakage(good[0], good[1], scene_frames, VP.phash_max_distance)
    assert res.passed, res.details


def test_leakage_fails_on_a_shared_video(good):
    train = pl.concat([good[0], good[1].head(5).with_columns(split=pl.lit("train"))])
    res = check_leakage(train, good[1], scene_frames, VP.phash_max_distance)
    assert not res.passed and res.details["shared_videos"] == ["proc_00006"]


def test_leakage_fails_on_the_same_footage_under_another_id(good):
    """proc_00003 in training is an upscaled, JPEG re-encoded copy of the benchmark's proc_00006."""
    def reencode(frame: np.ndarray) -> np.ndarray:
        ok, buf = cv2.imencode(".jpg", cv2.resize(frame, (64, 64), interpolation=cv2.INTER_CUBIC),
                               [cv2.IMWRITE_JPEG_QUALITY, 80])
        return cv2.imdecode(buf, cv2.IMREAD_COLOR)

    def frames(video_id: str, idx: list[int]) -> np.ndarray:
        if video_id == "proc_00003":
            return np.stack([reencode(f) for f in scene_frames("proc_00006", idx)])
        return scene_frames(video_id, idx)

    res = check_leakage(good[0], good[1], frames, VP.phash_max_distance)
    assert not res.passed and not res.details["shared_videos"]
    assert {tuple(p) for p in res.details["near_duplicates"]} == {
        (f"proc_00006-c{a}", f"proc_00003-c{b}") for a in range(2) for b in range(2)}


# ---------------------------------------------------------------------------------------------------------- oracle


@pytest.fixture(scope="module")
def scenes_root(tmp_path_factory, good):
    from fourdpqa.scene import write_scene

    root = tmp_path_factory.mktemp("scenes")
    for vid in sorted(set(good[0]["video_id"]) | set(good[1]["video_id"])):
        scene = make_scene(vid)
        scene.meta.extra["answers"] = {r["id"]: r["answer"] for r in make_records(vid)}
        write_scene(scene, root / vid)
    return root


def test_oracle_passes_on_good_and_names_a_wrong_answer(good, scenes_root):
    bench = good[1]
    assert check_oracle(bench, scenes_root, toy_oracle).passed
    victim = bench.filter(pl.col("answer_format") == "yn")["id"][3]
    wrong = bench.with_columns(answer=pl.when(pl.col("id") == victim).then(
        pl.when(pl.col("answer") == "yes").then(pl.lit("no")).otherwise(pl.lit("yes"))).otherwise(pl.col("answer")))
    res = check_oracle(wrong, scenes_root, toy_oracle)
    assert not res.passed and res.blocking and list(res.details["disagreements"]) == [victim]
    assert res.observed.startswith(f"{bench.height - 1}/{bench.height}")


def test_oracle_reports_missing_scenes(good, tmp_path):
    res = check_oracle(good[1].head(3), tmp_path, toy_oracle)
    assert not res.passed and res.details["n_errors"] == 3 and "scene.json" in next(iter(res.details["errors"].values()))


# ------------------------------------------------------------------------------------------------------ blind bias


def test_blind_bias_passes_when_wording_is_independent_of_the_answer(good):
    res = check_blind_bias(good[0], good[1], VP.blind_margin)
    assert res.passed, res.details["offenders"]
    assert not res.blocking and set(res.details["per_type"]) >= {"depth/mc", "depth/yn"}


def test_blind_bias_flags_types_whose_wording_gives_the_answer_away(good):
    """In depth questions a 'really' in the wording means yes, and the correct MC option says 'clearly'."""
    def bias(df: pl.DataFrame) -> pl.DataFrame:
        depth = pl.col("question_name") == "depth"
        yn_yes = depth & (pl.col("answer_format") == "yn") & (pl.col("answer") == "yes")
        mc = depth & (pl.col("answer_format") == "mc")
        letter_idx = pl.col("answer").replace_strict(list("ABCD"), [0, 1, 2, 3], default=0, return_dtype=pl.Int64)
        return df.with_columns(
            question=pl.when(yn_yes).then(pl.col("question") + " really").otherwise(pl.col("question")),
            options=pl.when(mc).then(pl.concat_list(
                [pl.when(letter_idx == i).then(pl.col("options").list.get(i) + " clearly").otherwise(pl.col("options").list.get(i))
                 for i in range(4)])).otherwise(pl.col("options")))

    train = pl.concat([bias(dataset_rows([f"proc_{i:05d}" for i in range(6, 20)], "train")), bias(good[0])])
    bench = bias(dataset_rows([f"proc_{i:05d}" for i in range(30, 40)], "benchmark"))
    res = check_blind_bias(train, bench, VP.blind_margin)
    assert not res.passed
    assert set(res.details["offenders"]) == {"depth/yn", "depth/mc"}
    assert res.details["per_type"]["depth/yn"]["bow_logreg"] > 0.75 and res.details["per_type"]["depth/mc"]["bow_logreg"] > 0.75


# --------------------------------------------------------------------------------------------------------- summary


def test_summary_counts_and_histogram_plot(good):
    s = summarize({"train": good[0], "benchmark": good[1]})
    bench = good[1]
    assert s["benchmark"]["rows"] == bench.height and s["benchmark"]["videos"] == 2
    assert s["benchmark"]["counts"]["question_name"]["depth"] == bench.filter(pl.col("question_name") == "depth").height
    assert sum(s["train"]["counts"]["answer_format"].values()) == good[0].height
    hist = s["benchmark"]["answer_histogram"]["depth/yn"]
    assert hist == dict(bench.filter((pl.col("question_name") == "depth") & (pl.col("answer_format") == "yn"))["answer"]
                        .value_counts().sort("answer").iter_rows())
    assert plot_answer_histograms(s, "benchmark")[:8] == b"\x89PNG\r\n\x1a\n"


def test_run_validation_writes_report(assembled):
    params, _ = assembled
    report = run_validation(params.data, params.validate, oracle=toy_oracle)
    written = json.loads((params.data / "validation" / "report.json").read_text())
    assert written["passed"] and not report.blocking_failures
    names = [c["name"] for c in written["checks"]]
    assert names == ["check_schema", "check_label_balance", "check_label_balance_train", "check_leakage",
                     "check_oracle", "check_blind_bias"]
    assert (params.data / "validation" / "plots" / "answers_benchmark.png").read_bytes()[:4] == b"\x89PNG"
    assert written["summary"]["benchmark"]["rows"] == params.assemble.benchmark_size
