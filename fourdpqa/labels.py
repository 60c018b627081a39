"""Continuous measurements -> discrete labels, with an ambiguity band (paper Sec. 3.2, "Discrete label generation").

Each function returns a label string, ``NONE`` ("none") when the quantity is clearly absent, or ``None`` when the
value falls between "clearly none" and "clearly some" (or the motion is not clean enough to name, e.g. it reverses):
such assets are not used, so no question is asked whose answer a person could dispute. Thresholds come from
``params.thresholds_for(source)``.
"""

from __future__ import annotations

import numpy as np

from fourdpqa.thresholds import LabelThresholds

NONE = "none"
STATIC = "static"

CAMERA_TRANSLATION_AXES = (("forward", "backward"), ("left", "right"), ("up", "down"))
# roll is named from the camera's side: "roll right" = its right side goes down (clockwise seen from behind the
# camera), which turns the picture counter-clockwise on screen
CAMERA_ROTATION_AXES = (("pan left", "pan right"), ("tilt up", "tilt down"), ("roll right", "roll left"))
CAMERA_COMPONENTS = tuple(x for pair in CAMERA_TRANSLATION_AXES + CAMERA_ROTATION_AXES for x in pair)

DISTANCE_CHANGE_LABELS = ("increasing", "decreasing", "constant", "increasing then decreasing", "decreasing then increasing")
ROTATION_LABELS = ("clockwise", "counter-clockwise")
DIRECTION_LABELS = ("away from the camera", "toward the camera", "left", "right")
AGENT_MOVE_LABELS = ("forward", "backward")
AGENT_TURN_LABELS = ("left", "right", "straight")


def axis_label(series: np.ndarray, none: float, some: float, pos: str, neg: str) -> str | None:
    """Label a 1-D displacement/angle series (relative to its first value) along one axis.

    ``none``: every excursion stays within ``none``. ``pos``/``neg``: the net change reaches ``some`` and the path
    does not go back and forth (total travel <= |net| + ``none``). Otherwise ambiguous -> ``None``.
    """
    s = np.asarray(series, dtype=np.float64)
    s = s - s[0]
    if not np.isfinite(s).all():
        return None
    net = float(s[-1])
    if float(np.abs(s).max()) <= none:
        return NONE
    travel = float(np.abs(np.diff(s)).sum())
    if abs(net) >= some and travel <= abs(net) + none:
        return pos if net > 0 else neg
    return None


def camera_movement_label(translation_track: np.ndarray, rotation_track: np.ndarray, th: LabelThresholds) -> str | None:
    """Combined camera label, e.g. ``"forward+pan left"``, ``"static"``; ``None`` if any axis is ambiguous.

    translation_track: (T, 3) camera centre as (forward, left, up) in the levelled first-camera frame, metres
    (:func:`fourdpqa.motion.camera_levelled_track`).
    rotation_track: (T, 3) (yaw, pitch, roll) change in degrees (see :mod:`fourdpqa.motion`).
    """
    parts = []
    for k, (pos, neg) in enumerate(CAMERA_TRANSLATION_AXES):
        lab = axis_label(translation_track[:, k], th.translation_none_m, th.translation_some_m, pos, neg)
        if lab is None:
            return None
        parts.append(lab)
    for k, (pos, neg) in enumerate(CAMERA_ROTATION_AXES):
        lab = axis_label(rotation_track[:, k], th.rotation_none_deg, th.rotation_some_deg, pos, neg)
        if lab is None:
            return None
        parts.append(lab)
    named = [p for p in parts if p != NONE]
    return "+".join(named) if named else STATIC


def scale_translation(th: LabelThresholds, median_depth_m: float) -> LabelThresholds:
    """``th`` with its translation thresholds in metres: unchanged for ``translation_scale: metres``, multiplied by
    the scene's median depth for ``median_depth`` (then they are fractions of it)."""
    if th.translation_scale == "metres":
        return th
    return th.model_copy(update={"translation_none_m": th.translation_none_m * median_depth_m,
                                 "translation_some_m": th.translation_some_m * median_depth_m,
                                 "translation_scale": "metres"})


def is_agent(category: str, th: LabelThresholds) -> bool:
    """An agent (paper type 5) is a thing with intent: its category is one of ``th.agent_categories``."""
    return category.strip().lower() in {c.strip().lower() for c in th.agent_categories}


def camera_components(label: str) -> list[str]:
    return [] if label == STATIC else label.split("+")


def camera_axis_of(component: str) -> int:
    """Index 0..5 of the axis a component belongs to (forward/backward -> 0, ..., roll -> 5)."""
    for k, pair in enumerate(CAMERA_TRANSLATION_AXES + CAMERA_ROTATION_AXES):
        if component in pair:
            return k
    raise ValueError(f"unknown camera motion component {component!r}")


def opposite(component: str) -> str:
    for pair in CAMERA_TRANSLATION_AXES + CAMERA_ROTATION_AXES:
        if component in pair:
            return pair[1 - pair.index(component)]
    raise ValueError(f"unknown camera motion component {component!r}")


def distance_change_label(distances: np.ndarray, th: LabelThresholds) -> str | None:
    """increasing / decreasing / constant / increasing then decreasing / decreasing then increasing, by the
    change relative to the first distance; ``None`` when borderline or with more than one turn."""
    d = np.asarray(distances, dtype=np.float64)
    if not np.isfinite(d).all() or d[0] <= 1e-6:
        return None
    r = d / d[0] - 1.0
    none, some = th.distance_change_none_rel, th.distance_change_some_rel
    if np.abs(r).max() <= none:
        return "constant"
    k_hi, k_lo = int(np.argmax(r)), int(np.argmin(r))
    peak, trough, end = r[k_hi], r[k_lo], r[-1]
    if _monotone(r, none) and abs(end) >= some:
        return "increasing" if end > 0 else "decreasing"
    # one clear turn: monotone up to the extremum and monotone after it, both legs >= some
    if peak >= some and peak - end >= some and _monotone(r[: k_hi + 1], none) and _monotone(r[k_hi:], none) and trough >= -none:
        return "increasing then decreasing"
    if trough <= -some and end - trough >= some and _monotone(r[: k_lo + 1], none) and _monotone(r[k_lo:], none) and peak <= none:
        return "decreasing then increasing"
    return None


def _monotone(s: np.ndarray, tol: float) -> bool:
    """No reversal larger than ``tol`` (travel exceeds |net| by at most ``tol``)."""
    if len(s) < 2:
        return True
    return float(np.abs(np.diff(s)).sum()) <= abs(float(s[-1] - s[0])) + tol


def rotation_label(yaw_deg: np.ndarray, th: LabelThresholds) -> str | None:
    """Top-down rotation of an object: ``clockwise`` / ``counter-clockwise`` seen from above, ``none``, or None.

    yaw_deg: (T,) unwrapped heading in degrees, counter-clockwise from above is positive.
    """
    return axis_label(yaw_deg, th.rotation_none_deg, th.rotation_some_deg, "counter-clockwise", "clockwise")


def direction_label(heading_track: np.ndarray, th: LabelThresholds) -> str | None:
    """Direction of an object's translation relative to the first frame's (levelled) view.

    heading_track: (T, 3) object centre in the heading frame (forward, left, up). One horizontal axis must clearly
    move and the other stay small (<= max(none, dominance * main)); ``none`` if it does not move.
    """
    t = np.asarray(heading_track, dtype=np.float64)
    t = t - t[0]
    fwd = axis_label(t[:, 0], th.translation_none_m, th.translation_some_m, "away from the camera", "toward the camera")
    left = axis_label(t[:, 1], th.translation_none_m, th.translation_some_m, "left", "right")
    if fwd == NONE and left == NONE:
        return NONE
    net = np.abs(t[-1, :2])
    for k, lab in ((0, fwd), (1, left)):
        if lab not in (None, NONE) and net[1 - k] <= max(th.translation_none_m, th.direction_dominance * net[k]):
            return lab
    return None


def agent_motion_label(own_displacement: np.ndarray, th: LabelThresholds) -> str | None:
    """``forward`` / ``backward`` along the object's own +x (front), ``none``, or None (sideways or borderline).

    own_displacement: (3,) displacement integrated in the object's frame (front, left, up), metres.
    """
    fwd, left = float(own_displacement[0]), float(own_displacement[1])
    if max(abs(fwd), abs(left)) <= th.translation_none_m:
        return NONE
    if abs(fwd) >= th.translation_some_m and abs(left) <= max(th.translation_none_m, th.direction_dominance * abs(fwd)):
        return "forward" if fwd > 0 else "backward"
    return None


def agent_turn_label(yaw_deg: np.ndarray, th: LabelThresholds) -> str | None:
    """``left`` / ``right`` (turning seen by the agent itself), ``straight``, or None."""
    lab = axis_label(yaw_deg, th.rotation_none_deg, th.rotation_some_deg, "left", "right")
    return "straight" if lab == NONE else lab


def compare_label(a: float, b: float, margin_rel: float) -> str | None:
    """``greater`` / ``less`` when a and b differ by at least ``margin_rel`` of the larger one, else None."""
    if not (np.isfinite(a) and np.isfinite(b)):
        return None
    big = max(abs(a), abs(b))
    if big <= 1e-9:
        return None
    rel = (a - b) / big
    if rel >= margin_rel:
        return "greater"
    if rel <= -margin_rel:
        return "less"
    return None
