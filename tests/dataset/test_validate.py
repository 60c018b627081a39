"""Each validation check fails on a constructed bad dataset and passes on the good one (oracle-2 has its own
tests in tests/oracle2/, the pixel probe in tests/probe/)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import polars as pl
import pytest
from scipy import stats

from fourdpqa.params import ValidateParams
from fourdpqa.validate import (
    Sources, check_answer_consistency, check_label_balance, check_leakage, check_schema, format_figures, run_validation,
    summarize,
)
from fourdpqa.validate.figures import facts_per_type
from fourdpqa.validate.leakage import clip_hashes, hamming, near_duplicate, phash
from fourdpqa.validate.marks import check_marks, judge_marks
from fourdpqa.validate.summary import plot_answer_histograms
from fourdpqa.validate.text_bias import check_blind_bias, shuffled_answers
from schemas.dataset import DatasetRowSchema, TableSchemaError, validate_table
from schemas.qa import MARK
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
    (lambda r: r.update(marks=[{"kind": "circle", "frame": 0, "xy": [1.2, 0.5], "radius": 0.1, "label": "1"}]), "coordinates in [0, 1]"),
    (lambda r: r.update(marks=[{"kind": "box", "frame": 0, "box": [0.1, -0.1, 0.5, 0.5], "label": "1"}]), "coordinates in [0, 1]"),
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


def test_the_distance_matrix_finds_the_pairs_the_clip_by_clip_test_finds():
    """Random clips of 3-8 frame hashes, some copies with a few bits flipped: one matrix (chunked) gives exactly the
    pairs that near_duplicate, clip by clip, gives."""
    from fourdpqa.validate import leakage

    rng = np.random.default_rng(1)
    train = [rng.integers(0, 2**63, int(rng.integers(3, 9)), dtype=np.uint64) for _ in range(40)]
    flips = [np.uint64(1) << np.uint64(b) for b in range(5)]
    bench = [t ^ flips[i % 5] if i % 3 == 0 else rng.integers(0, 2**63, len(t), dtype=np.uint64)
             for i, t in enumerate(train[:30])]
    bench += [np.concatenate([train[0][:2], rng.integers(0, 2**63, 3, dtype=np.uint64)])]  # 2 of 5 frames: no
    expected = [(i, j) for i, b in enumerate(bench) for j, t in enumerate(train) if near_duplicate(b, t, 4)]
    assert expected and leakage.near_duplicate_pairs(bench, train, 4) == expected
    old, leakage.CHUNK = leakage.CHUNK, 7
    try:
        assert leakage.near_duplicate_pairs(bench, train, 4) == expected
    finally:
        leakage.CHUNK = old


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


# ------------------------------------------------------------------------------------------------ answer consistency


@pytest.fixture(scope="module")
def scenes_root(tmp_path_factory, good):
    from fourdpqa.scene import write_scene

    root = tmp_path_factory.mktemp("scenes")
    for vid in sorted(set(good[0]["video_id"]) | set(good[1]["video_id"])):
        scene = make_scene(vid)
        scene.meta.extra["answers"] = {r["id"]: r["answer"] for r in make_records(vid)}
        write_scene(scene, root / vid)
    return root


def test_answer_consistency_passes_on_good_and_names_a_wrong_answer(good, scenes_root):
    bench = good[1]
    assert check_answer_consistency(bench, scenes_root, toy_oracle).passed
    victim = bench.filter(pl.col("answer_format") == "yn")["id"][3]
    wrong = bench.with_columns(answer=pl.when(pl.col("id") == victim).then(
        pl.when(pl.col("answer") == "yes").then(pl.lit("no")).otherwise(pl.lit("yes"))).otherwise(pl.col("answer")))
    res = check_answer_consistency(wrong, scenes_root, toy_oracle)
    assert not res.passed and res.blocking and list(res.details["disagreements"]) == [victim]
    assert res.observed.startswith(f"{bench.height - 1}/{bench.height}")


def test_answer_consistency_reports_missing_scenes(good, tmp_path):
    res = check_answer_consistency(good[1].head(3), tmp_path, toy_oracle)
    assert not res.passed and res.details["n_errors"] == 3 and "scene.json" in next(iter(res.details["errors"].values()))


# ------------------------------------------------------------------------------------------------------ blind bias


def test_blind_bias_passes_when_wording_is_independent_of_the_answer(good):
    res = check_blind_bias(good[0], good[1], VP.blind_margin)
    assert res.passed, res.details["offenders"]
    assert res.blocking and set(res.details["per_type"]) >= {"depth/mc", "depth/yn"}
    depth = res.details["per_type"]["depth/yn"]
    assert {"majority", "bow_logreg", "tfidf", "tfidf_p", "min_detectable"} <= set(depth)
    assert not any(k.startswith("query_rule") for k in depth)  # a query-word rule cannot flag balanced pairs


def give_away(df: pl.DataFrame) -> pl.DataFrame:
    """In depth questions a 'really' in the wording means yes, and the correct MC option says 'clearly'."""
    depth = pl.col("question_name") == "depth"
    yn_yes = depth & (pl.col("answer_format") == "yn") & (pl.col("answer") == "yes")
    mc = depth & (pl.col("answer_format") == "mc")
    letter_idx = pl.col("answer").replace_strict(list("ABCD"), [0, 1, 2, 3], default=0, return_dtype=pl.Int64)
    return df.with_columns(
        question=pl.when(yn_yes).then(pl.col("question") + " really").otherwise(pl.col("question")),
        options=pl.when(mc).then(pl.concat_list(
            [pl.when(letter_idx == i).then(pl.col("options").list.get(i) + " clearly").otherwise(pl.col("options").list.get(i))
             for i in range(4)])).otherwise(pl.col("options")))


@pytest.fixture(scope="module")
def given_away(good) -> tuple[pl.DataFrame, pl.DataFrame]:
    train = pl.concat([give_away(dataset_rows([f"proc_{i:05d}" for i in range(6, 20)], "train")), give_away(good[0])])
    return train, give_away(dataset_rows([f"proc_{i:05d}" for i in range(30, 40)], "benchmark"))


def test_blind_bias_flags_types_whose_wording_gives_the_answer_away(given_away):
    res = check_blind_bias(*given_away, VP.blind_margin)
    assert not res.passed
    assert set(res.details["offenders"]) == {"depth/yn", "depth/mc", "spatial/pooled"}  # depth is a spatial type
    assert res.details["per_type"]["depth/yn"]["bow_logreg"] > 0.75 and res.details["per_type"]["depth/mc"]["bow_logreg"] > 0.75


def test_shuffled_answers_keep_each_groups_answers_and_wording():
    bench = pl.concat([query_rows({"clockwise": ["no"] * 20 + ["yes"] * 5}, 5, "benchmark"),
                       query_rows({"counter-clockwise": ["yes"] * 9 + ["no"] * 3}, 3, "benchmark")
                       .with_columns(question_name=pl.lit("depth"))])
    shuffled = shuffled_answers(bench, np.random.default_rng(0))
    key = ["id", "question_name", "answer_format", "question"]
    assert shuffled.select(key).sort("id").equals(bench.select(key).sort("id"))
    for name in ("object_rotation", "depth"):
        assert sorted(shuffled.filter(pl.col("question_name") == name)["answer"]) == sorted(
            bench.filter(pl.col("question_name") == name)["answer"])
    moved = shuffled.sort("id")["answer"] != bench.sort("id")["answer"]
    assert moved.sum() > 5  # a permutation, not the identity


def test_the_null_calibration_keeps_the_luck_and_loses_the_give_away(given_away):
    res = check_blind_bias(*given_away, VP.blind_margin, null_draws=6, seed=3)
    null = res.details["null"]
    over = {k for k, v in res.details["max_excess_over_chance"].items() if v > VP.blind_margin}
    assert null["observed_over_margin"] == len(over) and {"depth/yn", "depth/mc"} <= over
    assert null["draws"] == 6 and null["groups"] == len(res.details["per_type"])
    observed = res.details["max_excess_over_chance"]["depth/yn"]
    assert observed > 0.25 and null["shuffled_excess_mean"]["depth/yn"] < observed / 2  # 'really' means nothing now
    assert 0 <= null["shuffled_over_margin_share"]["depth/yn"] <= 1
    assert null["shuffled_over_margin_range"][0] <= null["shuffled_over_margin_mean"] <= null["shuffled_over_margin_range"][1]
    assert check_blind_bias(*given_away, VP.blind_margin, null_draws=6, seed=3).details["null"] == null  # seeded


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


def test_run_validation_writes_report_and_figures(assembled):
    """The toy records' measurement specs name objects their question text never refers to, so oracle-2 disagrees
    with every derivable one (trajectories are outside its scope): the report fails on exactly that
    (the real generator's records pass oracle-2 in test_pipeline.py; blind-audit failures are tested below)."""
    from fourdpqa.validate.registry import CHECKS

    params, _ = assembled
    report = run_validation(params.data, params.validate, sources=Sources(params.data, oracle=toy_oracle))
    written = json.loads((params.data / "validation" / "report.json").read_text())
    names = [c["name"] for c in written["checks"]]
    assert names == [c.name for c in CHECKS] == [
        "check_schema", "check_schema_train", "check_label_balance", "check_label_balance_train", "check_group_sizes",
        "check_leakage",
        "check_answer_consistency", "check_answer_consistency_train", "check_oracle", "check_oracle_train",
        "check_marks", "check_marks_train", "check_blind_bias", "check_lazy_baselines", "check_framing"]
    assert [c.name for c in report.blocking_failures] == ["check_oracle", "check_oracle_train"] and not written["passed"]
    by_name = {c["name"]: c for c in written["checks"]}
    # assembly ran leakage and the benchmark's consistency on these very tables: read, not recomputed
    assert by_name["check_leakage"]["details"]["recorded_by"] == "assemble"
    assert by_name["check_answer_consistency"]["details"]["recorded_by"] == "assemble"
    assert "recorded_by" not in by_name["check_answer_consistency_train"]["details"]
    d = {k: sum(by_name[n]["details"][k] for n in ("check_oracle", "check_oracle_train"))
         for k in ("n_agree", "n_disagree", "n_derived", "n_errors", "n_underivable")}
    assert d["n_agree"] == 0 and d["n_disagree"] == d["n_derived"] > 0 and d["n_errors"] == 0
    assert all("the question refers to objects []" in v["why"] for n in ("check_oracle", "check_oracle_train")
               for v in by_name[n]["details"]["disagreements"].values())
    fig = written["figures"]
    assert set(fig) == {"facts_per_type", "oracle2", "ambiguous_mark_share", "worst_label_share", "blind",
                        "blind_per_category", "blind_family", "blind_null"}
    assert fig["oracle2"] == {"agreement": 0.0, **d}  # summed over both splits
    assert fig["blind_null"]["draws"] == params.validate.blind_null_draws and fig["blind_null"]["groups"] == len(fig["blind"])
    assert fig["ambiguous_mark_share"] == 0.0
    assert sum(c["n"] for c in fig["blind_per_category"].values()) == sum(v["n"] for v in fig["blind"].values())
    assert sum(v["rows"] for v in fig["facts_per_type"].values()) == params.assemble.benchmark_size
    assert (params.data / "validation" / "plots" / "answers_benchmark.png").read_bytes()[:4] == b"\x89PNG"
    assert written["summary"]["benchmark"]["rows"] == params.assemble.benchmark_size
    lines = format_figures(report.figures)
    assert lines[0].startswith(f"oracle-2 agreement 0.00% of {d['n_derived']} derived")
    assert any(line.strip().startswith("camera_motion (pooled)") and "min det." in line for line in lines)
    assert any(line.startswith("blind audit: ") and "shuffles" in line for line in lines)


def test_validation_recomputes_what_assembly_recorded_once_a_table_changed(assembled):
    """A benchmark edited after assembly: its digest no longer matches the record, so leakage and consistency run
    again (and the consistency check catches the edit)."""
    from fourdpqa.atomic import write_parquet

    params, _ = assembled
    bench_path = params.data / "dataset" / "benchmark.parquet"
    bench = pl.read_parquet(bench_path)
    victim = bench.filter(pl.col("answer_format") == "yn")["id"][0]
    write_parquet(bench_path, bench.with_columns(answer=pl.when(pl.col("id") == victim).then(
        pl.when(pl.col("answer") == "yes").then(pl.lit("no")).otherwise(pl.lit("yes"))).otherwise(pl.col("answer"))))
    report = run_validation(params.data, params.validate, sources=Sources(params.data, oracle=toy_oracle))
    by_name = {c.name: c for c in report.checks}
    assert "recorded_by" not in by_name["check_leakage"].details and by_name["check_leakage"].passed
    consistency = by_name["check_answer_consistency"]
    assert not consistency.passed and list(consistency.details["disagreements"]) == [victim]


def test_a_failed_schema_leaves_the_other_checks_not_run(assembled):
    from fourdpqa.validate import run_checks
    from fourdpqa.validate.registry import CHECKS

    params, result = assembled
    broken = result.benchmark.with_columns(answer=pl.lit("E"))
    report = run_checks(result.train, broken, params.validate, Sources(params.data, oracle=toy_oracle))
    status = {c.name: (c.passed, c.observed) for c in report.checks}
    assert list(status) == [c.name for c in CHECKS]
    assert not status["check_schema"][0] and status["check_schema_train"][0]
    assert all(not passed and observed == "not run: check_schema failed"
               for name, (passed, observed) in status.items() if name not in ("check_schema", "check_schema_train"))
    assert report.figures == {} and report.overview == {}


# ------------------------------------------------------------------------------------------------ shortcuts, power


def query_rows(answers_by_query: dict[str, list[str]], videos: int, split: str) -> pl.DataFrame:
    """Yes/no rows of one type whose stored query decides the answer distribution, spread over ``videos``."""
    rows = []
    for q, answers in answers_by_query.items():
        for i, a in enumerate(answers):
            rows.append(dict(make_records("proc_00000")[1], id=f"{split}-{q}-{i}", video_id=f"v{i % videos}",
                             question_name="object_rotation", question_type=3, category="object_motion",
                             question=f"Seen from above, does the object rotate {q}?", answer=a, answer_text=a,
                             measurement={"spec": {"query": q}, "values": {}, "slots": []}))
    df = qa_frame(rows)
    return df.with_columns(split=pl.lit(split), clip_key=pl.col("clip_id"), video=pl.lit(""),
                           frames=pl.lit(["0.jpg"], dtype=pl.List(pl.Utf8)))


def test_a_query_word_that_predicts_the_answer_is_flagged_by_the_text_models():
    """"clockwise" is mostly answered no and "counter-clockwise" mostly yes (in training and benchmark alike): a
    text model reading the question scores 40/50, p = P(Binomial(50, 0.5) >= 40) < 1e-4."""
    skew = {"clockwise": ["no"] * 20 + ["yes"] * 5, "counter-clockwise": ["yes"] * 20 + ["no"] * 5}
    res = check_blind_bias(query_rows(skew, 10, "train"), query_rows(skew, 10, "benchmark"), VP.blind_margin)
    info = res.details["per_type"]["object_rotation/yn"]
    assert info["tfidf"] == 0.8 and info["tfidf_p"] == pytest.approx(1.19e-5, rel=0.01)
    assert not res.passed and res.blocking and "tfidf 0.800" in res.details["offenders"]["object_rotation/yn"]
    fair = {"clockwise": ["no", "yes"] * 12, "counter-clockwise": ["yes", "no"] * 12}
    res = check_blind_bias(query_rows(fair, 8, "train"), query_rows(fair, 8, "benchmark"), VP.blind_margin)
    assert res.passed and res.details["per_type"]["object_rotation/yn"]["tfidf"] <= 0.55


def test_a_shortcut_spread_over_small_groups_is_caught_by_the_pooled_category():
    """Four yes/no groups of 20 in one category, each answered right 14 times in 20 by the word "really": no group
    can flag (70% at n = 20 is p = 0.058), their pool of 80 (56 right, p ~ 1e-4) does."""
    rows = []
    for g, name in enumerate(["object_rotation", "object_direction", "agent_motion", "moved_distance"]):
        for i in range(20):
            answer = "yes" if i % 2 else "no"
            cue = (i < 14) == (answer == "yes")  # the word agrees with the answer on 14 rows
            rows.append(dict(make_records("proc_00000")[1], id=f"b-{g}-{i:02d}", video_id=f"v{i % 4}", question_type=3 + g,
                             question_name=name, category="object_motion", answer=answer, answer_text=answer,
                             question=f"Does it {'really ' if cue else ''}move?"))
    bench = qa_frame(rows).with_columns(split=pl.lit("benchmark"), clip_key=pl.col("clip_id"), video=pl.lit(""),
                                        frames=pl.lit(["0.jpg"], dtype=pl.List(pl.Utf8)))
    train = bench.with_columns(id=pl.col("id") + "-t", video_id=pl.col("video_id") + "-t")
    res = check_blind_bias(train, bench, VP.blind_margin)
    assert all(v["tfidf"] == 0.7 for v in res.details["per_type"].values())
    assert set(res.details["offenders"]) == {"object_motion/pooled"}
    pooled = res.details["per_category"]["object_motion"]
    assert pooled["n"] == 80 and pooled["tfidf"] == 0.7
    assert pooled["tfidf_p"] == pytest.approx(stats.binomtest(56, 80, 0.5, alternative="greater").pvalue, rel=1e-2)


def test_minimum_detectable_accuracy_is_the_first_score_the_family_could_flag():
    """At the Holm level alpha / m, the smallest k / n over chance + margin with P(Binomial(n, chance) >= k) below it
    (counted here from scipy's survival function)."""
    from fourdpqa.validate.stats import min_detectable

    for n, chance, level in ((30, 0.5, 0.01 / 78), (30, 0.25, 0.01 / 78), (200, 0.5, 0.01 / 78), (5, 0.5, 0.001)):
        expected = next((k / n for k in range(n + 1) if k / n - chance > 0.03
                         and stats.binom.sf(k - 1, n, chance) < level), None)
        got = min_detectable({chance: n}, level, 0.03)
        assert (got is None and expected is None) or got == pytest.approx(expected, abs=1e-4)
    assert min_detectable({0.5: 5}, 0.001, 0.03) is None  # 5/5 has p = 0.031: a group this small can never flag


def test_pooled_p_value_equals_the_sum_over_every_split_of_the_hits():
    """Hits over 6 MC (chance 0.25) and 4 yes/no (0.5) questions: P(S >= k) summed over k1 + k2 >= k by hand."""
    from fourdpqa.validate.stats import p_above_pooled

    for k in range(0, 11):
        by_hand = sum(stats.binom.pmf(a, 6, 0.25) * stats.binom.pmf(b, 4, 0.5)
                      for a in range(7) for b in range(5) if a + b >= k)
        assert p_above_pooled(k, {0.25: 6, 0.5: 4}) == pytest.approx(by_hand, rel=1e-9, abs=1e-15)


def test_the_null_calibration_rescoring_equals_refitting_on_each_shuffle(given_away):
    """The predictors never see benchmark answers, so re-scoring their answers against shuffled ones equals fitting
    and scoring the audit again on each shuffled copy."""
    from fourdpqa.seeding import rng
    from fourdpqa.validate.text_bias import best_excess, blind_scores

    train, bench = given_away
    res = check_blind_bias(train, bench, VP.blind_margin, null_draws=3, seed=5)
    refit = [best_excess(blind_scores(train, shuffled_answers(bench, rng(5, "blind-null", i)))) for i in range(3)]
    counts = [sum(v > VP.blind_margin for v in e.values()) for e in refit]
    null = res.details["null"]
    assert null["shuffled_over_margin_mean"] == pytest.approx(float(np.mean(counts)), abs=0.005)
    for key in null["shuffled_excess_mean"]:
        assert null["shuffled_excess_mean"][key] == pytest.approx(np.mean([e[key] for e in refit]), abs=1e-4)


# ---------------------------------------------------------------------------------------------------------- marks


def square(ids: np.ndarray, oid: int, x0: int, y0: int, size: int) -> None:
    ids[y0:y0 + size, x0:x0 + size] = oid


def circle(cx: float, cy: float, r: float, n: int = 64, label: str = "1") -> dict:
    """A circle mark on frame 0 of an n x n image, pixel centre (cx, cy) and radius r in pixels."""
    return {"kind": "circle", "frame": 0, "xy": [(cx + 0.5) / n, (cy + 0.5) / n], "radius": r / n, "label": label}


@pytest.fixture
def two_objects() -> np.ndarray:
    """64 x 64 ids: a 20 px square object 1 at (10..29, 10..29), a 4 px object 2 at (40..43, 40..43)."""
    ids = np.zeros((64, 64), np.uint16)
    square(ids, 1, 10, 10, 20)
    square(ids, 2, 40, 40, 4)
    return ids


def test_a_small_object_nested_in_a_big_circle_is_rejected(two_objects):
    ids = two_objects.copy()
    square(ids, 3, 18, 18, 3)  # object 3 lies wholly inside object 1's circle (drawn over it)
    tight = circle(19.5, 19.5, 15.0)
    assert judge_marks([tight], [two_objects], (64, 64), 0.1) == []
    problems = judge_marks([tight], [ids], (64, 64), 0.1)
    assert problems == ["circle 1 in frame 0 also holds objects {3: 1.0} (share of their pixels) besides 1"]
    assert judge_marks([tight], [ids], (128, 128), 0.1) == problems  # same verdict at another export size


def test_a_mark_may_graze_another_object_up_to_the_share(two_objects):
    ids = two_objects.copy()
    square(ids, 3, 33, 14, 10)  # 100 px object 3 right of object 1: the circle's edge reaches into it
    shares = judge_marks([circle(19.5, 19.5, 15.0)], [ids], (64, 64), 1.0)
    assert shares == []
    graze = judge_marks([circle(19.5, 19.5, 15.0)], [ids], (64, 64), 0.1)
    inside = ((np.mgrid[:64, :64][1] - 19.5) ** 2 + (np.mgrid[:64, :64][0] - 19.5) ** 2 <= 225)[ids == 3].mean()
    assert (inside > 0.1) == bool(graze) and 0 < inside < 1


def test_overlapping_marks_of_one_question_are_rejected(two_objects):
    apart = [circle(19.5, 19.5, 15.0), circle(41.5, 41.5, 4.0, label="2")]
    assert judge_marks(apart, [two_objects] * 2, (64, 64), 0.1) == []
    touching = [circle(19.5, 19.5, 15.0), circle(41.5, 41.5, 18.0, label="2")]  # centres 31 px apart
    assert "marks 1 and 2 overlap in frame 0" in judge_marks(touching, [two_objects] * 2, (64, 64), 0.1)


def test_check_marks_reports_the_share_and_blocks_the_benchmark(two_objects, tmp_path):
    cv2.imwrite(str(tmp_path / "f.jpg"), np.zeros((64, 64, 3), np.uint8))
    nested = two_objects.copy()
    square(nested, 3, 18, 18, 3)
    rows = dataset_rows(["proc_00000"], "benchmark").head(4).with_columns(
        marks=pl.Series([[circle(19.5, 19.5, 15.0)]] * 3 + [[]], dtype=pl.List(MARK)),
        video_id=pl.Series(["good", "good", "nested", "good"]), frames=pl.lit(["f.jpg"] * 8, dtype=pl.List(pl.Utf8)))
    masks = {"good": two_objects, "nested": nested}
    res = check_marks(rows, tmp_path, lambda video, frame: masks[video], 0.1, 0.0, "benchmark")
    assert not res.passed and res.blocking and res.details["ambiguous_share"] == round(1 / 3, 4)
    assert list(res.details["records"]) == [rows["id"][2]]
    assert check_marks(rows, tmp_path, lambda video, frame: two_objects, 0.1, 0.0, "benchmark").passed
    assert not check_marks(rows, tmp_path, lambda video, frame: masks[video], 0.1, 0.0, "train").blocking


# -------------------------------------------------------------------------------------------------------- figures


def test_facts_count_distinct_video_type_label_objects():
    rows = dataset_rows(["proc_00000", "proc_00001"], "benchmark").filter(pl.col("question_name") == "depth")
    doubled = pl.concat([rows, rows.with_columns(id=pl.col("id") + "-again")])
    facts = facts_per_type(doubled)["depth"]
    expected = len({(r["video_id"], r["label"], tuple(sorted(r["object_ids"]))) for r in rows.iter_rows(named=True)})
    assert facts == {"rows": 2 * rows.height, "facts": expected}


def test_holm_correction_rejects_by_rank_against_hand_computed_limits():
    """m = 4 p-values at alpha 0.01: limits 0.0025, 0.00333, 0.005, 0.01 by rank; stepping stops at the first miss."""
    from fourdpqa.validate.text_bias import holm_significant

    p = {("a", "x"): 0.001, ("b", "x"): 0.004, ("c", "x"): 0.012, ("d", "x"): 0.0001}
    assert holm_significant(p, 0.01) == {("d", "x"), ("a", "x"), ("b", "x")}  # 0.012 >= 0.01 / 1
    late = {("a", "x"): 0.0040, ("b", "x"): 0.0041, ("c", "x"): 0.0042, ("d", "x"): 0.0001}
    assert holm_significant(late, 0.01) == {("d", "x")}  # 0.0040 >= 0.01 / 3 stops, though 0.0042 < 0.01 / 1
    assert holm_significant({("a", "x"): 0.0064}, 0.01) == {("a", "x")}  # one test: no correction


def test_group_sizes_warn_below_the_minimum(good):
    from fourdpqa.validate.balance import check_group_sizes

    bench = good[1].filter(pl.col("answer_format").is_in(["mc", "yn"]))
    counts = dict(bench.group_by(pl.format("{}/{}", "question_name", "answer_format")).len().iter_rows())
    smallest = min(counts.values())
    assert check_group_sizes(bench, smallest).passed
    res = check_group_sizes(bench, smallest + 1)
    assert not res.passed and not res.blocking
    assert res.details["offenders"] == {k: n for k, n in sorted(counts.items()) if n == smallest}
