"""Scores for tracks and numeric answers: TAP-Vid 2D, TAPVid-3D and mean relative accuracy (MRA).

Definitions follow the reference implementations (google-deepmind/tapnet ``compute_tapvid_metrics`` and
``tapvid3d/evaluation/metrics.py``; VSI-Bench ``mean_relative_accuracy`` in lmms-eval), re-implemented for one video
at a time. Array conventions (tapnet's, but per video): tracks ``(N, T, 2)`` pixel (x, y) or ``(N, T, 3)``
camera-frame (x, y, z) metres; occlusion ``(N, T)`` bool, True = occluded; query frames ``(N,)`` int. Scores are
fractions in [0, 1] (papers print x100); a benchmark figure is the plain mean over videos (:func:`mean_over_videos`).

Answer diversity (:func:`answer_diversity`, :func:`answer_entropy`) and the paired comparison of two predictors on
the same questions (:func:`paired_sign_test`, :func:`holm`) tell a model that looks at the video from one that
answers the same thing every time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # metrics stay importable without torch
    from fourdpqa.tracks import Tracks

TAPVID_THRESHOLDS_PX = (1, 2, 4, 8, 16)
TAPVID_SIZE = 256
# TAPVid-3D's fixed metric thresholds (metres) used instead of the depth-adaptive ones when asked.
FIXED_METRIC_THRESHOLDS_M = {1: 0.01, 2: 0.04, 4: 0.16, 8: 0.64, 16: 2.56}
# VSI-Bench: np.linspace(0.5, 0.95, int((0.95 - 0.5) / 0.05 + 2)) -> the 10 values 0.50, 0.55, ..., 0.95.
MRA_THRESHOLDS = np.linspace(0.50, 0.95, 10)


def to_tapvid_pixels(xy: np.ndarray, width: int, height: int, size: int = TAPVID_SIZE) -> np.ndarray:
    """OpenCV pixel (x, y) of a W x H image -> raster coordinates of the same point in a ``size`` x ``size`` image.

    TAP-Vid thresholds are in pixels of 256x256 frames; its raster coordinates put pixel centres at +0.5, so the
    map is ``(x + 0.5) * size / W`` (likewise y). Distances scale by ``size / W`` (resp. ``size / H``).
    """
    xy = np.asarray(xy, np.float64)
    return (xy + 0.5) * np.array([size / width, size / height])


def evaluation_mask(query_frame: np.ndarray, n_frames: int, query_mode: str) -> np.ndarray:
    """(N, T) bool: which frames of each track are scored.

    ``first``: only frames strictly after the query frame (TAP-Vid "query first", queries at first visibility);
    ``strided``: every frame except the query frame itself. The query frame is never scored (it is given).
    """
    t = np.arange(n_frames)
    q = np.round(np.asarray(query_frame)).astype(np.int64)[:, None]
    if query_mode == "first":
        return t[None] > q
    if query_mode == "strided":
        return t[None] != q
    raise ValueError(f"unknown TAP-Vid query mode {query_mode!r} (use 'first' or 'strided')")


def _tap_scores(
    gt_occluded: np.ndarray, pred_occluded: np.ndarray, sq_dist: np.ndarray, thresholds: Mapping[int, np.ndarray | float],
    weights: np.ndarray,
) -> dict[str, float]:
    """Shared TAP-Vid definitions given squared distances, per-sample thresholds and evaluation weights (N, T)."""
    visible, pred_visible = ~gt_occluded, ~pred_occluded
    out = {"occlusion_accuracy": float(((pred_occluded == gt_occluded) * weights).sum() / weights.sum())}
    gt_positives = (visible * weights).sum()
    for name, thresh in thresholds.items():
        within = sq_dist < np.square(thresh)  # strict <; NaN predictions are never within
        correct = within & visible
        out[f"pts_within_{name}"] = float((correct * weights).sum() / gt_positives)
        true_pos = ((correct & pred_visible) * weights).sum()
        false_pos = (((~visible & pred_visible) | (~within & pred_visible)) * weights).sum()
        out[f"jaccard_{name}"] = float(true_pos / (gt_positives + false_pos))
    out["average_jaccard"] = float(np.mean([out[f"jaccard_{k}"] for k in thresholds]))
    out["average_pts_within_thresh"] = float(np.mean([out[f"pts_within_{k}"] for k in thresholds]))
    return out


def tapvid_metrics(
    query_frame: np.ndarray,
    gt_occluded: np.ndarray,
    gt_tracks: np.ndarray,
    pred_occluded: np.ndarray,
    pred_tracks: np.ndarray,
    query_mode: str = "first",
) -> dict[str, float]:
    """TAP-Vid 2D metrics of one video; tracks in pixels already scaled to 256x256 (:func:`to_tapvid_pixels`).

    With E = :func:`evaluation_mask`, V = ~gt_occluded, P = ~pred_occluded and, per threshold d in {1,2,4,8,16} px,
    W_d = ``||pred - gt||^2 < d^2`` (strict):

    - ``occlusion_accuracy`` (OA) = |(pred_occluded == gt_occluded) & E| / |E|;
    - ``pts_within_d`` = |W_d & V & E| / |V & E| (ignores the predicted occlusion); ``average_pts_within_thresh``
      (delta_avg) = its mean over d;
    - ``jaccard_d`` = TP / (|V & E| + FP) with TP = |W_d & V & P & E|, FP = |((~V & P) | (~W_d & P)) & E|;
      ``average_jaccard`` (AJ) = mean over d.

    A ratio with an empty denominator (e.g. no visible evaluated sample) is NaN, as in tapnet.
    """
    gt_occluded, pred_occluded = np.asarray(gt_occluded, bool), np.asarray(pred_occluded, bool)
    weights = evaluation_mask(query_frame, gt_occluded.shape[1], query_mode).astype(np.float64)
    sq = np.sum(np.square(np.asarray(pred_tracks, np.float64) - np.asarray(gt_tracks, np.float64)), -1)
    return _tap_scores(gt_occluded, pred_occluded, sq, {d: float(d) for d in TAPVID_THRESHOLDS_PX}, weights)


def score_tracks_2d(
    gt: Tracks, pred_xy: np.ndarray, pred_occluded: np.ndarray, width: int, height: int,
    query_mode: str = "strided", true_motion: bool = False,
) -> dict[str, float]:
    """TAP-Vid 2D metrics of predictions (N, T, 2) OpenCV pixels / (N, T) bool against our ground-truth tracks.

    Both are rescaled to 256x256 first. ``true_motion`` scores against the true-motion track M2D(t), whose
    "occluded" is "not in the query camera's view"; otherwise against the visual track and its occlusion.
    """
    gt_xy, gt_occ = (gt.true_xy, ~gt.true_in_view) if true_motion else (gt.visual_xy, gt.visual_occluded)
    return tapvid_metrics(gt.queries.frame, gt_occ, to_tapvid_pixels(gt_xy, width, height), pred_occluded,
                          to_tapvid_pixels(pred_xy, width, height), query_mode)


def tapvid3d_metrics(
    gt_occluded: np.ndarray,
    gt_tracks: np.ndarray,
    pred_occluded: np.ndarray,
    pred_tracks: np.ndarray,
    intrinsics: np.ndarray,
    scaling: str = "median",
    query_frame: np.ndarray | None = None,
    fixed_metric_thresholds: bool = False,
) -> dict[str, float]:
    """TAPVid-3D metrics of one video: 3D tracks (N, T, 3) in camera coordinates, ``intrinsics`` = (fx, fy, cx, cy).

    The prediction is first rescaled (monocular predictions have no metric scale):
    ``median`` multiplies it by median(|gt|) / median(|pred|) over samples visible in both (default), ``mean`` the
    same with means, ``per_trajectory`` matches each track's depth on its query frame (needs ``query_frame``),
    ``none`` keeps it. Thresholds are depth adaptive, ``d * z_gt / sqrt(fx * fy)`` for d in {1,2,4,8,16} (a d-pixel
    error back-projected at the true depth), or the fixed metric ``FIXED_METRIC_THRESHOLDS_M``. Every frame is
    scored (no query-mode mask). OA, pts_within, jaccard, AJ and the average are defined as in
    :func:`tapvid_metrics` with those thresholds.
    """
    gt_occluded, pred_occluded = np.asarray(gt_occluded, bool), np.asarray(pred_occluded, bool)
    gt, pred = np.asarray(gt_tracks, np.float64), np.asarray(pred_tracks, np.float64)
    pred = pred * _scale_factor(gt_occluded | pred_occluded, gt, pred, scaling, query_frame)
    fx, fy = float(intrinsics[0]), float(intrinsics[1])
    if fixed_metric_thresholds:
        thresholds = {d: FIXED_METRIC_THRESHOLDS_M[d] for d in TAPVID_THRESHOLDS_PX}
    else:
        thresholds = {d: d * gt[..., 2] / np.sqrt(fx * fy) for d in TAPVID_THRESHOLDS_PX}
    sq = np.sum(np.square(pred - gt), -1)
    return _tap_scores(gt_occluded, pred_occluded, sq, thresholds, np.ones(gt_occluded.shape))


def _scale_factor(
    either_occluded: np.ndarray, gt: np.ndarray, pred: np.ndarray, scaling: str, query_frame: np.ndarray | None
) -> np.ndarray | float:
    if scaling == "none":
        return 1.0
    if scaling == "per_trajectory":
        if query_frame is None:
            raise ValueError("scaling='per_trajectory' needs query_frame")
        rows = np.arange(len(gt))
        q = np.round(query_frame).astype(np.int64)
        return (np.maximum(gt[rows, q, 2], 1e-12) / np.maximum(pred[rows, q, 2], 1e-12))[:, None, None]
    gt_norm = np.where(either_occluded, np.nan, np.linalg.norm(gt, axis=-1))
    pred_norm = np.where(either_occluded, np.nan, np.maximum(np.linalg.norm(pred, axis=-1), 1e-6))
    if scaling == "median":
        return float(np.nanmedian(gt_norm) / np.nanmedian(pred_norm))
    if scaling == "mean":
        return float(np.nanmean(gt_norm) / np.nanmean(pred_norm))
    raise ValueError(f"unknown TAPVid-3D scaling {scaling!r} (use median, mean, per_trajectory or none)")


def queries_first(gt_occluded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """TAP-Vid ``sample_queries_first``: each track queried at its first visible frame; never-visible tracks dropped.

    Returns (track index, query frame), both (M,) int64.
    """
    visible = ~np.asarray(gt_occluded, bool)
    keep = np.flatnonzero(visible.any(1))
    return keep, visible[keep].argmax(1).astype(np.int64)


def queries_strided(gt_occluded: np.ndarray, stride: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """TAP-Vid ``sample_queries_strided``: at every ``stride``-th frame, each track visible there is a query.

    Returns (track index, query frame), both (M,) int64, ordered by query frame then track.
    """
    visible = ~np.asarray(gt_occluded, bool)
    frames = np.arange(0, visible.shape[1], stride)
    q, track = np.nonzero(visible[:, frames].T)
    return track.astype(np.int64), frames[q].astype(np.int64)


def mean_over_videos(per_video: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """Benchmark figure = simple mean of each per-video metric over videos (TAP-Vid protocol)."""
    rows = list(per_video)
    if not rows:
        return {}
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def mra(pred: float | np.ndarray, gt: float | np.ndarray) -> float | np.ndarray:
    """Mean relative accuracy (VSI-Bench): ``mean over theta in {0.50, 0.55, ..., 0.95} of [|pred - gt| / |gt| <= 1 - theta]``.

    Elementwise for arrays. An answer that could not be parsed (NaN/inf) scores 0, as in VSI-Bench's worst case.
    A ground truth of 0 has no relative error and is an error.
    """
    pred_a, gt_a = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    if np.any(gt_a == 0) or not np.all(np.isfinite(gt_a)):
        raise ValueError("mra: ground truth must be finite and non-zero")
    with np.errstate(invalid="ignore"):
        rel = np.abs(pred_a - gt_a) / np.abs(gt_a)
    rel = np.where(np.isfinite(rel), rel, np.inf)
    score = (rel[..., None] <= 1 - MRA_THRESHOLDS).mean(-1)
    return float(score) if score.ndim == 0 else score


# ------------------------------------------------------------------------------------------ answer diversity

# A model is degenerate when it answers every yes/no question the same way, or uses at most this many letters
# across all MC questions: its accuracy then measures the benchmark's answer balance, not the model.
DEGENERATE_MC_LETTERS = 2


def answer_entropy(answers: Iterable[str]) -> float:
    """Shannon entropy in bits of the empirical distribution of ``answers`` (0 for a constant answerer; 1 bit for
    balanced yes/no; 2 bits for four letters used equally)."""
    counts = np.array(list(Counter(answers).values()), dtype=np.float64)
    if not counts.size:
        return 0.0
    p = counts / counts.sum()
    return float(max(0.0, -(p * np.log2(p)).sum()))


def answer_diversity(rows: Iterable[Mapping[str, object]]) -> dict[str, object]:
    """How varied a model's answers are, per format (``yn``, ``mc``), from scored prediction rows
    (``answer_format`` and the ``extracted`` answer; an unreadable answer counts as one more value, "").

    Returns ``{"yn": {...}, "mc": {...}, "degenerate": bool, "reasons": [...]}`` where each format holds ``n``,
    ``distinct`` (answers used), ``entropy_bits``, ``counts`` and ``degenerate``: one answer to every yes/no question,
    or at most :data:`DEGENERATE_MC_LETTERS` letters across the MC questions. A format the model was not asked is
    left out."""
    by_format: dict[str, list[str]] = {"yn": [], "mc": []}
    for r in rows:
        fmt = str(r.get("answer_format"))
        if fmt in by_format:
            by_format[fmt].append(str(r.get("extracted") or ""))
    out: dict[str, object] = {}
    reasons = []
    for fmt, answers in by_format.items():
        if not answers:
            continue
        counts = Counter(answers)
        limit = 1 if fmt == "yn" else DEGENERATE_MC_LETTERS
        flagged = len(counts) <= limit
        out[fmt] = {"n": len(answers), "distinct": len(counts), "entropy_bits": round(answer_entropy(answers), 4),
                    "counts": dict(sorted(counts.items())), "degenerate": flagged}
        if flagged:
            used = ", ".join(f"{a or '(none)'} x{c}" for a, c in counts.most_common())
            reasons.append(f"{fmt}: {len(counts)} distinct answer(s) over {len(answers)} questions ({used})")
    out["degenerate"] = bool(reasons)
    out["reasons"] = reasons
    return out


def paired_sign_test(model: Sequence[float], reference: Sequence[float]) -> dict[str, float]:
    """Exact paired binomial (McNemar / sign) test that ``model`` scores higher than ``reference`` on the same
    questions (scores in [0, 1], thresholded at 0.5): among the questions exactly one of them gets right, the
    model's share of wins is tested against 1/2, one-sided. Returns the accuracies, ``wins`` / ``losses`` and ``p``."""
    from scipy.stats import binomtest

    a = np.asarray(model, dtype=np.float64) >= 0.5
    b = np.asarray(reference, dtype=np.float64) >= 0.5
    if a.shape != b.shape:
        raise ValueError(f"paired test needs the same questions: {a.shape} vs {b.shape}")
    wins, losses = int((a & ~b).sum()), int((~a & b).sum())
    p = binomtest(wins, wins + losses, 0.5, alternative="greater").pvalue if wins + losses else 1.0
    return {"n": int(a.size), "accuracy": float(a.mean()) if a.size else float("nan"),
            "reference_accuracy": float(b.mean()) if b.size else float("nan"),
            "wins": wins, "losses": losses, "p": float(p)}


def holm(p_values: Mapping[str, float]) -> dict[str, float]:
    """Holm-Bonferroni adjusted p-values (family-wise error control over the given tests)."""
    order = sorted(p_values, key=lambda k: p_values[k])
    m, running, out = len(order), 0.0, {}
    for i, key in enumerate(order):
        running = max(running, min(1.0, (m - i) * p_values[key]))
        out[key] = running
    return out
