"""Oracle-2's measurement and label per question type, in the clip's first camera frame (:mod:`.evidence`): the
camera from the background tracks, objects from their own tracks, depth order from the depth maps alone.

Each function takes a :class:`Clip` and the record's structured spec (the objects and frames whose roles the
question's own references were checked against) and returns ``(label or None, measured values)``; None means the
geometry is ambiguous under the stored thresholds, :data:`~fourdpqa.oracle2.labels.BORDERLINE` that oracle-2 cannot
tell at its precision (for depth order: that the objects' sizes leave the order open).

How each differs from the generator (which differences world poses, ``fourdpqa.motion``):

- camera movement: translation of the background's rigid fit, pan as the turn of the optical axis about gravity,
  tilt and roll from where gravity points in each camera's own axes (not Euler angles of the poses);
- object rotation / agent turns: the turn of the tracked points' rigid motion about gravity (not the heading of
  the pose's x axis);
- depth order (8, 10): the median ray distance of each object's visible pixels in the depth map, widened by half
  its box diagonal (the centre is that close to any surface point): decided only when the two intervals are ordered
  by the margin, else borderline;
- distances, directions, path lengths, metric values: box centres carried by the track fits, in the first camera
  frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from fourdpqa.oracle2.evidence import CameraMotion, Evidence, ObjectMotion
from fourdpqa.oracle2.geometry import flat, gravity_view_deg, level_frame, path_length, turn_deg, unit
from fourdpqa.oracle2.labels import (
    BORDERLINE, STILL, Bounds, camera_motion, compare, distance_trend, heading_direction, own_travel, robust,
    signed_axis,
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
    def camera(self) -> CameraMotion:
        cam = self.ev.clip_motion(self.frames)
        self._sources.add(f"camera:{cam.source}")
        return cam

    @property
    def up(self) -> np.ndarray:
        """Gravity's up in first-camera coordinates (the camera's own motion is not used)."""
        return self.ev.clip_motion(self.frames).up

    @property
    def level(self) -> np.ndarray:
        """(3, 3) rows forward, left, up of the levelled first camera (first-camera coordinates)."""
        return level_frame(self.up)

    def motion(self, object_id: int) -> ObjectMotion:
        m = self.ev.object_motion(object_id, self.frames)
        self._sources.add(m.source)
        return m

    def centre(self, object_id: int) -> np.ndarray:
        return self.motion(object_id).centre

    def sources(self) -> list[str]:
        return sorted(self._sources)


def _r(x) -> list[float] | float:
    return np.round(np.asarray(x, dtype=np.float64), 4).tolist()


def camera_movement(c: Clip, spec: dict) -> Measured:
    """Translation of the camera centre in the first camera's axes (forward = +z, left = -x, up = -y) or in its
    levelled axes; pan = turn of the optical axis about gravity, tilt / roll from gravity seen by each camera."""
    cam = c.camera
    if c.reference_system == "camera":
        translation = np.stack([cam.centre[:, 2], -cam.centre[:, 0], -cam.centre[:, 1]], -1)
    elif c.reference_system in ("first_camera_levelled", "gravity"):
        translation = cam.centre @ c.level.T
    else:
        raise ValueError(f"camera translation in reference system {c.reference_system!r} is unknown to oracle-2")
    pan = turn_deg(cam.axes[:, :, 2], cam.up)
    pitch, roll = gravity_view_deg(np.einsum("tji,j->ti", cam.axes, cam.up))  # up in each camera's own axes
    angles = np.stack([pan, pitch - pitch[0], roll - roll[0]], -1)
    return (robust(lambda b: camera_motion(translation, angles, b), c.bounds),
            {"translation_fwd_left_up_m": _r(translation[-1]), "pan_tilt_roll_deg": _r(angles[-1])})


def camera_object_distance(c: Clip, spec: dict) -> Measured:
    d = np.linalg.norm(c.centre(spec["objects"][0]) - c.camera.centre, axis=1)
    return robust(lambda b: distance_trend(d, b), c.bounds), {"distance_m": _r(d[[0, len(d) // 2, -1]])}


def _turn(c: Clip, object_id: int) -> np.ndarray:
    """(T,) degrees the object has turned about gravity since the first frame (left / counter-clockwise > 0):
    the turn of a level reference direction under the object's fitted rotations."""
    m = c.motion(object_id)
    rel = np.einsum("tij,kj->tik", m.axes, m.axes[0])  # rotation from the first frame to each frame
    return turn_deg(rel @ c.level[0], c.up)


def object_rotation(c: Clip, spec: dict) -> Measured:
    turn = _turn(c, spec["objects"][0])
    label = robust(lambda b: signed_axis(turn, b.rotation_none_deg, b.rotation_some_deg, "counter-clockwise",
                                         "clockwise"), c.bounds)
    return label, {"turn_deg": _r(turn[-1])}


def object_direction(c: Clip, spec: dict) -> Measured:
    centre = c.centre(spec["objects"][0])
    offsets = (centre - centre[0]) @ c.level[:2].T
    return robust(lambda b: heading_direction(offsets, b), c.bounds), {"forward_left_m": _r(offsets[-1])}


def agent_motion(c: Clip, spec: dict) -> Measured:
    """"move": each step's displacement projected on the object's front and left at mid-step (the bisector of the
    fronts before and after), summed; "turn": its turn about gravity."""
    oid = spec["objects"][0]
    if spec["aspect"] == "turn":
        turn = _turn(c, oid)
        label = robust(lambda b: signed_axis(turn, b.rotation_none_deg, b.rotation_some_deg, "left", "right"), c.bounds)
        return ("straight" if label == STILL else label), {"turn_deg": _r(turn[-1])}
    m, up = c.motion(oid), c.up
    front = unit(flat(m.axes[:, :, 0], up))
    mid = unit(front[1:] + front[:-1])
    step = np.diff(m.centre, axis=0)
    forward = float(np.einsum("ti,ti->", step, mid))
    left = float(np.einsum("ti,ti->", step, np.cross(up, mid)))
    return robust(lambda b: own_travel(forward, left, b), c.bounds), {"front_left_m": _r([forward, left])}


def moved_distance(c: Clip, spec: dict) -> Measured:
    """Which object travels farthest (MC: ``obj:<id>`` of a clear winner) or "greater"/"less" of the first
    object's path against the second's (yes/no)."""
    objs = spec["objects"]
    lengths = [path_length(c.centre(o)) for o in objs]

    def label(b: Bounds) -> str | None:
        if max(lengths) < b.translation_some_m:
            return None
        if "option_labels" in spec:
            first, second = np.argsort(lengths)[::-1][:2]
            clear = compare(lengths[first], lengths[second], b.moved_distance_margin_rel) == "greater"
            return f"obj:{objs[first]}" if clear else None
        return compare(lengths[0], lengths[1], b.moved_distance_margin_rel)

    return robust(label, c.bounds), {"path_length_m": _r(lengths)}


def object_object_distance_change(c: Clip, spec: dict) -> Measured:
    a, b_ = spec["objects"][:2]
    d = np.linalg.norm(c.centre(a) - c.centre(b_), axis=1)
    return robust(lambda b: distance_trend(d, b), c.bounds), {"distance_m": _r(d[[0, len(d) // 2, -1]])}


def _pixel_distance(c: Clip, object_id: int, k: int) -> float:
    """Median ray distance (m) from the camera of the object's visible pixels in clip frame k (NaN if none)."""
    f = int(c.frames[k])
    ys, xs = np.nonzero(np.asarray(c.ev.instances[f]) == object_id)
    z = np.asarray(c.ev.depth[f])[ys, xs].astype(np.float64)
    fx, fy, cx, cy = c.ev.intrinsics[f]
    ray = z * np.sqrt(((xs - cx) / fx) ** 2 + ((ys - cy) / fy) ** 2 + 1.0)
    ray = ray[np.isfinite(ray)]
    return float(np.median(ray)) if ray.size else float("nan")


def depth_order(c: Clip, spec: dict) -> Measured:
    """Camera distance of object a in clip frame i against object b in frame j, from the depth maps alone: each
    centre lies within half its box diagonal of the visible surface, so the label is the one every pair of
    distances in those intervals gets, or borderline when they disagree."""
    (a, b_), (i, j) = spec["objects"][:2], spec["frames"]
    c._sources.add("pixels")
    pa, pb = _pixel_distance(c, a, i), _pixel_distance(c, b_, j)
    ra, rb = c.ev.radius[a], c.ev.radius[b_]
    values = {"pixel_distance_m": _r([pa, pb]), "half_diagonal_m": _r([ra, rb])}
    if not (np.isfinite(pa) and np.isfinite(pb)):
        return None, values

    def label(b: Bounds) -> str | None:
        corners = {compare(x, y, b.distance_compare_margin_rel) for x in (pa - ra, pa + ra) for y in (pb - rb, pb + rb)}
        return corners.pop() if len(corners) == 1 else BORDERLINE

    return robust(label, c.bounds), values


def pair_distance(c: Clip, spec: dict) -> Measured:
    """|pair 0| in clip frame i against |pair 1| in clip frame j."""
    (p, q), (i, j) = spec["pairs"], spec["frames"]
    d0 = float(np.linalg.norm(c.centre(p[0])[i] - c.centre(p[1])[i]))
    d1 = float(np.linalg.norm(c.centre(q[0])[j] - c.centre(q[1])[j]))
    return robust(lambda b: compare(d0, d1, b.distance_compare_margin_rel), c.bounds), {"distance_m": _r([d0, d1])}


def metric(c: Clip, spec: dict) -> Measured:
    """Camera travel, or an object's displacement / path length / mean speed between clip frames a..b."""
    a, b = spec["frames"]
    kind = spec["kind"]
    pts = c.camera.centre[a:b + 1] if kind == "metric_camera_travel" else c.centre(spec["objects"][0])[a:b + 1]
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
