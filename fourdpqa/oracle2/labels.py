"""Oracle-2's own discretisation, from the documented label definitions (README "QA generation", paper Sec. 3.2)
and the thresholds stored in each record — not from :mod:`fourdpqa.labels`.

A quantity within the "none" bound is no motion; past the "some" bound, without going back by more than the
"none" bound in all, it is motion in a direction; anything in between is ambiguous (``None``), which for a stored
label is a disagreement. Oracle-2 measures along another path than the generator (first-camera frame, track fits,
pixels), so its values carry a rounding error of ~1e-9: :func:`robust` labels each quantity with every bound
shrunk and stretched by :data:`TOLERANCE` too, and a label that changes is :data:`BORDERLINE` — underivable at this
precision, not a disagreement.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace

import numpy as np

STILL = "none"
BORDERLINE = "(borderline)"
TOLERANCE = 1e-6  # relative change of every bound under which a label must not change

# Threshold fields this oracle understands. A record carrying any other field was labelled by a rule oracle-2
# does not know, so it refuses (the gate fails) instead of guessing.
USED = ("translation_none_m", "translation_some_m", "rotation_none_deg", "rotation_some_deg",
        "distance_change_none_rel", "distance_change_some_rel", "distance_compare_margin_rel",
        "moved_distance_margin_rel", "direction_dominance")
SCALES = ("metres", "median_depth")  # translation_scale: bounds in metres, or fractions of the median depth
SAMPLING_ONLY = ("min_visible_fraction", "min_visible_frames_share", "min_object_pixels", "agent_categories")


@dataclass(frozen=True)
class Bounds:
    translation_none_m: float
    translation_some_m: float
    rotation_none_deg: float
    rotation_some_deg: float
    distance_change_none_rel: float
    distance_change_some_rel: float
    distance_compare_margin_rel: float
    moved_distance_margin_rel: float
    direction_dominance: float

    @classmethod
    def from_record(cls, stored: dict, median_depth_m: float | None = None) -> "Bounds":
        """Bounds from a record's threshold JSON. With ``translation_scale: median_depth`` the translation bounds
        are fractions of the median valid depth of the clip's first frame, ``median_depth_m`` (metres)."""
        unknown = sorted(set(stored) - set(USED) - set(SAMPLING_ONLY) - {"translation_scale"})
        if unknown:
            raise ValueError(f"threshold fields unknown to oracle-2: {unknown}")
        missing = sorted(set(USED) - set(stored))
        if missing:
            raise ValueError(f"threshold fields missing: {missing}")
        scale = stored.get("translation_scale", "metres")
        if scale not in SCALES:
            raise ValueError(f"translation_scale {scale!r} is unknown to oracle-2 (known: {list(SCALES)})")
        values = {f.name: float(stored[f.name]) for f in fields(cls)}
        if scale == "median_depth":
            if median_depth_m is None:
                raise ValueError("translation_scale median_depth needs the clip's median depth")
            values["translation_none_m"] *= median_depth_m
            values["translation_some_m"] *= median_depth_m
        return cls(**values)

    def scaled(self, factor: float) -> "Bounds":
        """Every bound multiplied by ``factor`` (the dominance ratio too: it is a bound on the cross motion)."""
        return replace(self, **{f.name: getattr(self, f.name) * factor for f in fields(self)})


def robust(label_of: Callable[["Bounds"], str | None], b: Bounds) -> str | None:
    """``label_of(b)`` when it is also the label with every bound shrunk and stretched by :data:`TOLERANCE`, else
    :data:`BORDERLINE` (the measured values sit on an edge, within oracle-2's own rounding error)."""
    nominal = label_of(b)
    if any(label_of(b.scaled(f)) != nominal for f in (1.0 - TOLERANCE, 1.0 + TOLERANCE)):
        return BORDERLINE
    return nominal


# Records may name a camera roll from the camera's side: "roll right" = its right side drops = clockwise as seen
# from behind it (the picture turns counter-clockwise). Both vocabularies describe the same motion.
ROLL_SYNONYMS = {"roll right": "roll clockwise", "roll left": "roll counter-clockwise"}


def canonical(label: str) -> str:
    """A record's label in oracle-2's vocabulary (components of a "+"-joined camera label mapped one by one)."""
    return "+".join(ROLL_SYNONYMS.get(part, part) for part in str(label).split("+"))


def backtrack(series: np.ndarray) -> float:
    """How far a 1-D path moves against its overall direction, summed over its steps (0 for a monotone path)."""
    steps = np.diff(np.asarray(series, dtype=np.float64))
    net = float(np.sum(steps))
    return float(np.sum(np.maximum(-steps, 0.0) if net >= 0 else np.maximum(steps, 0.0)))


def one_way(series: np.ndarray, none: float) -> bool:
    """True when the path never goes back by more than ``none`` in all: backtracking counts twice in the path's
    length beyond its net change, so this is "length <= |net| + none" (the documented rule)."""
    return 2.0 * backtrack(series) <= none


def signed_axis(series: np.ndarray, none: float, some: float, positive: str, negative: str) -> str | None:
    """Label of a 1-D track (T,): ``STILL`` while it never leaves ±none of its start; ``positive``/``negative``
    when it ends at least ``some`` away, going one way; else ambiguous (None)."""
    s = np.asarray(series, dtype=np.float64)
    if not np.isfinite(s).all():
        return None
    offset = s - s[0]
    if np.abs(offset).max() <= none:
        return STILL
    end = float(offset[-1])
    if abs(end) < some or not one_way(offset, none):
        return None
    return positive if end > 0 else negative


def distance_trend(distances: np.ndarray, b: Bounds) -> str | None:
    """constant / increasing / decreasing / "increasing then decreasing" / "decreasing then increasing" of a
    distance series (T,) relative to its first value; None when borderline or turning more than once."""
    d = np.asarray(distances, dtype=np.float64)
    if not np.isfinite(d).all() or d[0] <= 1e-6:
        return None
    rel = d / d[0] - 1.0
    none, some = b.distance_change_none_rel, b.distance_change_some_rel
    if np.abs(rel).max() <= none:
        return "constant"
    if one_way(rel, none):
        return None if abs(rel[-1]) < some else ("increasing" if rel[-1] > 0 else "decreasing")
    for turn, first, second, other_side_ok in (
        (int(np.argmax(rel)), "increasing", "decreasing", rel.min() >= -none),
        (int(np.argmin(rel)), "decreasing", "increasing", rel.max() <= none),
    ):
        rise, fall = abs(rel[turn]), abs(rel[turn] - rel[-1])
        legs_one_way = one_way(rel[: turn + 1], none) and one_way(rel[turn:], none)
        went_right_way = rel[turn] > 0 if first == "increasing" else rel[turn] < 0
        if went_right_way and rise >= some and fall >= some and other_side_ok and legs_one_way:
            return f"{first} then {second}"
    return None


def compare(a: float, b: float, margin_rel: float) -> str | None:
    """"greater" / "less" when a and b differ by at least ``margin_rel`` of the larger magnitude, else None."""
    big = max(abs(a), abs(b))
    if not (np.isfinite(a) and np.isfinite(b)) or big <= 1e-9:
        return None
    if a - b >= margin_rel * big:
        return "greater"
    if b - a >= margin_rel * big:
        return "less"
    return None


def camera_motion(translation: np.ndarray, angles: np.ndarray, b: Bounds) -> str | None:
    """"static" or the moving components joined by "+" in the order forward/backward, left/right, up/down, pan,
    tilt, roll; None when any axis is ambiguous. translation: (T, 3) (forward, left, up) metres from the first
    frame; angles: (T, 3) (yaw, pitch, roll) degrees."""
    names = (("forward", "backward"), ("left", "right"), ("up", "down"),
             ("pan left", "pan right"), ("tilt up", "tilt down"), ("roll clockwise", "roll counter-clockwise"))
    series = [*translation.T, *angles.T]
    parts = []
    for k, (s, (pos, neg)) in enumerate(zip(series, names, strict=True)):
        none, some = ((b.translation_none_m, b.translation_some_m) if k < 3 else (b.rotation_none_deg, b.rotation_some_deg))
        parts.append(signed_axis(s, none, some, pos, neg))
    if None in parts:
        return None
    moving = [p for p in parts if p != STILL]
    return "+".join(moving) if moving else "static"


def heading_direction(offsets: np.ndarray, b: Bounds) -> str | None:
    """Direction of an object's travel seen from the levelled first camera: offsets (T, 2) (forward, left)
    metres from its start. One horizontal axis must clearly move while the other's net change stays within
    max(none, dominance x main); ``STILL`` when neither moves."""
    along = signed_axis(offsets[:, 0], b.translation_none_m, b.translation_some_m, "away from the camera",
                        "toward the camera")
    across = signed_axis(offsets[:, 1], b.translation_none_m, b.translation_some_m, "left", "right")
    if along == STILL and across == STILL:
        return STILL
    net = np.abs(offsets[-1] - offsets[0])
    for main, label in ((0, along), (1, across)):
        if label not in (None, STILL) and net[1 - main] <= max(b.translation_none_m, b.direction_dominance * net[main]):
            return label
    return None


def own_travel(forward: float, left: float, b: Bounds) -> str | None:
    """"forward" / "backward" along the object's front, ``STILL``, or None (sideways or borderline)."""
    if max(abs(forward), abs(left)) <= b.translation_none_m:
        return STILL
    if abs(forward) >= b.translation_some_m and abs(left) <= max(b.translation_none_m, b.direction_dominance * abs(forward)):
        return "forward" if forward > 0 else "backward"
    return None
