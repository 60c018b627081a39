"""Oracle-2's measurement and label per question type, from the raw camera poses, the object motion of
:class:`~fourdpqa.oracle2.evidence.Evidence` (stored tracks, else raw poses) and the depth / instance maps.

Each function takes a :class:`Clip` and the record's structured spec (the objects and frames whose roles the
question's own references were checked against) and returns ``(label or None, measured values)``; None means
the geometry is ambiguous under the stored thresholds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from fourdpqa.oracle2.evidence import Evidence, ObjectMotion
from fourdpqa.oracle2.geometry import heading_deg, levelled_axes, path_length, view_angles_deg
from fourdpqa.oracle2.labels import (
    STILL, Bounds, camera_motion, compare, distance_trend, heading_direction, own_travel, signed_axis,
)

Measured = tuple["str | float | None", dict]


@dataclass
class Clip:
    """A record's clip: scene ``frames`` (T,) int64, the stored thresholds and the declared reference system."""

    ev: Evidence
    frames: np.ndarray
    bounds: Bounds
    reference_system: str
    _sources: set[str] = field(default_factory=set)

    @property
    def cam_pos(self) -> np.ndarray:
        return self.ev.cam_pos[self.frames]

    @property
    def cam_rot(self) -> np.ndarray:
        return self.ev.cam_rot[self.frames]

    def motion(self, object_id: int) -> ObjectMotion:
        m = self.ev.object_motion(object_id, self.frames)
        self._sources.add(m.source)
        return m

    def centre(self, object_id: int) -> np.ndarray:
        return self.motion(object_id).centre

    def sources(self) -> list[str]:
        return sorted(self._sources)


def _r(x) -> list[float] | float:
    a = np.round(np.asarray(x, dtype=np.float64), 4)
    return a.tolist()


def camera_movement(c: Clip, spec: dict) -> Measured:
    """Translation from the first frame in the first camera's axes (forward = +z, left = -x, up = -y), or in its
    levelled axes when the record declares a levelled frame; rotation as yaw / pitch / roll changes."""
    offset = c.cam_pos - c.cam_pos[0]
    if c.reference_system == "camera":
        axes = c.cam_rot[0]
        translation = offset @ np.stack([axes[:, 2], -axes[:, 0], -axes[:, 1]], -1)
    elif c.reference_system in ("first_camera_levelled", "gravity"):
        translation = offset @ levelled_axes(c.cam_rot[0]).T
    else:
        raise ValueError(f"camera translation in reference system {c.reference_system!r} is unknown to oracle-2")
    angles = view_angles_deg(c.cam_rot)
    angles = angles - angles[0]
    return (camera_motion(translation, angles, c.bounds),
            {"translation_fwd_left_up_m": _r(translation[-1]), "yaw_pitch_roll_deg": _r(angles[-1])})


def camera_object_distance(c: Clip, spec: dict) -> Measured:
    d = np.linalg.norm(c.centre(spec["objects"][0]) - c.cam_pos, axis=1)
    return distance_trend(d, c.bounds), {"distance_m": _r(d[[0, len(d) // 2, -1]])}


def _yaw(c: Clip, object_id: int) -> np.ndarray:
    return heading_deg(c.motion(object_id).rotation[:, :, 0])


def object_rotation(c: Clip, spec: dict) -> Measured:
    yaw = _yaw(c, spec["objects"][0])
    b = c.bounds
    return (signed_axis(yaw, b.rotation_none_deg, b.rotation_some_deg, "counter-clockwise", "clockwise"),
            {"yaw_change_deg": _r(yaw[-1] - yaw[0])})


def object_direction(c: Clip, spec: dict) -> Measured:
    flat = (c.centre(spec["objects"][0]) - c.cam_pos[0]) @ levelled_axes(c.cam_rot[0]).T
    offsets = flat[:, :2] - flat[0, :2]
    return heading_direction(offsets, c.bounds), {"forward_left_m": _r(offsets[-1])}


def agent_motion(c: Clip, spec: dict) -> Measured:
    """"move": displacement summed step by step in the object's own axes (front, left) at each step's mid
    heading; "turn": its heading change (left = counter-clockwise from above)."""
    oid, b = spec["objects"][0], c.bounds
    yaw = _yaw(c, oid)
    if spec["aspect"] == "turn":
        label = signed_axis(yaw, b.rotation_none_deg, b.rotation_some_deg, "left", "right")
        return ("straight" if label == STILL else label), {"yaw_change_deg": _r(yaw[-1] - yaw[0])}
    mid = np.radians(0.5 * (yaw[1:] + yaw[:-1]))
    step = np.diff(c.centre(oid), axis=0)
    front = float((np.cos(mid) * step[:, 0] + np.sin(mid) * step[:, 1]).sum())
    left = float((-np.sin(mid) * step[:, 0] + np.cos(mid) * step[:, 1]).sum())
    return own_travel(front, left, b), {"front_left_m": _r([front, left])}


def moved_distance(c: Clip, spec: dict) -> Measured:
    """Which object travels farthest (MC: ``obj:<id>`` of a clear winner) or "greater"/"less" of the first
    object's path against the second's (yes/no)."""
    objs, b = spec["objects"], c.bounds
    lengths = [path_length(c.centre(o)) for o in objs]
    values = {"path_length_m": _r(lengths)}
    if max(lengths) < b.translation_some_m:
        return None, values
    if "option_labels" in spec:
        first, second = np.argsort(lengths)[::-1][:2]
        clear = compare(lengths[first], lengths[second], b.moved_distance_margin_rel) == "greater"
        return (f"obj:{objs[first]}" if clear else None), values
    return compare(lengths[0], lengths[1], b.moved_distance_margin_rel), values


def object_object_distance_change(c: Clip, spec: dict) -> Measured:
    a, b = spec["objects"][:2]
    d = np.linalg.norm(c.centre(a) - c.centre(b), axis=1)
    return distance_trend(d, c.bounds), {"distance_m": _r(d[[0, len(d) // 2, -1]])}


def _pixel_depth(c: Clip, object_id: int, k: int) -> float:
    """Median z-depth (m) of the object's visible pixels in clip frame k (NaN when none are visible)."""
    f = int(c.frames[k])
    depth = np.asarray(c.ev.depth[f])[np.asarray(c.ev.instances[f]) == object_id]
    depth = depth[np.isfinite(depth)]
    return float(np.median(depth)) if depth.size else float("nan")


def depth_order(c: Clip, spec: dict) -> Measured:
    """Camera distance of object a in clip frame i against object b in frame j; the pixels' depth must order
    them the same way."""
    (a, b), (i, j) = spec["objects"][:2], spec["frames"]
    da = float(np.linalg.norm(c.centre(a)[i] - c.cam_pos[i]))
    db = float(np.linalg.norm(c.centre(b)[j] - c.cam_pos[j]))
    pa, pb = _pixel_depth(c, a, i), _pixel_depth(c, b, j)
    label = compare(da, db, c.bounds.distance_compare_margin_rel)
    if not (np.isfinite(pa) and np.isfinite(pb)) or np.sign(pa - pb) != np.sign(da - db):
        label = None
    return label, {"camera_distance_m": _r([da, db]), "pixel_depth_m": _r([pa, pb])}


def pair_distance(c: Clip, spec: dict) -> Measured:
    """|pair 0| in clip frame i against |pair 1| in clip frame j."""
    (p, q), (i, j) = spec["pairs"], spec["frames"]
    d0 = float(np.linalg.norm(c.centre(p[0])[i] - c.centre(p[1])[i]))
    d1 = float(np.linalg.norm(c.centre(q[0])[j] - c.centre(q[1])[j]))
    return compare(d0, d1, c.bounds.distance_compare_margin_rel), {"distance_m": _r([d0, d1])}


def metric(c: Clip, spec: dict) -> Measured:
    """Camera travel, or an object's displacement / path length / mean speed between clip frames a..b."""
    a, b = spec["frames"]
    kind = spec["kind"]
    pts = c.cam_pos[a:b + 1] if kind == "metric_camera_travel" else c.centre(spec["objects"][0])[a:b + 1]
    if kind == "metric_displacement":
        value = float(np.linalg.norm(pts[-1] - pts[0]))
    elif kind == "metric_speed":
        value = path_length(pts) / max(float(c.ev.times[c.frames[b]] - c.ev.times[c.frames[a]]), 1e-9)
    elif kind in ("metric_path_length", "metric_camera_travel"):
        value = path_length(pts)
    else:
        raise ValueError(f"metric kind {kind!r} is unknown to oracle-2")
    return value, {"value": round(value, 4)}


MEASURES: dict[int, Callable[[Clip, dict], Measured]] = {
    0: metric, 1: camera_movement, 2: camera_object_distance, 3: object_rotation, 4: object_direction,
    5: agent_motion, 6: moved_distance, 7: object_object_distance_change, 8: depth_order, 9: pair_distance,
    10: depth_order, 11: pair_distance,
}
