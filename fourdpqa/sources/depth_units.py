"""Depth units checked against the scene's own geometry: a depth map in millimetres, centimetres or decimetres where
metres are expected looks valid pixel by pixel, so the scale is compared with what the annotations say.

- :func:`box_depth_ratio`: the depth at each object's pixels over the distance along the optical axis of the centre
  of its 3D box (from the object and camera poses); about 1 when both are metres (a visible surface lies a little
  in front of the centre).
- :func:`motion_depth_ratio`: for sources without 3D boxes (reconstructions), the factor that makes the depth of one
  frame, moved by the camera motion to another frame, agree with that frame's depth; the camera baseline fixes the
  scale, so a wrong unit shows as a factor far from 1.

Both refuse a factor of :data:`LIMIT` or more either way (:func:`check_ratio`), naming the depth file.
"""

from __future__ import annotations

import numpy as np

from fourdpqa import geometry
from fourdpqa.scene import Scene, SceneError

LIMIT = 3.0
MIN_PIXELS = 8  # an object's median depth needs this many pixels (the median over objects absorbs the noise)
SAMPLE_FRAMES = 3
SCALES = 10.0 ** np.linspace(-4, 4, 161)  # candidate unit factors for the motion check


def sample_frames(n: int, k: int = SAMPLE_FRAMES) -> list[int]:
    """Up to ``k`` frames spread over ``n`` (first, middle, last, ...)."""
    return sorted({int(round(v)) for v in np.linspace(0, n - 1, min(n, k))})


def box_depth_ratio(scene: Scene, frames: list[int] | None = None) -> float | None:
    """Median over (frame, visible object) of median mask depth / camera-z of the object's box centre; None when
    no object shows ``MIN_PIXELS`` pixels with depth in front of the camera."""
    ratios = []
    cam_from_world = geometry.invert_pose(scene.world_from_cam)
    ids = np.asarray(scene.object_ids, np.int64)
    for t in sample_frames(scene.meta.n_frames) if frames is None else frames:
        d, inst = np.asarray(scene.depth[t]), np.asarray(scene.instances[t]).astype(np.int64)
        ok = np.isfinite(d) & (d > 0) & (inst > 0)
        if not ok.any():
            continue
        lab, val = inst[ok], d[ok]
        order = np.argsort(lab, kind="stable")
        lab, val = lab[order], val[order]
        uniq, start, count = np.unique(lab, return_index=True, return_counts=True)
        for oid, s, c in zip(uniq.tolist(), start.tolist(), count.tolist()):
            i = int(np.searchsorted(ids, oid))
            if c < MIN_PIXELS or i >= len(ids) or ids[i] != oid:
                continue
            centre = scene.world_from_object[i, t, :, 3]
            if not np.isfinite(centre).all():
                continue
            z = float((cam_from_world[t] @ centre)[2])
            if z > 0.05:
                ratios.append(float(np.median(val[s:s + c])) / z)
    return float(np.median(ratios)) if ratios else None


def motion_depth_ratio(k: np.ndarray, world_from_cam: np.ndarray, depth: np.ndarray, a: int, b: int,
                       step: int = 4) -> float | None:
    """Unit factor c (true depth = c x stored depth, true translation as stored) that best moves frame ``a``'s
    depth onto frame ``b``'s (median absolute log depth error over a pixel grid of ``step``); None when the
    baseline cannot tell scales apart (the best factor fits no better than factors 10x away)."""
    da, db = np.asarray(depth[a], np.float64), np.asarray(depth[b], np.float64)
    h, w = da.shape
    ys, xs = np.mgrid[0:h:step, 0:w:step]
    ys, xs = ys.ravel(), xs.ravel()
    ok = np.isfinite(da[ys, xs]) & (da[ys, xs] > 0)
    if ok.sum() < MIN_PIXELS:
        return None
    px = np.stack([xs[ok], ys[ok]], -1).astype(np.float64)
    rays = geometry.unproject(k[a], px, np.ones(len(px)))
    b_from_a = geometry.invert_pose(world_from_cam[b]) @ world_from_cam[a]
    errors = np.full(len(SCALES), np.inf)
    for j, c in enumerate(SCALES):
        pts = rays * (c * da[ys[ok], xs[ok]])[:, None]
        q = pts @ b_from_a[:3, :3].T + b_from_a[:3, 3]
        front = q[:, 2] > 1e-6
        uv = (q[front, :2] / q[front, 2:]) @ k[b][:2, :2].T + k[b][:2, 2]
        u, v = np.round(uv[:, 0]).astype(np.int64), np.round(uv[:, 1]).astype(np.int64)
        inside = (u >= 0) & (u < w) & (v >= 0) & (v < h)
        if inside.sum() < MIN_PIXELS:
            continue
        seen = db[v[inside], u[inside]]
        good = np.isfinite(seen) & (seen > 0)
        if good.sum() < MIN_PIXELS:
            continue
        errors[j] = float(np.median(np.abs(np.log(q[front][inside][good, 2] / (c * seen[good])))))
    best = int(np.argmin(errors))
    if not np.isfinite(errors[best]):
        return None
    far = [errors[j] for j in (best - 20, best + 20) if 0 <= j < len(SCALES)]  # 10x either way
    if not far or min(far) < 2 * errors[best] + 0.01:
        return None
    return float(SCALES[best])


def check_ratio(video_id: str, file: str, ratio: float | None, what: str) -> None:
    """Refuse a depth unit off by :data:`LIMIT` or more (``ratio`` = true depth / stored depth, or its inverse)."""
    if ratio is not None and not 1 / LIMIT < ratio < LIMIT:
        raise SceneError(video_id, file, f"depth is {ratio:.3g}x {what}: wrong depth units (metres expected; "
                         f"a factor of {LIMIT:g} or more either way is refused)")


def check_scene_depth(scene: Scene, raw_path: object) -> None:
    """The check every adapter's scene passes in standardize: depth at object pixels against the box distances
    (nothing to compare when no object is visible in the sampled frames). The depth file named is the adapter's
    ``extra.depth_file`` when it set one, else the raw video's path."""
    file = str(scene.meta.extra.get("depth_file") or raw_path)
    check_ratio(scene.video_id, file, box_depth_ratio(scene), "the distance of the objects' 3D box centres")
