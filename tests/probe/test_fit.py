"""The pixel probe learns an answer that only the pixels carry, stays at chance where the pixels carry nothing,
and the learnability check flags exactly the latter type (tiny configuration: seconds on CPU)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import polars as pl
import pytest

from fourdpqa.params import ProbeParams
from fourdpqa.probe import run_probe
from fourdpqa.validate.learnability import check_pixel_learnability
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
    """Per clip two questions with the same wording every time: "brightness" (yes/no: is it getting brighter?,
    answered by the pixels) and "coin" (yes/no drawn at random, independent of the pixels)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        up = bool(rng.integers(2))
        frames = write_clip(root, f"{split}{i}", brightness_clip(rng, up))
        base = {"video_id": f"{split}-v{i % 5}", "answer_format": "yn", "options": ["yes", "no"], "frames": frames,
                "category": "toy",
                "measurement": {"spec": {}, "values": {}, "slots": []}}
        rows.append({**base, "id": f"{split}-{i:03d}-b", "question_name": "brightness",
                     "question": "Does the image get brighter over the clip?", "answer": "yes" if up else "no"})
        rows.append({**base, "id": f"{split}-{i:03d}-c", "question_name": "coin",
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


def test_learnability_flags_the_type_whose_pixels_beat_text_by_nothing(splits, probed):
    root, train, bench = splits
    blind = blind_scores(train, bench)
    res = check_pixel_learnability(train, bench, root, blind, TINY, seed=0, device="cpu")
    assert not res.passed and not res.blocking and res.details["flagged"] == ["coin/yn"]
    b = res.details["per_type"]["brightness/yn"]
    assert b["gain_over_text"] == pytest.approx(b["probe"] - b["best_text"]) and b["gain_over_text"] > 0.3
    assert b["probe_p"] < 1e-6 and "flow" not in b  # the flow heuristic only reads camera-motion types
    assert {k: v["probe"] for k, v in res.details["per_type"].items()} == probed.accuracy  # same seed, same result
    pooled = res.details["per_category"]["toy"]  # both types, 60 questions each
    truth = dict(zip(bench["id"], bench["answer"], strict=True))
    assert pooled["n"] == 120
    assert pooled["probe"] == pytest.approx(np.mean([probed.predictions[i] == a for i, a in truth.items()]), abs=1e-4)
    text = res.details["per_type"]["coin/yn"]["best_text"] / 2 + res.details["per_type"]["brightness/yn"]["best_text"] / 2
    assert pooled["best_text"] == pytest.approx(text, abs=1e-4) and pooled["chance"] == 0.5


def test_learnability_without_training_rows_of_the_benchmark_types_is_a_warning_not_a_crash(splits):
    root, train, bench = splits
    res = check_pixel_learnability(train.filter(pl.col("question_name") == "coin"),
                                   bench.filter(pl.col("question_name") == "brightness"), root, {}, TINY, 0, "cpu")
    assert not res.passed and not res.blocking and res.observed.startswith("probe not run: pixel probe: 0 training")


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
