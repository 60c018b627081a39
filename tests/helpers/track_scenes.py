"""Tiny analytically rendered standard scenes (ground plane + boxes) for the track tests.

Rendering is exact ray casting in NumPy: the ray of pixel centre (x, y) is ``R_wc @ [(x-cx)/f, (y-cy)/f, 1]`` from
the camera centre, so the ray parameter of a hit *is* its z depth. Boxes use the slab test in their own frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from fourdpqa.geometry import look_at, matrix_to_quat, pose_matrix, quat_to_matrix
from fourdpqa.scene import Scene, SceneMeta, validate_scene


@dataclass
class Box:
    object_id: int
    size: tuple[float, float, float]  # (l, w, h) along object x, y, z
    world_from_object: np.ndarray  # (T, 4, 4)


def intrinsics(width: int, height: int, f: float) -> np.ndarray:
    return np.array([[f, 0.0, (width - 1) / 2], [0.0, f, (height - 1) / 2], [0.0, 0.0, 1.0]])


def render(width: int, height: int, k: np.ndarray, world_from_cam: np.ndarray, boxes: list[Box], ground: bool = True):
    """z depth (T, H, W) float32 (NaN = sky) and instances (T, H, W) uint16."""
    n_t = len(world_from_cam)
    ys, xs = np.meshgrid(np.arange(height, dtype=np.float64), np.arange(width, dtype=np.float64), indexing="ij")
    d_cam = np.stack([(xs - k[0, 2]) / k[0, 0], (ys - k[1, 2]) / k[1, 1], np.ones_like(xs)], -1)
    depth = np.full((n_t, height, width), np.inf)
    inst = np.zeros((n_t, height, width), np.uint16)
    for t in range(n_t):
        o = world_from_cam[t, :3, 3]
        d = d_cam @ world_from_cam[t, :3, :3].T
        if ground:
            with np.errstate(divide="ignore", invalid="ignore"):
                tg = np.where(d[..., 2] < 0, -o[2] / d[..., 2], np.inf)
            depth[t] = np.where(tg > 0, tg, np.inf)
        for box in boxes:
            wfo = box.world_from_object[t]
            r = wfo[:3, :3]
            o_l = r.T @ (o - wfo[:3, 3])
            d_l = d @ r
            half = np.asarray(box.size) / 2
            with np.errstate(divide="ignore", invalid="ignore"):
                t1 = (-half - o_l) / d_l
                t2 = (half - o_l) / d_l
            t_near = np.nanmax(np.minimum(t1, t2), -1)
            t_far = np.nanmin(np.maximum(t1, t2), -1)
            hit = (t_far >= t_near) & (t_near > 0) & (t_near < depth[t])
            depth[t] = np.where(hit, t_near, depth[t])
            inst[t] = np.where(hit, box.object_id, inst[t])
    depth[~np.isfinite(depth)] = np.nan
    return depth.astype(np.float32), inst


def make_scene(
    world_from_cam: np.ndarray,
    boxes: list[Box],
    width: int = 48,
    height: int = 40,
    f: float = 40.0,
    ground: bool = True,
    video_id: str = "toy_00000",
) -> Scene:
    """A validated standard Scene from camera poses (T, 4, 4) and boxes."""
    n_t = len(world_from_cam)
    k = intrinsics(width, height, f)
    depth, inst = render(width, height, k, world_from_cam, boxes, ground)
    q = matrix_to_quat(world_from_cam[:, :3, :3])
    cameras = pl.DataFrame({
        "frame": np.arange(n_t, dtype=np.int64), "time_s": np.arange(n_t) / 10.0,
        "fx": np.full(n_t, f), "fy": np.full(n_t, f), "cx": np.full(n_t, k[0, 2]), "cy": np.full(n_t, k[1, 2]),
        "qw": q[:, 0], "qx": q[:, 1], "qy": q[:, 2], "qz": q[:, 3],
        "tx": world_from_cam[:, 0, 3], "ty": world_from_cam[:, 1, 3], "tz": world_from_cam[:, 2, 3],
    })
    objects = pl.DataFrame({
        "object_id": [b.object_id for b in boxes], "category": ["box"] * len(boxes),
        "caption": [f"box {b.object_id}" for b in boxes],
        "size_l": [float(b.size[0]) for b in boxes], "size_w": [float(b.size[1]) for b in boxes],
        "size_h": [float(b.size[2]) for b in boxes], "has_front": [True] * len(boxes), "is_dynamic": [True] * len(boxes),
    }, schema_overrides={"object_id": pl.Int64})
    pose_rows = []
    for b in boxes:
        bq = matrix_to_quat(b.world_from_object[:, :3, :3])
        pix = (inst == b.object_id).reshape(n_t, -1).sum(1)
        vis = pix / max(pix.max(), 1)
        for t in range(n_t):
            pose_rows.append({"frame": t, "object_id": b.object_id, "qw": bq[t, 0], "qx": bq[t, 1], "qy": bq[t, 2],
                              "qz": bq[t, 3], **dict(zip(("tx", "ty", "tz"), b.world_from_object[t, :3, 3].tolist())),
                              "visible_fraction": float(vis[t])})
    pose_schema = {"frame": pl.Int64, "object_id": pl.Int64, **{c: pl.Float64 for c in ("qw", "qx", "qy", "qz", "tx", "ty", "tz", "visible_fraction")}}
    object_poses = pl.DataFrame(pose_rows, schema=pose_schema).sort("object_id", "frame")
    rgb = np.zeros((n_t, height, width, 3), np.uint8)
    rgb[..., 1] = 90 + (inst * 40 % 160).astype(np.uint8)
    rgb[..., 2] = np.where(np.isfinite(depth), np.clip(255 - 20 * np.nan_to_num(depth), 0, 255), 200).astype(np.uint8)
    scene = Scene(
        meta=SceneMeta(video_id=video_id, source="toy", fps=10.0, width=width, height=height, n_frames=n_t),
        rgb=rgb, depth=depth, instances=inst, cameras=cameras, objects=objects, object_poses=object_poses,
    )
    validate_scene(scene)
    return scene


def static_poses(pose: np.ndarray, n_t: int) -> np.ndarray:
    return np.repeat(pose[None], n_t, 0)


def random_scene(
    seed: int, n_t: int = 6, width: int = 48, height: int = 40, n_boxes: int = 3,
    static_camera: bool = False, static_objects: bool = False,
) -> Scene:
    """Camera orbiting/rising while looking near the origin; boxes translating and rotating about arbitrary axes."""
    rng = np.random.default_rng(seed)
    angle0, radius, z0 = rng.uniform(0, 2 * np.pi), rng.uniform(5.0, 7.0), rng.uniform(1.5, 3.0)
    speed, rise = (0.0, 0.0) if static_camera else (rng.uniform(0.03, 0.08) * rng.choice([-1, 1]), 0.05)
    jitter = rng.normal(0, 0.02, (n_t, 3)) * (not static_camera)
    cams = np.stack([
        look_at(np.array([radius * np.cos(angle0 + speed * t), radius * np.sin(angle0 + speed * t), z0 + rise * t]),
                np.array([0.0, 0.0, 0.3]) + jitter[t])
        for t in range(n_t)
    ])
    boxes = []
    for i in range(n_boxes):
        size = tuple(rng.uniform(0.5, 1.4, 3))
        start = np.array([*rng.uniform(-1.5, 1.5, 2), size[2] / 2])
        vel = rng.normal(0, 0.15, 3) * np.array([1, 1, 0.3]) * (not static_objects)
        axis = rng.normal(size=3)
        axis /= np.linalg.norm(axis)
        w0, dw = rng.uniform(0, 2 * np.pi), rng.uniform(-0.2, 0.2) * (not static_objects)
        poses = []
        for t in range(n_t):
            ang = w0 + dw * t
            qt = np.array([np.cos(ang / 2), *(axis * np.sin(ang / 2))])
            poses.append(pose_matrix(quat_to_matrix(qt), start + vel * t))
        boxes.append(Box(object_id=i + 1, size=size, world_from_object=np.stack(poses)))
    return make_scene(cams, boxes, width=width, height=height, f=0.9 * width, video_id=f"toy_{seed:05d}")
