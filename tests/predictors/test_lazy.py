"""The lazy motion baselines (issue 24.1): what they know is measured right on analytic motions, they exploit a
benchmark whose "no" answers come from still objects, and they sit at chance on one whose "no" answers come from
the other sense of rotation; the validate check flags the first and passes the second."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from fourdpqa.geometry import axis_angle_to_quat, quat_to_matrix
from fourdpqa.params import Params
from fourdpqa.predictors import build_predictor
from fourdpqa.predictors.base import Sample
from fourdpqa.predictors.lazy import LazyMotionPredictor, Motion, clip_knowledge, rotation_angle_deg
from fourdpqa.scene import write_scene
from fourdpqa.thresholds import LabelThresholds
from fourdpqa.validate.shortcuts import check_lazy_baselines
from fourdpqa.validate.stats import p_above_pooled
from tests.qa.conftest import N_T, build_scene, cam_track, obj_track

TH = LabelThresholds().model_dump()
# id: (start, velocity per frame, yaw rate per frame): 1 spins CCW, 2 spins CW, 3 drives 1.35 m, 4 stands still
OBJS = {1: ((7.0, -2.0, 0.4), (0, 0, 0), 0.1), 2: ((7.0, 2.0, 0.4), (0, 0, 0), -0.1),
        3: ((9.0, 0.0, 0.4), (0, 0.15, 0), 0.0), 4: ((11.0, -1.0, 0.4), (0, 0, 0), 0.0)}


def scene(video_id: str = "toy_00001", pan: float = 0.0):
    cams = cam_track((0.0, 0.0, 1.5), (6.0, 0.0, 0.0), yaw_rate=pan)
    objs = [((0.8, 0.8, 0.8), obj_track(start, vel, 0.0, rate)) for start, vel, rate in OBJS.values()]
    return build_scene(cams, objs, captions=["a", "b", "c", "d"], width=64, height=48, video_id=video_id)


def test_rotation_angle_matches_axis_angle():
    axis = np.array([0.3, -0.5, 0.8]) / np.linalg.norm([0.3, -0.5, 0.8])
    r0 = quat_to_matrix(axis_angle_to_quat(np.array([1.0, 0.0, 0.0]), np.array(0.4)))
    turns = np.radians([0.0, 10.0, 45.0, 170.0])
    rt = np.stack([r0 @ quat_to_matrix(axis_angle_to_quat(axis, np.array(a))) for a in turns])
    np.testing.assert_allclose(rotation_angle_deg(r0, rt), np.degrees(turns), atol=1e-6)


def test_knowledge_of_analytic_motions():
    """0.1 rad / frame over 9 frames = 52 deg of spin; 0.15 m / frame = 1.35 m of travel; thresholds: midpoints
    0.275 m and 8 deg."""
    cam, objects = clip_knowledge(scene(), list(range(N_T)), 0.275, 8.0)
    assert objects == {1: Motion(False, True), 2: Motion(False, True), 3: Motion(True, False), 4: Motion(False, False)}
    assert cam == Motion(False, False)
    cam, _ = clip_knowledge(scene(pan=np.radians(2.0)), list(range(N_T)), 0.275, 8.0)  # pans 18 deg
    assert cam == Motion(False, True)
    assert objects[1].seen("presence") == (True,) and objects[1].seen("direction_blind") == (False, True)


def record(video: str, i: int, oid: int, query: str, answer: str) -> dict:
    return {"id": f"{video}-q{i}", "video_id": video, "clip_id": f"{video}-c0", "clip_frames": list(range(N_T)),
            "question_type": 3, "question_name": "object_rotation", "category": "object_motion",
            "answer_format": "yn", "options": ["yes", "no"], "answer": answer, "answer_text": answer, "label": "",
            "object_ids": [oid], "threshold": TH, "marks": [],
            "measurement": {"spec": {"objects": [oid], "query": query}, "values": {}, "slots": []}}


# rotation questions of one video: yes = each spinner asked its own sense; no = the still objects (leaky) or
# each spinner asked the other sense (clean): a motion detector tells the two "no" kinds apart, not the senses
YES = [(1, "counter-clockwise", "yes"), (2, "clockwise", "yes")]
LEAKY = YES + [(4, "clockwise", "no"), (4, "counter-clockwise", "no")]
CLEAN = YES + [(1, "clockwise", "no"), (2, "counter-clockwise", "no")]


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    root = tmp_path_factory.mktemp("lazy")
    for v in range(24):
        vid = f"toy_{v:05d}"
        write_scene(scene(vid), root / "scenes" / vid)
    return root


def split(questions, videos) -> list[dict]:
    return [record(f"toy_{v:05d}", i, *q) for v in videos for i, q in enumerate(questions)]


@pytest.mark.parametrize("knowledge", ["presence", "direction_blind"])
def test_the_baselines_exploit_still_objects_and_not_the_sense_of_rotation(scenes, knowledge):
    for questions, expected in ((LEAKY, 1.0), (CLEAN, 0.5)):
        train, bench = split(questions, range(12)), split(questions, range(12, 24))
        lazy = LazyMotionPredictor(scenes / "scenes", knowledge).fit(train)
        answers = lazy.predict([Sample([], "", r) for r in bench])
        assert np.mean([a == r["answer"] for a, r in zip(answers, bench)]) == expected


def test_the_check_flags_the_leaky_benchmark_and_passes_the_clean_one(scenes):
    for questions, flagged in ((LEAKY, True), (CLEAN, False)):
        train, bench = (pl.DataFrame(split(questions, videos)) for videos in (range(12), range(12, 24)))
        result = check_lazy_baselines(train, bench, scenes / "scenes", margin=0.03)
        scores = result.details["scores"]["motion_presence"]["object_motion"]
        assert result.passed is not flagged and scores["n"] == 48 and scores["chance"] == 0.5
        assert scores["accuracy"] == (1.0 if flagged else 0.5)


def test_registry_builds_both_fitted_on_training(scenes):
    params = Params(base={"data_root": str(scenes), "allowed_roots": [str(scenes)]})
    train = split(LEAKY, range(4))
    for name in ("motion_presence", "direction_blind"):
        lazy = build_predictor(name, params, train_records=train)
        assert lazy.name == name and lazy.predict([Sample([], "", train[2])]) == ["no"]


def test_poisson_binomial_tail():
    # two coins of 1/2 and one die face of 1/4: P(>= 2 right) = 1/4 * 3/4 + 2 * (1/2 * 1/2 * 1/4) + 1/4 * 1/4
    assert p_above_pooled(2, {0.5: 2, 0.25: 1}) == pytest.approx(0.25 * 0.75 + 2 * 0.0625 + 0.0625)
    assert p_above_pooled(0, {0.5: 5}) == pytest.approx(1.0) and p_above_pooled(5, {0.5: 5}) == pytest.approx(1 / 32)
