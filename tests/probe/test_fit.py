"""The pixel probe learns an answer that only the pixels carry, stays at chance where the pixels carry nothing,
and the learnability check passes when some category is learnable from the pixels and warns when none is (tiny
configuration: seconds on CPU)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import polars as pl
import pytest

from scipy import stats

from fourdpqa.params import ProbeParams
from fourdpqa.probe import ProbeResult, run_probe
from fourdpqa.probe.fit import capped
from fourdpqa.validate.learnability import judge
from fourdpqa.validate.text_bias import blind_scores
from schemas.qa import MEASUREMENT
from tests.helpers.camera_poses import write_cameras

TINY = ProbeParams(frames=4, size=16, epochs=12, batch_size=16, lr=5e-3, width=4, dim=16)
T = 4


def write_clip(root: Path, name: str, frames: np.ndarray) -> list[str]:
    paths = []
    for i, f in enumerate(frames):
        rel = f"clips/{name}/{i:03d}.jpg"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / rel), f)
        paths.append(rel)
    return paths


def brightness_clip(rng: np.random.Generator, up: bool) -> np.ndarray:
    """(T, 32, 32, 3) uint8 textured frames getting brighter (``up``) or darker over time."""
    texture = rng.integers(0, 60, (32, 32, 1))
    levels = np.linspace(60, 180, T) if up else np.linspace(180, 60, T)
    return np.clip(texture + levels[:, None, None, None], 0, 255).repeat(3, -1).astype(np.uint8)


def dataset(root: Path, split: str, n: int, seed: int) -> pl.DataFrame:
    """Per clip two questions with the same wording every time: "brightness" (category "light"; yes/no: is it
    getting brighter?, answered by the pixels) and "coin" (category "chance"; yes/no drawn at random, independent
    of the pixels)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        up = bool(rng.integers(2))
        frames = write_clip(root, f"{split}{i}", brightness_clip(rng, up))
        base = {"video_id": f"{split}-v{i % 5}", "answer_format": "yn", "options": ["yes", "no"], "frames": frames,
                "measurement": {"spec": {}, "values": {}, "slots": []}}
        rows.append({**base, "id": f"{split}-{i:03d}-b", "question_name": "brightness", "category": "light",
                     "question": "Does the image get brighter over the clip?", "answer": "yes" if up else "no"})
        rows.append({**base, "id": f"{split}-{i:03d}-c", "question_name": "coin", "category": "chance",
                     "question": "Did the coin land heads?", "answer": "yes" if rng.integers(2) else "no"})
    return pl.DataFrame(rows, schema_overrides={"measurement": MEASUREMENT})


@pytest.fixture(scope="module")
def splits(tmp_path_factory) -> tuple[Path, pl.DataFrame, pl.DataFrame]:
    root = tmp_path_factory.mktemp("probe")
    return root, dataset(root, "train", 120, 0), dataset(root, "bench", 60, 1)


@pytest.fixture(scope="module")
def probed(splits):
    root, train, bench = splits
    return run_probe(train, bench, root, TINY, seed=0, device="cpu")


def test_probe_learns_what_only_the_pixels_say(splits, probed):
    root, train, bench = splits
    result = probed
    assert result.n == {"brightness/yn": 60, "coin/yn": 60} and result.train_rows == 240
    assert result.accuracy["brightness/yn"] >= 0.9
    assert result.accuracy["coin/yn"] <= 0.7
    truth = dict(zip(bench["id"], bench["answer"], strict=True))
    right = [result.predictions[i] == truth[i] for i in bench.filter(pl.col("question_name") == "brightness")["id"]]
    assert np.mean(right) == result.accuracy["brightness/yn"]


CATEGORIES = {"brightness": "light", "coin": "chance"}


def test_learnability_passes_when_a_category_is_learnable_and_lists_the_types_without_gain(splits, probed):
    root, train, bench = splits
    blind = blind_scores(train, bench)
    res = judge(probed, blind, {}, CATEGORIES, TINY)
    assert res.passed and not res.blocking and res.details["learnable_categories"] == ["light"]
    assert res.details["no_gain_types"] == ["coin/yn"] and res.details["flagged"] == []
    b = res.details["per_type"]["brightness/yn"]
    assert b["gain_over_text"] == pytest.approx(b["probe"] - b["best_text"]) and b["gain_over_text"] > 0.3
    assert b["probe_p"] < 1e-6 and "flow" not in b  # the flow heuristic only reads camera-motion types
    assert {k: v["probe"] for k, v in res.details["per_type"].items()} == probed.accuracy
    light = res.details["per_category"]["light"]
    truth = dict(zip(bench["id"], bench["answer"], strict=True))
    hits = sum(probed.predictions[i] == truth[i] for i in bench.filter(pl.col("question_name") == "brightness")["id"])
    expected_p = stats.binomtest(hits, 60, b["best_text"], alternative="greater").pvalue
    assert light["n"] == 60 and light["p_vs_text"] == pytest.approx(expected_p, rel=1e-2) and light["learnable"]


def test_learnability_warns_when_no_category_is_learnable_from_the_pixels(splits, probed):
    """Only the coin type (its answer is not in the pixels): no category beats text, the check warns."""
    root, train, bench = splits
    coin = ProbeResult({"coin/yn": probed.accuracy["coin/yn"]}, {"coin/yn": 60}, {}, 120, probed.final_loss)
    res = judge(coin, blind_scores(train, bench), {}, CATEGORIES, TINY)
    assert not res.passed and not res.blocking and res.details["flagged"] == ["chance"]
    assert res.observed.startswith("learnable from the pixels: no category")


def test_category_pooling_weights_groups_by_size_and_tests_against_the_text_rate():
    """Two groups of one category: 40 MC at 0.50 and 60 yes/no at 0.70 give 62/100 hits against the text rate
    (0.30 x 40 + 0.55 x 60) / 100 = 0.45; Holm over one category is the plain binomial test."""
    probe = ProbeResult({"a/mc": 0.5, "a/yn": 0.7}, {"a/mc": 40, "a/yn": 60}, {}, 10, 0.0)
    blind = {"a/mc": {"majority": 0.3}, "a/yn": {"tfidf": 0.55, "majority": 0.5}}
    res = judge(probe, blind, {}, {"a": "cat"}, TINY)
    pooled = res.details["per_category"]["cat"]
    assert pooled["n"] == 100 and pooled["probe"] == 0.62 and pooled["best_text"] == 0.45
    assert pooled["chance"] == pytest.approx(0.4)
    p = stats.binomtest(62, 100, 0.45, alternative="greater").pvalue
    assert pooled["p_vs_text"] == pytest.approx(p, rel=1e-2) and res.passed == (p < TINY.alpha)


def test_training_rows_are_capped_by_a_seeded_sample_in_id_order(splits):
    _, train, _ = splits
    kept = capped(train, 50, seed=3)
    assert kept.height == 50 and kept["id"].to_list() == sorted(kept["id"].to_list())
    assert capped(train, 50, seed=3).equals(kept) and not capped(train, 50, seed=4).equals(kept)
    assert capped(train, 10_000, seed=3).equals(train)


def test_a_capped_probe_learns_from_the_rows_it_kept(splits):
    root, train, bench = splits
    result = run_probe(train, bench, root, TINY.model_copy(update={"max_train_rows": 150}), seed=0, device="cpu")
    assert result.train_rows == 150 and result.accuracy["brightness/yn"] >= 0.8


def pan_clip(texture: np.ndarray, left: bool) -> np.ndarray:
    """(T, 32, 32, 3): a window over ``texture`` panning left (content moves right) or right, 2 px per frame."""
    step = 2 if left else -2
    return np.stack([texture[16:48, 16 - i * step:48 - i * step] for i in range(T)])


def camera_dataset(root: Path, split: str, n: int, seed: int) -> pl.DataFrame:
    """"Does the camera pan left?" every time, answered by which way the content moves; each video's scene holds
    camera poses turning the same way (the probe's auxiliary target)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        left = bool(rng.integers(2))
        texture = cv2.GaussianBlur(rng.integers(0, 255, (64, 64, 3)).astype(np.uint8), (5, 5), 1.0)
        vid = f"{split}-cam{i}"
        write_cameras(root / "scenes", vid, T)
        rows.append({"id": f"{split}-{i:03d}", "video_id": vid, "clip_frames": list(range(T)), "category": "camera_motion",
                     "question_name": "camera_movement", "answer_format": "yn", "options": ["yes", "no"],
                     "question": "Does the camera pan left?", "answer": "yes" if left else "no",
                     "frames": write_clip(root, f"{split}cam{i}", pan_clip(texture, left)),
                     "measurement": {"spec": {}, "values": {}, "slots": []}})
    return pl.DataFrame(rows, schema_overrides={"measurement": MEASUREMENT})


def test_probe_reads_the_pan_from_the_motion_and_learns_from_the_training_scenes_poses(tmp_path):
    train, bench = camera_dataset(tmp_path, "train", 60, 2), camera_dataset(tmp_path, "bench", 40, 3)
    result = run_probe(train, bench, tmp_path, TINY, seed=0, device="cpu", scenes_dir=tmp_path / "scenes")
    assert result.accuracy["camera_movement/yn"] >= 0.9
    truth = dict(zip(bench["id"], bench["answer"], strict=True))
    assert np.mean([result.predictions[i] == a for i, a in truth.items()]) == result.accuracy["camera_movement/yn"]
    missing = train.with_columns(video_id=pl.lit("no-such-video"))
    with pytest.raises(FileNotFoundError, match="no-such-video"):  # the training scenes are read, not assumed
        run_probe(missing, bench, tmp_path, TINY, seed=0, device="cpu", scenes_dir=tmp_path / "scenes")
