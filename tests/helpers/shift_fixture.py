"""A small SHIFT split written in the official discrete/images layout (shift-dev ``download.py`` / ``SHIFTDataset``):
``<split>/front/{img.zip|img/, depth.zip|depth/, det_3d.json, det_insseg_2d.json}``.

Independent of the adapter: the scene is defined in CARLA's left-handed world (x, y, z up, yaw in degrees), the
camera-frame boxes and pixels are derived here with plain yaw-only formulas, depth is encoded as the inverse of the
devkit's decoder (v = d / 1000 * 2^24, R = low byte) and masks as COCO RLEs with the string "[H, W]" size the real
files use. Six frames at the 1 fps ``images`` rate (frame numbers 0, 10, ..., 50): the camera drives 2 m per frame
along CARLA +y (yaw 90); a blue car crosses the road along CARLA +x (image right -> left); a red pedestrian stands;
a yellow car ahead on the left creeps and turns by 15 degrees per frame.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from pycocotools import mask as coco_mask

W, H, F = 96, 64, 48.0
CX, CY = 48.0, 32.0
CAM_HEIGHT = 1.6
FRAMES = [0, 10, 20, 30, 40, 50]
SKY, GROUND = (150, 190, 230), (110, 110, 110)
# track id -> (category, colour, CARLA yaw deg at step t, dims (h, w, l), CARLA world centre at step t)
OBJECTS = {
    "42": ("car", (30, 60, 200), lambda t: 0.0, (1.5, 1.8, 4.5), lambda t: np.array([6.0 + 1.0 * t, 25.0, 0.75])),
    "7": ("pedestrian", (200, 30, 30), lambda t: 180.0, (1.8, 0.6, 0.6), lambda t: np.array([8.0, 21.0, 0.9])),
    "5": ("car", (230, 200, 30), lambda t: 90.0 + 15.0 * t, (1.5, 1.8, 4.5),
          lambda t: np.array([16.0 - 0.3 * t, 21.0, 0.75])),  # turning right (clockwise from above)
}


def camera_centre(t: int) -> np.ndarray:
    """CARLA world position of the camera at step ``t`` (yaw 90: looking along CARLA +y)."""
    return np.array([10.0, 5.0 + 2.0 * t, CAM_HEIGHT])


def to_camera(p: np.ndarray, t: int) -> np.ndarray:
    """CARLA world point -> OpenCV camera coordinates for the yaw-90 camera (forward +y, right -x, up +z)."""
    d = p - camera_centre(t)
    fwd, right = np.array([0.0, 1.0, 0.0]), np.array([-1.0, 0.0, 0.0])
    return np.array([d @ right, -d[2], d @ fwd])


def heading_cam(yaw_deg: float) -> np.ndarray:
    """Unit heading of a CARLA yaw in the camera frame (CARLA heading = (cos, sin, 0) in its left-handed x, y)."""
    h = np.array([math.cos(math.radians(yaw_deg)), math.sin(math.radians(yaw_deg)), 0.0])
    return np.array([h @ np.array([-1.0, 0.0, 0.0]), -h[2], h @ np.array([0.0, 1.0, 0.0])])


def corners_cam(track: str, t: int) -> np.ndarray:
    cat, _, yaw, (h, w, l), pos = OBJECTS[track]
    c, a_l = to_camera(pos(t), t), heading_cam(yaw(t))
    a_w = np.array([-a_l[2], 0.0, a_l[0]])
    return np.array([c + sl * l / 2 * a_l + sh * h / 2 * np.array([0.0, 1.0, 0.0]) + sw * w / 2 * a_w
                     for sl in (-1, 1) for sh in (-1, 1) for sw in (-1, 1)])


def mask_of(track: str, t: int) -> np.ndarray:
    uv = corners_cam(track, t)
    uv = np.stack([F * uv[:, 0] / uv[:, 2] + CX, F * uv[:, 1] / uv[:, 2] + CY], -1)
    m = np.zeros((H, W), np.uint8)
    cv2.fillConvexPoly(m, np.round(cv2.convexHull(uv.astype(np.float32))[:, 0]).astype(np.int32), 1)
    return m.astype(bool)


def ground_depth() -> np.ndarray:
    """z depth (H, W) of the flat ground seen by the level camera; NaN above the horizon (sky)."""
    v = np.arange(H, dtype=np.float64)[:, None] - CY
    d = np.where(v > 0.5, F * CAM_HEIGHT / np.maximum(v, 1e-9), np.nan)
    return np.broadcast_to(d, (H, W)).copy()


def render(t: int) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """(rgb (H, W, 3) uint8, depth (H, W) metres with NaN sky, masks by track) of step ``t``."""
    depth = ground_depth()
    rgb = np.where(np.isnan(depth)[..., None], np.array(SKY, np.uint8), np.array(GROUND, np.uint8)).astype(np.uint8)
    masks = {}
    for tr in sorted(OBJECTS, key=lambda k: -to_camera(OBJECTS[k][4](t), t)[2]):  # far to near
        m = mask_of(tr, t)
        rgb[m], depth[m] = OBJECTS[tr][1], to_camera(OBJECTS[tr][4](t), t)[2]
        masks = {k: v & ~m for k, v in masks.items()}
        masks[tr] = m
    return rgb, depth, masks


def encode_depth(depth: np.ndarray) -> bytes:
    v = np.where(np.isnan(depth), 2 ** 24 - 1, np.round(depth / 1000.0 * 2 ** 24)).astype(np.int64)
    rgb = np.stack([v & 255, (v >> 8) & 255, v >> 16], -1).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    return buf.getvalue()


def encode_jpg(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=95)
    return buf.getvalue()


def rle(m: np.ndarray) -> dict:
    r = coco_mask.encode(np.asfortranarray(m.astype(np.uint8)))
    return {"counts": r["counts"].decode(), "size": f"[{H}, {W}]"}


def box3d(track: str, t: int) -> dict:
    _, _, yaw, dims, pos = OBJECTS[track]
    a = heading_cam(yaw(t))
    return {"alpha": 0.0, "orientation": [0.0, math.atan2(-a[2], a[0]), 0.0], "location": to_camera(pos(t), t).tolist(),
            "dimension": list(dims)}


def _frame(seq: str, n: int, t: int, masks: dict | None) -> dict:
    rec = {"name": f"{n:08d}_img_front.jpg", "videoName": seq, "frameIndex": n,
           "intrinsics": {"focal": [F, F], "center": [CX, CY], "skew": 0},
           "extrinsics": {"location": camera_centre(t).tolist(), "rotation": [0.0, 0.0, 90.0]},
           "attributes": {"weather_coarse": "clear", "timeofday_coarse": "daytime", "view": "front"}, "labels": []}
    for tr in sorted(OBJECTS):
        cat = OBJECTS[tr][0]
        lab = {"id": tr, "category": cat, "attributes": {"type": cat}}
        rec["labels"].append({**lab, "rle": rle(masks[tr])} if masks is not None else {**lab, "box3d": box3d(tr, t)})
    return rec


def make_split(root: Path, sequences: tuple[str, ...] = ("abcd-0123",), layout: str = "zip") -> Path:
    """Write the split directory ``root`` (returns ``root``); ``layout`` "zip" (as distributed), "hdf5" (as
    shift-dev's io/to_hdf5.py packs a zip: a group per sequence, a uint8 dataset of each file's bytes) or "folder"."""
    view = root / "front"
    view.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict[str, bytes]] = {"img": {}, "depth": {}}
    det3d, insseg = [], []
    for seq in sequences:
        for t, n in enumerate(FRAMES):
            rgb, depth, masks = render(t)
            files["img"][f"{seq}/{n:08d}_img_front.jpg"] = encode_jpg(rgb)
            files["depth"][f"{seq}/{n:08d}_depth_front.png"] = encode_depth(depth)
            det3d.append(_frame(seq, n, t, None))
            insseg.append(_frame(seq, n, t, masks))
    for group, members in files.items():
        if layout == "zip":
            with zipfile.ZipFile(view / f"{group}.zip", "w", zipfile.ZIP_DEFLATED) as z:
                for name, data in members.items():
                    z.writestr(name, data)
        elif layout == "hdf5":
            import h5py

            with h5py.File(view / f"{group}.hdf5", "w") as h5:
                for name, data in members.items():
                    seq, frame = name.split("/")
                    h5.require_group(seq).create_dataset(frame, data=np.frombuffer(data, dtype="uint8"))
        else:
            for name, data in members.items():
                (view / group / name).parent.mkdir(parents=True, exist_ok=True)
                (view / group / name).write_bytes(data)
    config = {"imageSize": {"width": W, "height": H}, "categories": [{"name": "pedestrian"}, {"name": "car"}]}
    (view / "det_3d.json").write_text(json.dumps({"frames": det3d, "config": config}))
    (view / "det_insseg_2d.json").write_text(json.dumps({"frames": insseg, "config": config}))
    return root
