"""How much of each object the frame holds (issue 24.2): the share of its projected 3D box inside the image, and
whether its pixels touch the image border.

A question may name an object only in frames that hold at least half of it (:data:`MIN_IN_FRAME`), and an
object cut by the border never anchors a spatial comparison: its 3D centre, which the label compares, lies where
the picture cannot show it. Both are measured on every source the same way, from the standard scene's poses,
box sizes, intrinsics and instance masks.
"""

from __future__ import annotations

import cv2
import numpy as np

from fourdpqa.scene import Scene

MIN_IN_FRAME = 0.5  # a named object: at least this share of its projected box inside the image
_CORNERS = np.array([[x, y, z] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)])
_NEAR_M = 1e-3


def box_corners_px(scene: Scene, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(O, T, 8, 2) pixel coordinates and (O, T, 8) camera depths of every object's 3D box corners in ``frames``
    (NaN where the object has no pose)."""
    sizes = scene.objects.select("size_l", "size_w", "size_h").to_numpy().astype(np.float64)  # object_ids order
    wfo = scene.world_from_object[:, frames]  # (O, T, 4, 4)
    local = _CORNERS[None] * sizes[:, None]  # (O, 8, 3)
    world = np.einsum("otij,okj->otki", wfo[..., :3, :3], local) + wfo[:, :, None, :3, 3]
    wfc = scene.world_from_cam[frames]
    cam = np.einsum("tji,otkj->otki", wfc[:, :3, :3], world - wfc[None, :, None, :3, 3])
    k = scene.intrinsics[frames]  # (T, 3, 3)
    z = cam[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        x = k[None, :, None, 0, 0] * cam[..., 0] / z + k[None, :, None, 0, 2]
        y = k[None, :, None, 1, 1] * cam[..., 1] / z + k[None, :, None, 1, 2]
    return np.stack([x, y], -1), z


def in_frame_share(scene: Scene, frames: np.ndarray) -> np.ndarray:
    """(O, T) share of the area of each object's projected 3D box (the convex hull of its corners) inside the
    image (pixel edges -0.5 .. size - 0.5); 0 for a box reaching behind the camera (its projection is unbounded)
    or without a pose."""
    px, z = box_corners_px(scene, frames)
    w, h = scene.meta.width, scene.meta.height
    rect = np.array([[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]], np.float32)
    out = np.zeros(z.shape[:2])
    for o, t in zip(*np.nonzero(np.isfinite(z).all(-1) & (z > _NEAR_M).all(-1)), strict=True):
        hull = cv2.convexHull(px[o, t].astype(np.float32))
        area = float(cv2.contourArea(hull))
        if area <= 1e-9:  # a degenerate (sub-pixel) projection: inside or not
            x, y = px[o, t].mean(0)
            out[o, t] = float(-0.5 <= x <= w - 0.5 and -0.5 <= y <= h - 0.5)
            continue
        inter, _ = cv2.intersectConvexConvex(hull, rect)
        out[o, t] = min(max(float(inter) / area, 0.0), 1.0)
    return out


def at_border(scene: Scene, frames: np.ndarray) -> np.ndarray:
    """(O, T) bool: the object's instance pixels reach the outermost row or column of the image in that frame."""
    ids = np.asarray(scene.object_ids, dtype=np.int64)
    out = np.zeros((len(ids), len(frames)), bool)
    for t, f in enumerate(np.asarray(frames).tolist()):
        inst = scene.instances[f]
        ring = np.concatenate([inst[0], inst[-1], inst[:, 0], inst[:, -1]])
        out[:, t] = np.isin(ids, ring)
    return out
