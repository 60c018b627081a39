"""Oracle-2's own discretisation, from the documented label definitions (README "QA generation", paper Sec. 3.2)
and the thresholds stored in each record — not from :mod:`fourdpqa.labels`.

A quantity within the "none" bound is no motion; past the "some" bound, without going back and forth, it is
motion in a direction; anything in between is ambiguous (``None``), which for a stored label is a disagreement.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

STILL = "none"

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


# Records may name a camera roll from the camera's side: "roll right" = its right side drops = clockwise as seen
# from behind it (the picture turns counter-clockwise). Both vocabularies describe the same motion.
ROLL_SYNONYMS = {"roll right": "roll clockwise", "roll left": "roll counter-clockwise"}


def canonical(label: str) -> str:
    """A record's label in oracle-2's vocabulary (components of a "+"-joined camera label mapped one by one)."""
    return "+".join(ROLL_SYNONYMS.get(part, part) for part in str(label).split("+"))


def _reverses(series: np.ndarray, tolerance: float) -> bool:
    """True when the path goes back by more than ``tolerance`` (total travel exceeds the net change)."""
    return float(np.abs(np.diff(series)).sum()) > abs(float(series[-1] - series[0])) + tolerance


def signed_axis(series: np.ndarray, none: float, some: float, positive: str, negative: str) -> str | None:
    """Label of a 1-D track (T,): ``STILL`` within ±none of its start; ``positive``/``negative`` when the net
    change reaches ``some`` without reversing; else ambiguous (None)."""
    s = np.asarray(series, dtype=np.float64)
    s = s - s[0]
    if not np.isfinite(s).all():
        return None
    if np.abs(s).max() <= none:
        return STILL
    if abs(s[-1]) >= some and not _reverses(s, none):
        return positive if s[-1] > 0 else negative
    return None


def distance_trend(distances: np.ndarray, b: Bounds) -> str | None:
    """increasing / decreasing / constant / "increasing then decreasing" / "decreasing then increasing" of a
    distance series (T,) relative to its first value; None when borderline or turning more than once."""
    d = np.asarray(distances, dtype=np.float64)
    if not np.isfinite(d).all() or d[0] <= 1e-6:
        return None
    rel = d / d[0] - 1.0
    none, some = b.distance_change_none_rel, b.distance_change_some_rel
    if np.abs(rel).max() <= none:
        return "constant"
    if not _reverses(rel, none):
        return ("increasing" if rel[-1] > 0 else "decreasing") if abs(rel[-1]) >= some else None
    top, bottom = int(np.argmax(rel)), int(np.argmin(rel))
    legs_up_down = not _reverses(rel[: top + 1], none) and not _reverses(rel[top:], none)
    if rel[top] >= some and rel[top] - rel[-1] >= some and rel.min() >= -none and legs_up_down:
        return "increasing then decreasing"
    legs_down_up = not _reverses(rel[: bottom + 1], none) and not _reverses(rel[bottom:], none)
    if rel[bottom] <= -some and rel[-1] - rel[bottom] >= some and rel.max() <= none and legs_down_up:
        return "decreasing then increasing"
    return None


def compare(a: float, b: float, margin_rel: float) -> str | None:
    """"greater" / "less" when a and b differ by at least ``margin_rel`` of the larger magnitude, else None."""
    big = max(abs(a), abs(b))
    if not (np.isfinite(a) and np.isfinite(b)) or big <= 1e-9:
        return None
    rel = (a - b) / big
    return "greater" if rel >= margin_rel else "less" if rel <= -margin_rel else None


def camera_motion(translation: np.ndarray, angles: np.ndarray, b: Bounds) -> str | None:
    """"static" or the moving components joined by "+" in the order forward/backward, left/right, up/down, pan,
    tilt, roll; None when any axis is ambiguous. translation: (T, 3) (forward, left, up) metres from the first
    frame; angles: (T, 3) (yaw, pitch, roll) degrees (see :func:`fourdpqa.oracle2.geometry.view_angles_deg`)."""
    axes = [(translation[:, 0], "forward", "backward"), (translation[:, 1], "left", "right"),
            (translation[:, 2], "up", "down")]
    spins = [(angles[:, 0], "pan left", "pan right"), (angles[:, 1], "tilt up", "tilt down"),
             (angles[:, 2], "roll clockwise", "roll counter-clockwise")]
    parts = [signed_axis(s, b.translation_none_m, b.translation_some_m, p, n) for s, p, n in axes]
    parts += [signed_axis(s, b.rotation_none_deg, b.rotation_some_deg, p, n) for s, p, n in spins]
    if None in parts:
        return None
    moving = [p for p in parts if p != STILL]
    return "+".join(moving) if moving else "static"


def heading_direction(offsets: np.ndarray, b: Bounds) -> str | None:
    """Direction of an object's travel seen from the levelled first camera: offsets (T, 2) (forward, left)
    metres from its start. One horizontal axis must clearly move while the other stays within
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
