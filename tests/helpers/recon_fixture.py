"""A tiny 4D reconstruction written exactly as MegaSaM and MonST3R write theirs (same keys, dtypes, file names and
text formats as ``cvd_opt/cvd_opt.py`` and MonST3R ``demo.py`` / ``dust3r/utils/misc.py``).

The scene is ray-cast here with plain numpy, in the reconstruction's own world = the first camera's OpenCV frame
(y down): ground plane y = +1.5, back wall z = 30, a green ball of radius 0.5 rolling along +x on the ground and a red
ball of radius 0.4 lying still, while the camera drives forward along +z (with ``tilt_deg``, looking down by that
pitch throughout). Instance ids: 1 = green ball, 2 = red ball.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from scipy.spatial.transform import Rotation

W, H, T = 48, 32, 8
K = np.array([[40.0, 0.0, 23.5], [0.0, 40.0, 15.5], [0.0, 0.0, 1.0]])
GROUND_Y, WALL_Z, RADIUS = 1.5, 30.0, 0.5
COLOURS = {"ground": (120, 120, 120), "wall": (200, 180, 150), "ball": (40, 170, 60), "ball2": (210, 40, 40)}
RADIUS2 = 0.4


def ball_centre(t: int) -> np.ndarray:
    return np.array([-1.0 + 0.25 * t, GROUND_Y - RADIUS, 6.0])


def ball2_centre(t: int) -> np.ndarray:
    return np.array([1.5, GROUND_Y - RADIUS2, 9.0])


def _sphere_hit(o: np.ndarray, d: np.ndarray, centre: np.ndarray, radius: float) -> np.ndarray:
    """Ray parameter of the first hit of rays ``o + s d`` (d: (H, W, 3)) with a sphere; inf where missed."""
    oc = o - centre
    a, b, c = (d * d).sum(-1), 2 * (d * oc).sum(-1), oc @ oc - radius ** 2
    disc = b * b - 4 * a * c
    s = np.where(disc >= 0, (-b - np.sqrt(np.maximum(disc, 0))) / (2 * a), np.inf)
    return np.where(s > 0, s, np.inf)


def cam_c2w(t: int, tilt_deg: float = 0.0) -> np.ndarray:
    """Camera t -> reconstruction world (OpenCV axes); frame 0 is the world unless tilted."""
    m = np.eye(4)
    m[:3, :3] = Rotation.from_euler("x", -tilt_deg, degrees=True).as_matrix()  # positive tilt looks down (+y)
    m[:3, 3] = [0.0, 0.0, 0.3 * t]
    return m


def render(t: int, tilt_deg: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rgb (H, W, 3) uint8, z depth (H, W) float32, instance ids (H, W) uint8) of frame ``t``."""
    c2w = cam_c2w(t, tilt_deg)
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float64)
    d_cam = np.stack([(xs - K[0, 2]) / K[0, 0], (ys - K[1, 2]) / K[1, 1], np.ones_like(xs)], -1)  # z = 1 rays
    d = d_cam @ c2w[:3, :3].T
    o = c2w[:3, 3]
    with np.errstate(divide="ignore", invalid="ignore"):
        t_ground = np.where(d[..., 1] > 1e-9, (GROUND_Y - o[1]) / d[..., 1], np.inf)
        t_wall = np.where(d[..., 2] > 1e-9, (WALL_Z - o[2]) / d[..., 2], np.inf)
    hits = np.stack([t_ground, t_wall, _sphere_hit(o, d, ball_centre(t), RADIUS),
                     _sphere_hit(o, d, ball2_centre(t), RADIUS2)], -1)
    which = hits.argmin(-1)
    depth = hits.min(-1)  # rays have camera z = 1, so the ray parameter is the z depth
    rgb = np.array([COLOURS[k] for k in ("ground", "wall", "ball", "ball2")], np.uint8)[which]
    return rgb, depth.astype(np.float32), np.where(which >= 2, which - 1, 0).astype(np.uint8)


def write_megasam(path: Path, tilt_deg: float = 0.0, masks: bool = True) -> Path:
    """``<scene>_sgd_cvd_hr.npz`` as cvd_opt.py saves it (+ an instance-mask folder beside it)."""
    frames = [render(t, tilt_deg) for t in range(T)]
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, images=np.uint8(np.stack([f[0] for f in frames])),
             depths=np.clip(np.float16(np.stack([f[1] for f in frames])), 1e-3, 1e2),
             intrinsic=K.astype(np.float32), cam_c2w=np.stack([cam_c2w(t, tilt_deg) for t in range(T)]).astype(np.float32))
    if masks:
        write_masks(path.with_suffix(".masks"), [f[2] for f in frames])
    return path


def write_masks(folder: Path, masks: list[np.ndarray]) -> None:
    """DAVIS-style palette PNGs (index = instance id) and the labels file."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, m in enumerate(masks):
        img = Image.fromarray(m.astype(np.uint8))  # mode L; putpalette makes it P
        img.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * 759)
        img.save(folder / f"{i:05d}.png")
    (folder / "labels.json").write_text(json.dumps({"1": "ball", "2": "ball"}))


def write_monst3r(folder: Path, tilt_deg: float = 0.0, masks: bool = True, standard_tum: bool = False) -> Path:
    """A MonST3R demo output folder (``standard_tum``: quaternions in the usual TUM x y z w order instead)."""
    folder.mkdir(parents=True, exist_ok=True)
    frames = [render(t, tilt_deg) for t in range(T)]
    lines = []
    for t in range(T):  # c2w_to_tumpose + save_trajectory_tum_format
        c2w = cam_c2w(t, tilt_deg)
        qx, qy, qz, qw = Rotation.from_matrix(c2w[:3, :3]).as_quat()
        q = [qx, qy, qz, qw] if standard_tum else [qw, qx, qy, qz]
        lines.append(f"{float(t)} {' '.join(map(str, c2w[:3, 3]))} {' '.join(map(str, q))}\n")
    (folder / "pred_traj.txt").write_text("".join(lines))
    np.savetxt(folder / "pred_intrinsics.txt", np.stack([K.reshape(9)] * T), fmt="%.6f")
    for i, (rgb, depth, _) in enumerate(frames):  # save_depth_maps, then save_rgb_imgs over the same png name
        cv2.imwrite(str(folder / f"frame_{i:04d}.png"),
                    cv2.applyColorMap((depth / depth.max() * 255).astype(np.uint8), cv2.COLORMAP_JET))
        np.save(folder / f"frame_{i:04d}.npy", depth)
        cv2.imwrite(str(folder / f"frame_{i:04d}.png"), (rgb / 255.0)[..., ::-1] * 255)
        cv2.imwrite(str(folder / f"dynamic_mask_{i}.png"), ((frames[i][2] == 1) * 255).astype(np.uint8))
    if masks:
        write_masks(folder / "masks", [f[2] for f in frames])
    return folder

