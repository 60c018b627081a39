"""What oracle-2 looks at: the raw files of a standard scene and its stored point tracks, read here without the
project's scene reader (so a decoding bug there is not inherited), and object motion measured from the tracks.

Files (docs/DESIGN.md "Standard scene"): ``scene.json``, ``cameras.parquet`` (time, intrinsics, world_from_cam as
quaternion + translation), ``objects.parquet``, ``object_poses.parquet``, ``instances.npy`` (T, H, W) uint16,
``depth.npy`` (T, H, W) float32 z-depth; tracks ``<tracks_dir>/<video_id>.npz`` (``schemas/tracks.py``).
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
class ObjectMotion:
    """One object over a clip. centre: (T, 3) world metres; rotation: (T, 3, 3) world_from_object;
    source: "tracks" when the motion was fitted to the object's stored 3-D track points, else "poses"."""

    centre: np.ndarray
    rotation: np.ndarray
    source: str


@dataclass
class Evidence:
    """A scene's raw arrays. Per frame f of the video (T frames): ``times[f]`` s, ``cam_pos[f]`` (3,) and
    ``cam_rot[f]`` (3, 3) world_from_cam; per object id: ``obj_pos[id]`` (T, 3) and ``obj_rot[id]`` (T, 3, 3),
    NaN where no pose row exists. ``instances`` / ``depth``: (T, H, W) memory-mapped. ``tracks``: the stored
    ``frames`` (Tt,), ``object_id`` (N,) and ``points_world`` (N, Tt, 3), or None when no tracks file exists."""

    video_id: str
    width: int
    height: int
    times: np.ndarray
    cam_pos: np.ndarray
    cam_rot: np.ndarray
    captions: dict[int, str]
    obj_pos: dict[int, np.ndarray]
    obj_rot: dict[int, np.ndarray]
    instances: np.ndarray
    depth: np.ndarray
    tracks: dict[str, np.ndarray] | None
    _motions: dict[tuple, ObjectMotion] = field(default_factory=dict)  # records of one clip share the fits

    def object_motion(self, object_id: int, frames: np.ndarray) -> ObjectMotion:
        """Centre and orientation of ``object_id`` at scene ``frames`` (T,): fitted to its stored track points
        when at least three non-collinear ones move rigidly over the clip, else the raw poses."""
        if object_id not in self.obj_pos:
            raise EvidenceError(f"video {self.video_id!r}: object {object_id} is not in objects.parquet")
        key = (object_id, *frames.tolist())
        if key not in self._motions:
            pos, rot = self.obj_pos[object_id][frames], self.obj_rot[object_id][frames]
            fitted = self._track_motion(object_id, frames, pos[0], rot[0])
            self._motions[key] = fitted or ObjectMotion(pos, rot, "poses")
        return self._motions[key]

    def median_depth(self, frame: int) -> float:
        """Median of the valid (finite, positive) z-depth of scene ``frame``, metres."""
        d = np.asarray(self.depth[frame])
        d = d[np.isfinite(d) & (d > 0)]
        if not d.size:
            raise EvidenceError(f"video {self.video_id!r}: frame {frame} has no valid depth")
        return float(np.median(d))

    def _track_motion(self, object_id: int, frames: np.ndarray, centre0: np.ndarray,
                      rot0: np.ndarray) -> ObjectMotion | None:
        t = self.tracks
        if t is None or not np.isfinite(centre0).all() or not np.isin(frames, t["frames"]).all():
            return None
        cols = np.searchsorted(t["frames"], frames)
        pts = t["points_world"][t["object_id"] == object_id][:, cols]
        pts = pts[np.isfinite(pts).all(axis=(1, 2))]
        if len(pts) < MIN_TRACK_POINTS or np.linalg.svd(pts[:, 0] - pts[:, 0].mean(0), compute_uv=False)[1] < MIN_SPREAD_M:
            return None
        centre, rotation = np.empty((len(frames), 3)), np.empty((len(frames), 3, 3))
        for k in range(len(frames)):
            r, shift, residual = rigid_fit(pts[:, 0], pts[:, k])
            if residual > MAX_RIGID_RESIDUAL_M:
                return None
            centre[k], rotation[k] = r @ centre0 + shift, r @ rot0
        return ObjectMotion(centre, rotation, "tracks")


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
            tracks = {k: z[k] for k in ("frames", "object_id", "points_world")}
    return Evidence(
        video_id=str(meta["video_id"]), width=int(meta["width"]), height=int(meta["height"]),
        times=cams["time_s"].to_numpy().astype(np.float64), cam_pos=cam_pos, cam_rot=cam_rot,
        captions=dict(zip(objects["object_id"].to_list(), objects["caption"].to_list(), strict=True)),
        obj_pos=obj_pos, obj_rot=obj_rot, instances=_array(scene_dir, "instances"), depth=_array(scene_dir, "depth"),
        tracks=tracks,
    )
