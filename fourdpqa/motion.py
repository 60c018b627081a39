"""Continuous per-clip measurements of camera and object motion (paper Sec. 3.2, "Discrete label generation").

Everything here is geometry on a clip of a standard scene, in metres, degrees and seconds; discretisation into
labels lives in :mod:`fourdpqa.labels`. Reference systems used:

- **world**: gravity aligned, +z up.
- **first camera** (``first_cam``): OpenCV axes of the clip's first camera (x right, y down, z forward).
- **gravity heading** (``heading``): levelled first-camera frame: forward = the first camera's viewing direction
  projected onto the ground plane, left = up x forward, up = world +z. Object direction labels use it, so an
  object rolling away on the ground reads "away from the camera" even when the camera looks down at it.
  Camera translation labels use it too, so they agree with the gravity-referenced rotation angles: an orbit about
  the vertical keeps its height (no "up"), and a dolly along a downward-looking optical axis also moves down.
- **own**: the object's frame (+x front, +y left, +z up); displacement integrated step by step.
- **first camera's own view** (``own view``): the first camera's own axes as (forward, left, up) = (z, -x, -y):
  up is the top of its first picture, not gravity. Camera labels are asked only where this frame and the
  levelled one give the same answer (:func:`fourdpqa.questions.camera.derive_camera`), so a question may name
  either without changing its answer.

Angles: yaw increases counter-clockwise seen from above (turning left); pitch increases when the view tilts up;
roll increases when the camera rotates clockwise as seen from behind it (its right side goes down).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from fourdpqa import framing, geometry
from fourdpqa.errors import BadInput
from fourdpqa.scene import Scene

UP = np.array([0.0, 0.0, 1.0])


@dataclass
class ClipMotion:
    """Poses of one clip. Shapes: T clip frames, O objects (``object_ids`` order of the scene)."""

    video_id: str
    source: str
    frames: np.ndarray  # (T,) int64 scene frame indices
    times: np.ndarray  # (T,) float64 seconds since the clip's first frame
    cam_pos: np.ndarray  # (T, 3) camera centres in world
    cam_rot: np.ndarray  # (T, 3, 3) world_from_cam rotations (OpenCV axes)
    object_ids: list[int]
    obj_pos: np.ndarray  # (O, T, 3) box centres in world, NaN where no pose
    obj_rot: np.ndarray  # (O, T, 3, 3) world_from_object rotations
    visible: np.ndarray  # (O, T) visible fraction of each object's silhouette
    pixels: np.ndarray  # (O, T) int64 pixels of each object's instance mask in each clip frame
    in_frame: np.ndarray | None = None  # (O, T) share of the projected 3D box inside the image (None: all of it)
    at_border: np.ndarray | None = None  # (O, T) bool: instance pixels touch the image border (None: never)

    @property
    def n_frames(self) -> int:
        return len(self.frames)

    @property
    def duration_s(self) -> float:
        return float(self.times[-1] - self.times[0])

    def index(self, object_id: int) -> int:
        try:
            return self.object_ids.index(object_id)
        except ValueError:
            raise KeyError(f"video {self.video_id!r}: object {object_id} not in the scene") from None

    @cached_property
    def heading_axes(self) -> np.ndarray:
        """(3, 3) rows = forward, left, up of the levelled first camera, in world coordinates."""
        return heading_axes(self.cam_rot[0])


def clip_motion(scene: Scene, frames: np.ndarray | list[int]) -> ClipMotion:
    """Gather camera and object poses of ``frames`` (scene frame indices, increasing)."""
    frames = np.asarray(frames, dtype=np.int64)
    if frames.ndim != 1 or len(frames) < 1 or np.any(np.diff(frames) <= 0):
        raise ValueError(f"video {scene.video_id!r}: clip frames must be >= 1 increasing indices, got {frames.tolist()}")
    if frames[-1] >= scene.meta.n_frames or frames[0] < 0:
        raise ValueError(f"video {scene.video_id!r}: clip frames {frames.tolist()} outside 0..{scene.meta.n_frames - 1}")
    t_all = scene.cameras["time_s"].to_numpy().astype(np.float64)
    wfc = scene.world_from_cam[frames]
    wfo = scene.world_from_object[:, frames]
    return ClipMotion(
        video_id=scene.video_id,
        source=scene.meta.source,
        frames=frames,
        times=t_all[frames] - t_all[frames[0]],
        cam_pos=wfc[:, :3, 3].copy(),
        cam_rot=wfc[:, :3, :3].copy(),
        object_ids=list(scene.object_ids),
        obj_pos=wfo[..., :3, 3].copy(),
        obj_rot=wfo[..., :3, :3].copy(),
        visible=scene.visible_fraction[:, frames].copy(),
        pixels=scene.pixel_counts(frames),
        in_frame=framing.in_frame_share(scene, frames),
        at_border=framing.at_border(scene, frames),
    )


# ------------------------------------------------------------------------------------------------------ frames


def heading_axes(cam_rot: np.ndarray) -> np.ndarray:
    """Levelled camera axes (rows forward, left, up) in world; falls back to the camera's up vector when the
    camera looks straight down (its horizontal heading is then given by -y, the image top)."""
    fwd = cam_rot[:, 2].copy()
    fwd[2] = 0.0
    if np.linalg.norm(fwd) < 1e-6:
        fwd = -cam_rot[:, 1].copy()
        fwd[2] = 0.0
    fwd /= np.linalg.norm(fwd)
    left = np.cross(UP, fwd)
    return np.stack([fwd, left, UP])


def camera_angles(cam_rot: np.ndarray) -> np.ndarray:
    """(T, 3) unwrapped (yaw, pitch, roll) in degrees of world_from_cam rotations (T, 3, 3).

    yaw = heading of the optical axis (CCW from above), pitch = elevation of the optical axis, roll = signed angle
    from the horizontal right vector to the camera x axis about the optical axis (clockwise from behind > 0).
    """
    f = cam_rot[..., :, 2]
    x = cam_rot[..., :, 0]
    yaw = np.arctan2(f[..., 1], f[..., 0])
    pitch = np.arcsin(np.clip(f[..., 2], -1.0, 1.0))
    h = np.cross(f, UP)
    hn = np.linalg.norm(h, axis=-1, keepdims=True)
    h = np.where(hn > 1e-9, h / np.maximum(hn, 1e-12), x)
    roll = np.arctan2(np.einsum("...i,...i", np.cross(h, x), f), np.einsum("...i,...i", h, x))
    return np.degrees(np.stack([np.unwrap(yaw), pitch, np.unwrap(roll)], -1))


def object_yaw_deg(obj_rot: np.ndarray) -> np.ndarray:
    """(T,) unwrapped heading of the object's +x axis (degrees, CCW from above)."""
    return np.degrees(np.unwrap(geometry.yaw_of(obj_rot)))


# ------------------------------------------------------------------------------------------------------ camera


def camera_translation(m: ClipMotion) -> dict[str, list[float]]:
    """Net camera displacement first -> last frame: ``first_cam`` (x right, y down, z forward) and ``heading``
    (forward, left, up) coordinates, metres."""
    d = m.cam_pos[-1] - m.cam_pos[0]
    mm = geometry.matmul  # not @ (BLAS): the same bits on every CPU
    return {"first_cam": mm(m.cam_rot[0].T, d[:, None])[:, 0].tolist(), "heading": mm(m.heading_axes, d[:, None])[:, 0].tolist()}


def camera_levelled_track(m: ClipMotion) -> np.ndarray:
    """(T, 3) camera centre relative to the first frame in the levelled first-camera frame as (forward, left, up):
    forward = the first viewing direction projected on the ground, up = world +z (:attr:`ClipMotion.heading_axes`)."""
    return geometry.matmul(m.cam_pos - m.cam_pos[0], m.heading_axes.T)


def own_view_axes(cam_rot0: np.ndarray) -> np.ndarray:
    """(3, 3) rows = forward, left, up of a camera's own view (its z, -x and -y axes), in world coordinates."""
    return np.stack([cam_rot0[:, 2], -cam_rot0[:, 0], -cam_rot0[:, 1]])


def camera_own_track(m: ClipMotion) -> np.ndarray:
    """(T, 3) camera centre relative to the first frame as (forward, left, up) of the first camera's own view."""
    return (m.cam_pos - m.cam_pos[0]) @ own_view_axes(m.cam_rot[0]).T


def camera_own_rotation(m: ClipMotion) -> np.ndarray:
    """(T, 3) (yaw, pitch, roll) change in degrees measured in the first camera's own view (its up axis playing
    the part of gravity): pan about the picture's vertical, tilt about its horizontal, roll about the optical axis."""
    a = camera_angles(own_view_axes(m.cam_rot[0]) @ m.cam_rot)
    return a - a[0]


def median_depth(scene: Scene, m: ClipMotion) -> float:
    """Median valid z depth (metres) of the clip's first frame: the scale of ``translation_scale: median_depth``."""
    d = scene.depth[int(m.frames[0])]
    d = d[np.isfinite(d) & (d > 0)]
    if not d.size:
        raise BadInput(f"video {scene.video_id!r}: frame {int(m.frames[0])} has no valid depth")
    return float(np.median(d))


def camera_rotation(m: ClipMotion) -> np.ndarray:
    """(T, 3) (yaw, pitch, roll) change in degrees relative to the first frame."""
    a = camera_angles(m.cam_rot)
    return a - a[0]


# ------------------------------------------------------------------------------------------------------ objects


def object_positions(m: ClipMotion, object_id: int, frame: str = "world") -> np.ndarray:
    """(T, 3) object centre in ``frame``: world | camera (each frame's own camera, OpenCV) | first_cam | heading
    (relative to the first camera centre)."""
    p = m.obj_pos[m.index(object_id)]
    if frame == "world":
        return p.copy()
    if frame == "camera":
        return np.einsum("tji,tj->ti", m.cam_rot, p - m.cam_pos)
    if frame == "first_cam":
        return geometry.matmul(p - m.cam_pos[0], m.cam_rot[0])
    if frame == "heading":
        return geometry.matmul(p - m.cam_pos[0], m.heading_axes.T)
    raise ValueError(f"unknown reference frame {frame!r}")


def own_frame_displacement(m: ClipMotion, object_id: int) -> np.ndarray:
    """(3,) displacement integrated in the object's own frame: sum_t R_t^T (p_{t+1} - p_t), using the mid-step
    rotation, so a car driving around a bend still reads as mostly "forward"."""
    i = m.index(object_id)
    p, r = m.obj_pos[i], m.obj_rot[i]
    steps = np.diff(p, axis=0)
    yaw = np.radians(object_yaw_deg(r))
    mid_yaw = 0.5 * (yaw[1:] + yaw[:-1])
    # Rotate by the mid-step heading about world z (objects that tilt are rare; heading is what "forward" means).
    c, s = np.cos(mid_yaw), np.sin(mid_yaw)
    fwd = c * steps[:, 0] + s * steps[:, 1]
    left = -s * steps[:, 0] + c * steps[:, 1]
    return np.array([fwd.sum(), left.sum(), steps[:, 2].sum()])


def path_length(points: np.ndarray) -> float:
    """Sum of step lengths of a (T, 3) polyline."""
    return float(np.linalg.norm(np.diff(points, axis=0), axis=-1).sum())


def camera_object_distance(m: ClipMotion, object_id: int) -> np.ndarray:
    """(T,) Euclidean distance camera centre -> object centre."""
    return np.linalg.norm(m.obj_pos[m.index(object_id)] - m.cam_pos, axis=-1)


def object_object_distance(m: ClipMotion, a: int, b: int) -> np.ndarray:
    """(T,) distance between two object centres."""
    return np.linalg.norm(m.obj_pos[m.index(a)] - m.obj_pos[m.index(b)], axis=-1)


def speeds(points: np.ndarray, times: np.ndarray) -> np.ndarray:
    """(T-1,) speed per step in m/s."""
    return np.linalg.norm(np.diff(points, axis=0), axis=-1) / np.maximum(np.diff(times), 1e-9)


def instance_depth(scene: Scene, frame: int, object_id: int) -> float:
    """Median z depth of the object's visible pixels in scene frame ``frame`` (NaN if none are visible)."""
    mask = scene.instances[frame] == object_id
    d = scene.depth[frame][mask]
    d = d[np.isfinite(d)]
    return float(np.median(d)) if d.size else float("nan")


# ------------------------------------------------------------------------------------------------------ summary


def summarise(m: ClipMotion) -> dict:
    """JSON-ready measurements of the whole clip (what the QA records and reports quote).

    Keys: ``camera`` {translation_first_cam, translation_heading, translation_fwd_left_up, rotation_deg (yaw, pitch,
    roll), path_length_m, mean_speed_mps}; ``objects`` {id: {translation_world, translation_first_cam, translation_heading,
    translation_own, yaw_change_deg, yaw_rate_dps, path_length_m, mean_speed_mps, cam_distance_m (first, last),
    visible_fraction (min, mean)}}; ``pairs`` {"a-b": distance_m (first, last)}.
    """
    dur = max(m.duration_s, 1e-9)
    cam_len = path_length(m.cam_pos)
    cam = camera_translation(m)
    out = {
        "camera": {
            "translation_first_cam": _r(cam["first_cam"]),
            "translation_heading": _r(cam["heading"]),
            "translation_fwd_left_up": _r(camera_levelled_track(m)[-1]),
            "rotation_deg": _r(camera_rotation(m)[-1]),
            "path_length_m": round(cam_len, 4),
            "mean_speed_mps": round(cam_len / dur, 4),
        },
        "objects": {},
        "pairs": {},
    }
    for oid in m.object_ids:
        i = m.index(oid)
        if not np.isfinite(m.obj_pos[i]).all():
            continue
        length = path_length(m.obj_pos[i])
        yaw = object_yaw_deg(m.obj_rot[i])
        dist = camera_object_distance(m, oid)
        out["objects"][str(oid)] = {
            "translation_world": _r(m.obj_pos[i, -1] - m.obj_pos[i, 0]),
            "translation_first_cam": _r(object_positions(m, oid, "first_cam")[-1] - object_positions(m, oid, "first_cam")[0]),
            "translation_heading": _r(object_positions(m, oid, "heading")[-1] - object_positions(m, oid, "heading")[0]),
            "translation_own": _r(own_frame_displacement(m, oid)),
            "yaw_change_deg": round(float(yaw[-1] - yaw[0]), 3),
            "yaw_rate_dps": round(float((yaw[-1] - yaw[0]) / dur), 3),
            "path_length_m": round(length, 4),
            "mean_speed_mps": round(length / dur, 4),
            "cam_distance_m": _r([dist[0], dist[-1]]),
            "visible_fraction": _r([m.visible[i].min(), m.visible[i].mean()]),
        }
    ids = [int(k) for k in out["objects"]]
    for a_i, a in enumerate(ids):
        for b in ids[a_i + 1:]:
            d = object_object_distance(m, a, b)
            out["pairs"][f"{a}-{b}"] = _r([d[0], d[-1]])
    return out


def _r(values, nd: int = 4) -> list[float]:
    return [round(float(v), nd) for v in np.asarray(values).ravel()]
