"""What oracle-2 looks at: the raw files of a standard scene and its stored point tracks, read here without the
project's scene reader (so a decoding bug there is not inherited), and the motion measured from the tracks.

Files (docs/DESIGN.md "Standard scene"): ``scene.json``, ``cameras.parquet`` (time, intrinsics, world_from_cam as
quaternion + translation), ``objects.parquet``, ``object_poses.parquet``, ``instances.npy`` (T, H, W) uint16,
``depth.npy`` (T, H, W) float32 z-depth; tracks ``<tracks_dir>/<video_id>.npz`` (``schemas/tracks.py``).

The generator measures motion as differences of world poses. Oracle-2 measures it in the clip's first camera frame
from the tracks (:meth:`Evidence.clip_motion`): the camera's motion is the rigid motion of the static background's
tracked 3-D points as the camera sees them (``points_cam`` of the ``object_id`` 0 tracks), an object's motion the
rigid motion of its own tracked points carried into the first camera frame; the pose tables give only the
direction of gravity and where each object's box centre and axes are at the clip's first frame. Where too few
tracked points exist (fewer than three, collinear, or not moving rigidly), the raw poses re-expressed in the first
camera frame stand in, and the verdict says so (``source``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from fourdpqa.errors import BadInput
from fourdpqa.oracle2.geometry import rigid_fit, rotation_from_quaternion

MIN_TRACK_POINTS = 3
MIN_SPREAD_M = 1e-3  # second singular value of the centred points: below it they are (nearly) collinear
MAX_RIGID_RESIDUAL_M = 1e-3  # tracks that do not move rigidly are not used


class EvidenceError(BadInput):
    """A scene or tracks file oracle-2 cannot read; the message names the video and the file."""


@dataclass
class CameraMotion:
    """The camera over a clip in its first frame's coordinates: ``centre`` (T, 3) metres, ``axes`` (T, 3, 3) whose
    columns are each frame's x, y, z camera axes, ``up`` (3,) gravity's up; ``source`` tracks | poses."""

    centre: np.ndarray
    axes: np.ndarray
    up: np.ndarray
    source: str


@dataclass
class ObjectMotion:
    """One object over a clip in first-camera coordinates: ``centre`` (T, 3) metres (its box centre), ``axes``
    (T, 3, 3) whose columns are its front (+x), left (+y) and top (+z) axes; ``source`` tracks | poses."""

    centre: np.ndarray
    axes: np.ndarray
    source: str


@dataclass
class Evidence:
    """A scene's raw arrays. Per frame f of the video (T frames): ``times[f]`` s, ``cam_pos[f]`` (3,) and
    ``cam_rot[f]`` (3, 3) world_from_cam, ``intrinsics[f]`` (fx, fy, cx, cy); per object id: ``obj_pos[id]`` (T, 3)
    and ``obj_rot[id]`` (T, 3, 3), NaN where no pose row exists, ``radius[id]`` half its box diagonal.
    ``instances`` / ``depth``: (T, H, W) memory-mapped. ``tracks``: the stored ``frames`` (Tt,), ``object_id`` (N,)
    and ``points_cam`` (N, Tt, 3), or None when no tracks file exists."""

    video_id: str
    width: int
    height: int
    times: np.ndarray
    cam_pos: np.ndarray
    cam_rot: np.ndarray
    intrinsics: np.ndarray
    captions: dict[int, str]
    radius: dict[int, float]
    obj_pos: dict[int, np.ndarray]
    obj_rot: dict[int, np.ndarray]
    instances: np.ndarray
    depth: np.ndarray
    tracks: dict[str, np.ndarray] | None
    _cache: dict[tuple, object] = field(default_factory=dict)  # records of one clip share the fits

    def median_depth(self, frame: int) -> float:
        """Median of the valid (finite, positive) z-depth of scene ``frame``, metres."""
        d = np.asarray(self.depth[frame])
        d = d[np.isfinite(d) & (d > 0)]
        if not d.size:
            raise EvidenceError(f"video {self.video_id!r}: frame {frame} has no valid depth")
        return float(np.median(d))

    def _track_points(self, object_id: int, frames: np.ndarray) -> np.ndarray | None:
        """(n, T, 3) camera-frame track points of ``object_id`` at scene ``frames`` when they can carry a rigid fit."""
        t = self.tracks
        if t is None or not np.isin(frames, t["frames"]).all():
            return None
        pts = t["points_cam"][t["object_id"] == object_id][:, np.searchsorted(t["frames"], frames)]
        pts = pts[np.isfinite(pts).all(axis=(1, 2))]
        if len(pts) < MIN_TRACK_POINTS or np.linalg.svd(pts[:, 0] - pts[:, 0].mean(0), compute_uv=False)[1] < MIN_SPREAD_M:
            return None
        return pts

    def clip_motion(self, frames: np.ndarray) -> CameraMotion:
        """The camera over scene ``frames``: the rigid motion of the background tracks (point p seen at q_k in
        frame k and q_0 in the first: q_k = R_k q_0 + t_k, so frame k's centre is -R_k^T t_k and its axes are the
        columns of R_k^T), else the camera poses; ``up`` is the world's +z seen from the first camera."""
        key = ("camera", *frames.tolist())
        if key not in self._cache:
            r0 = self.cam_rot[frames[0]]
            up = r0[2].copy()  # R0^T e_z
            fitted = self._odometry(frames, up)
            self._cache[key] = fitted or CameraMotion(
                (self.cam_pos[frames] - self.cam_pos[frames[0]]) @ r0, np.einsum("ji,tjk->tik", r0, self.cam_rot[frames]),
                up, "poses")
        return self._cache[key]  # type: ignore[return-value]

    def _odometry(self, frames: np.ndarray, up: np.ndarray) -> CameraMotion | None:
        pts = self._track_points(0, frames)
        if pts is None:
            return None
        centre, axes = np.empty((len(frames), 3)), np.empty((len(frames), 3, 3))
        for k in range(len(frames)):
            r, shift, residual = rigid_fit(pts[:, 0], pts[:, k])
            if residual > MAX_RIGID_RESIDUAL_M:
                return None
            centre[k], axes[k] = -r.T @ shift, r.T
        return CameraMotion(centre, axes, up, "tracks")

    def object_motion(self, object_id: int, frames: np.ndarray) -> ObjectMotion:
        """Box centre and axes of ``object_id`` over scene ``frames`` in first-camera coordinates: its tracked
        points carried into the first camera frame (q0 = axes_k q_k + centre_k) and fitted rigidly from the first
        frame on; the box centre and axes at the first frame come from its pose. Else its poses."""
        if object_id not in self.obj_pos:
            raise EvidenceError(f"video {self.video_id!r}: object {object_id} is not in objects.parquet")
        key = (object_id, *frames.tolist())
        if key not in self._cache:
            cam = self.clip_motion(frames)
            r0, p0 = self.cam_rot[frames[0]], self.cam_pos[frames[0]]
            centre = (self.obj_pos[object_id][frames] - p0) @ r0
            axes = np.einsum("ji,tjk->tik", r0, self.obj_rot[object_id][frames])
            fitted = self._fitted_object(object_id, frames, cam, centre[0], axes[0])
            self._cache[key] = fitted or ObjectMotion(centre, axes, "poses")
        return self._cache[key]  # type: ignore[return-value]

    def _fitted_object(self, object_id: int, frames: np.ndarray, cam: CameraMotion, centre0: np.ndarray,
                       axes0: np.ndarray) -> ObjectMotion | None:
        pts = self._track_points(object_id, frames)
        if pts is None or not (np.isfinite(centre0).all() and np.isfinite(axes0).all()):
            return None
        first = np.einsum("tij,ntj->nti", cam.axes, pts) + cam.centre  # (n, T, 3) in first-camera coordinates
        centre, axes = np.empty((len(frames), 3)), np.empty((len(frames), 3, 3))
        for k in range(len(frames)):
            r, shift, residual = rigid_fit(first[:, 0], first[:, k])
            if residual > MAX_RIGID_RESIDUAL_M:
                return None
            centre[k], axes[k] = r @ centre0 + shift, r @ axes0
        return ObjectMotion(centre, axes, "tracks")


def _table(scene_dir: Path, name: str) -> pl.DataFrame:
    path = scene_dir / f"{name}.parquet"
    try:
        return pl.read_parquet(path)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise EvidenceError(f"video {scene_dir.name!r}: {path.name}: {exc}") from exc


def _array(scene_dir: Path, name: str) -> np.ndarray:
    path = scene_dir / f"{name}.npy"
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise EvidenceError(f"video {scene_dir.name!r}: {path.name}: {exc}") from exc


def _poses(table: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    q = table.select("qw", "qx", "qy", "qz").to_numpy().astype(np.float64)
    return table.select("tx", "ty", "tz").to_numpy().astype(np.float64), rotation_from_quaternion(q)


def load_evidence(scene_dir: str | Path, tracks_file: str | Path | None = None) -> Evidence:
    """Read one scene directory (and its tracks npz when ``tracks_file`` exists)."""
    scene_dir = Path(scene_dir)
    try:
        meta = json.loads((scene_dir / "scene.json").read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise EvidenceError(f"video {scene_dir.name!r}: scene.json: {exc}") from exc
    n = int(meta["n_frames"])
    cams = _table(scene_dir, "cameras").sort("frame")
    cam_pos, cam_rot = _poses(cams)
    objects = _table(scene_dir, "objects")
    poses = _table(scene_dir, "object_poses")
    obj_pos, obj_rot = {}, {}
    for oid in objects["object_id"].to_list():
        rows = poses.filter(pl.col("object_id") == oid)
        pos, rot = np.full((n, 3), np.nan), np.full((n, 3, 3), np.nan)
        frames = rows["frame"].to_numpy()
        pos[frames], rot[frames] = _poses(rows)
        obj_pos[int(oid)], obj_rot[int(oid)] = pos, rot
    tracks = None
    if tracks_file is not None and Path(tracks_file).exists():
        with np.load(tracks_file, allow_pickle=False) as z:
            tracks = {k: z[k] for k in ("frames", "object_id", "points_cam")}
    ids = objects["object_id"].to_list()
    half_diagonal = 0.5 * np.sqrt(sum(objects[c].to_numpy().astype(np.float64) ** 2 for c in ("size_l", "size_w", "size_h")))
    return Evidence(
        video_id=str(meta["video_id"]), width=int(meta["width"]), height=int(meta["height"]),
        times=cams["time_s"].to_numpy().astype(np.float64), cam_pos=cam_pos, cam_rot=cam_rot,
        intrinsics=cams.select("fx", "fy", "cx", "cy").to_numpy().astype(np.float64),
        captions=dict(zip(ids, objects["caption"].to_list(), strict=True)),
        radius={int(o): float(r) for o, r in zip(ids, half_diagonal, strict=True)},
        obj_pos=obj_pos, obj_rot=obj_rot, instances=_array(scene_dir, "instances"), depth=_array(scene_dir, "depth"),
        tracks=tracks,
    )
