"""TAP-Vid 2D / TAPVid-3D / MRA metrics against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from fourdpqa.metrics import (
    evaluation_mask,
    mean_over_videos,
    mra,
    queries_first,
    queries_strided,
    score_tracks_2d,
    tapvid3d_metrics,
    tapvid_metrics,
    to_tapvid_pixels,
)

# One track over 4 frames. gt at the origin, occluded at frame 2. Predictions: frame 1 off by 1.5 px, frame 3 off by
# 5 px and predicted occluded.
GT_OCC = np.array([[False, False, True, False]])
GT = np.zeros((1, 4, 2))
PRED = np.array([[[0.0, 0.0], [1.5, 0.0], [0.0, 0.0], [0.0, 5.0]]])
PRED_OCC = np.array([[False, False, False, True]])


def test_perfect_prediction_scores_one():
    rng = np.random.default_rng(0)
    gt = rng.uniform(0, 256, (20, 8, 2))
    occ = rng.random((20, 8)) < 0.3
    q = rng.integers(0, 8, 20)
    occ[np.arange(20), q] = False
    for mode in ("first", "strided"):
        m = tapvid_metrics(q, occ, gt, occ, gt + np.array([0.7, -0.7]), mode)  # 0.99 px off: within 1 px
        assert m["average_jaccard"] == 1.0 and m["occlusion_accuracy"] == 1.0
        assert m["average_pts_within_thresh"] == 1.0


def test_hand_case_query_at_frame_0():
    """E = frames 1..3 in both modes. OA: frame 1 right, 2 and 3 wrong -> 1/3. Visible evaluated frames: 1 and 3.
    Within d: frame 1 (1.5 px) for d >= 2, frame 3 (5 px) for d >= 8 -> pts = 0, .5, .5, 1, 1 (mean .6).
    Jaccard: predicted-visible evaluated frames 1, 2; frame 2 is a false positive (gt occluded), frame 1 is a true
    positive for d >= 2 and a false positive for d = 1 -> J = 0/(2+2), then 1/(2+1) x4 -> AJ = 4/15."""
    for mode in ("first", "strided"):
        m = tapvid_metrics(np.array([0]), GT_OCC, GT, PRED_OCC, PRED, mode)
        assert m["occlusion_accuracy"] == pytest.approx(1 / 3)
        assert [m[f"pts_within_{d}"] for d in (1, 2, 4, 8, 16)] == pytest.approx([0, 0.5, 0.5, 1, 1])
        assert m["average_pts_within_thresh"] == pytest.approx(0.6)
        assert [m[f"jaccard_{d}"] for d in (1, 2, 4, 8, 16)] == pytest.approx([0, 1 / 3, 1 / 3, 1 / 3, 1 / 3])
        assert m["average_jaccard"] == pytest.approx(4 / 15)


def test_first_vs_strided_masks():
    np.testing.assert_array_equal(evaluation_mask(np.array([0, 2]), 4, "first"), [[0, 1, 1, 1], [0, 0, 0, 1]])
    np.testing.assert_array_equal(evaluation_mask(np.array([0, 2]), 4, "strided"), [[0, 1, 1, 1], [1, 1, 0, 1]])
    # Query at frame 1: `first` scores frames 2, 3; `strided` also scores frame 0 (a correct visible prediction).
    first = tapvid_metrics(np.array([1]), GT_OCC, GT, PRED_OCC, PRED, "first")
    strided = tapvid_metrics(np.array([1]), GT_OCC, GT, PRED_OCC, PRED, "strided")
    assert first["occlusion_accuracy"] == 0.0 and strided["occlusion_accuracy"] == pytest.approx(1 / 3)
    assert first["average_pts_within_thresh"] == pytest.approx(0.4)  # only frame 3, within for d = 8, 16
    assert strided["average_pts_within_thresh"] == pytest.approx((0.5 * 3 + 2) / 5)
    assert first["average_jaccard"] == 0.0  # TP 0, FP 1 (frame 2), gt positives 1
    assert strided["average_jaccard"] == pytest.approx(1 / 3)  # TP 1 (frame 0), FP 1, gt positives 2
    with pytest.raises(ValueError, match="query mode"):
        evaluation_mask(np.array([0]), 4, "last")


def test_threshold_is_strict():
    gt = np.zeros((1, 2, 2))
    pred = np.array([[[0.0, 0.0], [2.0, 0.0]]])
    occ = np.zeros((1, 2), bool)
    m = tapvid_metrics(np.array([0]), occ, gt, occ, pred, "first")
    assert m["pts_within_2"] == 0.0 and m["pts_within_4"] == 1.0 and m["jaccard_2"] == 0.0


def test_scaling_to_256():
    xy = np.array([[0.0, 0.0], [511.0, 127.0]])
    np.testing.assert_allclose(to_tapvid_pixels(xy, 512, 128), [[0.25, 1.0], [255.75, 255.0]])
    # a 4 px error along x in a 512-wide frame is a 2 px error at 256 scale
    d = np.diff(to_tapvid_pixels(np.array([[10.0, 3.0], [14.0, 3.0]]), 512, 128), axis=0)
    np.testing.assert_allclose(d, [[2.0, 0.0]])


# ---------------------------------------------------------------------------------------------------- TAPVid-3D

K100 = np.array([100.0, 100.0, 50.0, 50.0])


def test_3d_median_scaling_ignores_occluded_samples():
    """gt z = 10 m; pred = 2x gt on frames visible in both, wild on the gt-occluded frame -> scale 0.5 -> exact.
    OA 2/3; pts 1; jaccard: TP 2, FP 1 (frame 2 predicted visible but occluded) -> 2/3."""
    gt = np.array([[[0.0, 0.0, 10.0]] * 3])
    pred = np.array([[[0.0, 0.0, 20.0], [0.0, 0.0, 20.0], [0.0, 0.0, 2000.0]]])
    gt_occ = np.array([[False, False, True]])
    pred_occ = np.zeros((1, 3), bool)
    for scaling in ("median", "mean"):
        m = tapvid3d_metrics(gt_occ, gt, pred_occ, pred, K100, scaling=scaling)
        assert m["occlusion_accuracy"] == pytest.approx(2 / 3)
        assert m["average_pts_within_thresh"] == 1.0
        assert m["average_jaccard"] == pytest.approx(2 / 3)
    none = tapvid3d_metrics(gt_occ, gt, pred_occ, pred, K100, scaling="none")
    assert none["average_pts_within_thresh"] == 0.0  # 10 m off, largest threshold 16 * 10 / 100 = 1.6 m


def test_3d_depth_adaptive_and_fixed_thresholds():
    """0.15 m error at z = 10 m (threshold d * 0.1 m) and at z = 50 m (d * 0.5 m)."""
    gt = np.array([[[0.0, 0.0, 10.0]], [[0.0, 0.0, 50.0]]])
    pred = gt + np.array([0.15, 0.0, 0.0])
    occ = np.zeros((2, 1), bool)
    m = tapvid3d_metrics(occ, gt, occ, pred, K100, scaling="none")
    assert [m[f"pts_within_{d}"] for d in (1, 2, 4, 8, 16)] == [0.5, 1, 1, 1, 1]
    fixed = tapvid3d_metrics(occ, gt, occ, pred, K100, scaling="none", fixed_metric_thresholds=True)
    assert [fixed[f"pts_within_{d}"] for d in (1, 2, 4, 8, 16)] == [0, 0, 1, 1, 1]  # 0.01, 0.04, 0.16, ...


def test_3d_per_trajectory_scaling():
    rng = np.random.default_rng(1)
    gt = rng.uniform(1, 5, (2, 4, 3))
    pred = gt * np.array([3.0, 0.5])[:, None, None]
    occ = np.zeros((2, 4), bool)
    m = tapvid3d_metrics(occ, gt, occ, pred, K100, scaling="per_trajectory", query_frame=np.array([0, 2]))
    assert m["average_jaccard"] == pytest.approx(1.0)
    assert tapvid3d_metrics(occ, gt, occ, pred, K100, scaling="median")["average_jaccard"] < 1.0
    with pytest.raises(ValueError, match="query_frame"):
        tapvid3d_metrics(occ, gt, occ, pred, K100, scaling="per_trajectory")


# -------------------------------------------------------------------------------------------- queries, averages


def test_query_sampling_first_and_strided():
    occ = np.array([[True, False, False], [True, True, True], [False, True, False]])
    track, frame = queries_first(occ)
    np.testing.assert_array_equal(track, [0, 2])
    np.testing.assert_array_equal(frame, [1, 0])
    track, frame = queries_strided(occ, stride=2)
    np.testing.assert_array_equal(track, [2, 0, 2])
    np.testing.assert_array_equal(frame, [0, 2, 2])


def test_mean_over_videos():
    assert mean_over_videos([{"a": 1.0, "b": 0.0}, {"a": 0.5, "b": 1.0}]) == {"a": 0.75, "b": 0.5}
    assert mean_over_videos([]) == {}


# ---------------------------------------------------------------------------------------------------------- MRA


def test_mra_hand_cases():
    """Thresholds 0.50..0.95: relative error e passes theta when e <= 1 - theta."""
    assert mra(3.0, 3.0) == 1.0
    assert mra(1.12, 1.0) == pytest.approx(0.8)  # e = .12 passes theta <= .85 (8 of 10)
    assert mra(11.2, 10.0) == pytest.approx(0.8)  # relative, so scale free
    assert mra(0.72, 1.0) == pytest.approx(0.5)  # e = .28 passes theta <= .70 (5 of 10)
    assert mra(1.49, 1.0) == pytest.approx(0.1)  # e = .49 passes theta = .50 only
    assert mra(2.0, 1.0) == 0.0
    assert mra(float("nan"), 1.0) == 0.0
    np.testing.assert_allclose(mra(np.array([1.0, 1.12, 0.0]), np.array([1.0, 1.0, 1.0])), [1.0, 0.8, 0.0])
    with pytest.raises(ValueError, match="non-zero"):
        mra(1.0, 0.0)


def test_score_tracks_2d_uses_256_scale_and_the_chosen_track():
    from fourdpqa.tracks import Queries, Tracks

    n, t = 1, 3
    z3 = np.zeros((n, t, 3))
    gt = Tracks(frames=np.arange(t), queries=Queries(frame=np.array([0]), xy=np.array([[0.0, 0.0]])),
                object_id=np.array([0]), visual_xy=np.zeros((n, t, 2)), visual_occluded=np.zeros((n, t), bool),
                true_xy=np.full((n, t, 2), 50.0), true_in_view=np.array([[True, True, False]]),
                points_world=z3, points_query_cam=z3, points_cam=z3)
    occ = np.zeros((n, t), bool)
    # 3 px off in a 512-wide frame = 1.5 px at 256 scale: within 2 but not 1.
    m = score_tracks_2d(gt, np.full((n, t, 2), [3.0, 0.0]), occ, 512, 512, "first")
    assert m["pts_within_1"] == 0.0 and m["pts_within_2"] == 1.0
    tm = score_tracks_2d(gt, np.full((n, t, 2), 50.0), occ, 512, 512, "first", true_motion=True)
    assert tm["pts_within_1"] == 1.0 and tm["occlusion_accuracy"] == 0.5  # frame 2 is out of the query view


# ------------------------------------------------------------------------------------------ answer diversity


def _answers(fmt: str, values: str) -> list[dict]:
    return [{"answer_format": fmt, "extracted": v} for v in values]


def test_answer_entropy_in_bits():
    from fourdpqa.metrics import answer_entropy

    assert answer_entropy(["no"] * 9) == 0.0
    assert answer_entropy(["yes", "no"] * 5) == pytest.approx(1.0)
    assert answer_entropy("ABCD" * 3) == pytest.approx(2.0)
    # 3 A, 1 B: -(3/4 log2 3/4 + 1/4 log2 1/4)
    assert answer_entropy("AAAB") == pytest.approx(-(0.75 * np.log2(0.75) + 0.25 * np.log2(0.25)))


def test_constant_answerer_is_degenerate_and_a_varied_one_is_not():
    from fourdpqa.metrics import answer_diversity

    constant = answer_diversity(_answers("yn", "n" * 20) + _answers("mc", "D" * 10) + _answers("free", "xyz"))
    assert constant["degenerate"] and len(constant["reasons"]) == 2
    assert constant["yn"] == {"n": 20, "distinct": 1, "entropy_bits": 0.0, "counts": {"n": 20}, "degenerate": True}
    two_letters = answer_diversity(_answers("yn", "yn" * 5) + _answers("mc", "CDCDCD"))
    assert two_letters["degenerate"] and two_letters["reasons"][0].startswith("mc: 2 distinct")
    assert not two_letters["yn"]["degenerate"]
    varied = answer_diversity(_answers("yn", "yyn") + _answers("mc", "ABCA"))
    assert not varied["degenerate"] and varied["mc"]["distinct"] == 3 and "free" not in varied


def test_paired_sign_test_is_the_exact_binomial_tail():
    from math import comb

    from fourdpqa.metrics import holm, paired_sign_test

    # 10 questions: model right where reference wrong on 6, the reverse on 1, equal on 3
    model = [1, 1, 1, 1, 1, 1, 0, 1, 0, 1]
    ref = [0, 0, 0, 0, 0, 0, 1, 1, 0, 1]
    t = paired_sign_test(model, ref)
    assert (t["wins"], t["losses"], t["n"]) == (6, 1, 10)
    assert t["p"] == pytest.approx(sum(comb(7, k) for k in range(6, 8)) / 2**7)  # P(X >= 6), X ~ Bin(7, 1/2)
    assert t["accuracy"] == 0.8 and t["reference_accuracy"] == 0.3
    assert paired_sign_test([1, 0], [1, 0])["p"] == 1.0  # no discordant pair: no evidence either way
    adjusted = holm({"a": 0.01, "b": 0.04, "c": 0.03})
    assert adjusted == pytest.approx({"a": 0.03, "c": 0.06, "b": 0.06})  # 3 x 0.01, max(2 x 0.03, .), max(1 x 0.04, .)
