"""Objects from per-frame instance masks and depth (for sources with no 3D annotations, e.g. 4D reconstructions).

An object is one mask id over the video. Its position per frame is the median of its pixels lifted to 3D with the
z depth and the camera pose; its size the robust extent of those points in the frame where it shows the most
pixels (a visible surface only, so depth extents are under-estimates). Orientation is unknown: poses carry the
identity rotation and ``has_front`` is False, so question types that need an object's heading or rotation skip
these objects. The visible fraction is the pixel count over the track's largest pixel count (occlusion and
truncation are not separable without a model of the object).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from fourdpqa import geometry

DYNAMIC_REL = 0.05  # moved more than this share of its median distance to the camera -> dynamic
POSE_SCHEMA = {"frame": pl.Int64, "object_id": pl.Int64, "qw": pl.Float64, "qx": pl.Float64, "qy": pl.Float64,
               "qz": pl.Float64, "tx": pl.Float64, "ty": pl.Float64, "tz": pl.Float64, "visible_fraction": pl.Float64}
OBJECT_SCHEMA = {"object_id": pl.Int64, "category": pl.Utf8, "caption": pl.Utf8, "size_l": pl.Float64,
                 "size_w": pl.Float64, "size_h": pl.Float64, "has_front": pl.Boolean, "is_dynamic": pl.Boolean}
MIN_SIZE_M = 0.01


def lift(mask: np.ndarray, depth: np.ndarray, k: np.ndarray, world_from_cam: np.ndarray) -> np.ndarray:
    """World points (N, 3) of the ``mask`` (H, W) bool pixels with finite positive ``depth`` (H, W) z metres,
    through intrinsics ``k`` (3, 3) and ``world_from_cam`` (4, 4) (OpenCV axes)."""
    ys, xs = np.nonzero(mask & np.isfinite(depth) & (depth > 0))
    if not len(xs):
        return np.zeros((0, 3))
    cam = geometry.unproject(k, np.stack([xs, ys], -1).astype(np.float64), depth[ys, xs].astype(np.float64))
    return geometry.transform_points(world_from_cam, cam)


def _extent(points: np.ndarray) -> tuple[float, float, float]:
    """(l, w, h): horizontal footprint diameter (robust, l = w) and vertical 5-95 % range of world points (N, 3)."""
    centre = np.median(points, axis=0)
    radial = np.linalg.norm(points[:, :2] - centre[:2], axis=1)
    across = 2.0 * float(np.percentile(radial, 90))
    height = float(np.percentile(points[:, 2], 95) - np.percentile(points[:, 2], 5))
    return max(across, MIN_SIZE_M), max(across, MIN_SIZE_M), max(height, MIN_SIZE_M)


def mask_objects(instances: np.ndarray, depth: np.ndarray, k: np.ndarray, world_from_cam: np.ndarray,
                 labels: dict[int, str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(objects, object_poses) of every id > 0 in ``instances`` (T, H, W) uint16, with ``depth`` (T, H, W) z
    metres, ``k`` (T, 3, 3), ``world_from_cam`` (T, 4, 4) and ``labels`` id -> category (default "object")."""
    ids = [int(i) for i in np.unique(instances) if i > 0]
    objects, poses = [], []
    for oid in ids:
        counts = (instances == oid).reshape(len(instances), -1).sum(1)
        centres, sizes = {}, None
        for t in np.flatnonzero(counts):
            pts = lift(instances[t] == oid, depth[t], k[t], world_from_cam[t])
            if len(pts):
                centres[int(t)] = np.median(pts, axis=0)
                if t == int(np.argmax(counts)) or sizes is None:
                    sizes = _extent(pts)
        if not centres:
            continue  # an id without any valid depth has no position: it cannot become an object
        frames = sorted(centres)
        pos = np.stack([centres[t] for t in frames])
        cam_dist = np.linalg.norm(pos - world_from_cam[frames, :3, 3], axis=1)
        moved = float(np.linalg.norm(pos - pos[0], axis=1).max())
        objects.append({"object_id": oid, "category": labels.get(oid, "object"), "caption": "", "size_l": sizes[0],
                        "size_w": sizes[1], "size_h": sizes[2], "has_front": False,
                        "is_dynamic": moved > DYNAMIC_REL * float(np.median(cam_dist))})
        vis = counts[frames] / counts.max()
        poses += [(t, oid, 1.0, 0.0, 0.0, 0.0, *p, float(v)) for t, p, v in zip(frames, pos.tolist(), vis)]
    return (pl.DataFrame(objects, schema=OBJECT_SCHEMA),
            pl.DataFrame(poses, schema=POSE_SCHEMA, orient="row").sort("object_id", "frame"))
