"""A Kubric worker directory written the way the kubric repo's writers write it (google-research/kubric 0ee21e2:
``kubric/file_io.py`` write_png / write_palette_png / write_tiff / write_json / write_flow_batch, ``plotting.hls_palette``,
``utils.get_scene_metadata`` / ``get_camera_info`` / ``get_instance_info``, ``post_processing.compute_visibility`` /
``compute_bboxes``, the MOVi workers' instance metadata). kubric itself needs bpy and tensorflow, so the few
library calls those functions make (pypng, imageio -> tifffile, json) are repeated here line for line.
"""

from __future__ import annotations

import colorsys
import itertools
import json
from pathlib import Path

import imageio
import numpy as np
import png

W, H, T = 8, 6, 2


def hls_palette(n_colors: int, first_hue: float = 0.01, lightness: float = 0.5, saturation: float = 0.7) -> np.ndarray:
    hues = np.linspace(0, 1, int(n_colors) + 1)[:-1]
    hues = (hues + first_hue) % 1
    palette = [(0.0, 0.0, 0.0)] + [colorsys.hls_to_rgb(h, lightness, saturation) for h in hues]
    return np.round(np.array(palette) * 255).astype(np.uint8)


def write_png(data: np.ndarray, filename: Path) -> None:
    height, width, channels = data.shape
    w = png.Writer(width=width, height=height, greyscale=channels == 1, bitdepth=8 if data.dtype == np.uint8 else 16,
                   alpha=channels == 4)
    with open(filename, "wb") as fp:
        w.write(fp, data.reshape(height, -1))


def write_palette_png(data: np.ndarray, filename: Path, palette: np.ndarray) -> None:
    height, width, _ = data.shape
    w = png.Writer(width=width, height=height, palette=palette, bitdepth=8)
    with open(filename, "wb") as fp:
        w.write(fp, data[:, :, 0].astype(np.uint8))


def write_tiff(data: np.ndarray, filename: Path) -> None:
    filename.write_bytes(imageio.imwrite("<bytes>", data, format="tiff"))


def write_json(data: object, filename: Path) -> None:
    with open(filename, "w") as fp:
        json.dump(data, fp, sort_keys=True, indent=4)


def write_flow_ranges(directory: Path, flows: dict[str, np.ndarray]) -> None:
    """write_flow_batch's side effect: {name: {"min", "max"}} merged into data_ranges.json."""
    ranges = {name: {"min": float(np.min(f)), "max": float(np.max(f))} for name, f in flows.items()}
    write_json(ranges, directory / "data_ranges.json")


def _bbox_3d(position: np.ndarray, half: np.ndarray) -> list[list[float]]:
    """objects.bbox_3d for an unrotated asset: itertools.product over (min, max) of x, y, z, shifted by position."""
    return [list(position + np.array(c)) for c in itertools.product(*zip(-half, half))]


def make_movi_dir(root: Path, variant: str = "a") -> Path:
    """Two 8x6 frames, camera looking down at two unit objects (MOVi-A/B style ``variant="a"`` or GSO ``"e"``)."""
    d = root / f"movi_{variant}"
    d.mkdir(parents=True)
    seg = np.zeros((T, H, W, 1), np.uint32)
    seg[:, 1:3, 1:3], seg[:, 3:5, 5:8] = 1, 2
    rgba = np.zeros((T, H, W, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[seg[..., 0] == 1, :3], rgba[seg[..., 0] == 2, :3] = (200, 30, 30), (30, 60, 210)
    palette = hls_palette(np.max(seg) + 1)
    for t in range(T):
        write_png(rgba[t], d / f"rgba_{t:05d}.png")
        write_tiff(np.full((H, W, 1), 7.0, np.float32), d / f"depth_{t:05d}.tiff")
        write_palette_png(seg[t], d / f"segmentation_{t:05d}.png", palette)
    write_flow_ranges(d, {"forward_flow": np.array([-2.5, 1.0]), "backward_flow": np.array([-1.0, 3.0])})
    positions = [np.array([[0.0, 0.0, 0.5], [0.1, 0.0, 0.5]]), np.array([[1.0, 1.0, 0.5], [1.0, 1.0, 0.5]])]
    instances = []
    for k, pos in enumerate(positions):
        info = ({"shape": ["cube", "sphere"][k], "size": 1.0, "size_label": "large", "material": "rubber",
                 "color": [[0.8, 0.1, 0.1], [0.1, 0.2, 0.8]][k], "color_label": ["red", "blue"][k]} if variant == "a"
                else {"category": "Shoe", "description": "a shoe", "scale": 1.2, "is_dynamic": k == 0})
        info |= {"asset_id": ["cube", "sphere"][k] if variant == "a" else f"gso_{k}",
                 "positions": pos, "quaternions": np.array([[1.0, 0, 0, 0]] * T), "velocities": np.zeros((T, 3)),
                 "angular_velocities": np.zeros((T, 3)), "mass": 1.0, "friction": 0.5, "restitution": 0.5,
                 "image_positions": np.zeros((T, 2), np.float32).tolist(),
                 "bboxes_3d": np.array([_bbox_3d(p, np.array([0.5, 0.5, 0.5])) for p in pos]),
                 "visibility": [int(np.sum(seg[t] == k + 1)) for t in range(T)],
                 "bboxes": [(0.1, 0.1, 0.5, 0.4)] * T, "bbox_frames": list(range(T))}
        instances.append({key: v.tolist() if isinstance(v, np.ndarray) else v for key, v in info.items()})
    write_json({
        "flags": {"frame_end": T, "frame_rate": 12, "resolution": W},
        "metadata": {"resolution": [W, H], "frame_rate": 12, "step_rate": 240, "gravity": [0.0, 0.0, -10.0],
                     "num_frames": T, "background": "clevr", "num_instances": 2},
        "camera": {"focal_length": 35.0, "sensor_width": 32.0, "field_of_view": 0.857556,
                   "positions": [[0.0, 0.0, 10.0]] * T, "quaternions": [[1.0, 0.0, 0.0, 0.0]] * T,
                   "K": [[1.09375, 0.0, -0.5], [0.0, -1.458333, -0.5], [0.0, 0.0, -1.0]], "R": np.eye(4).tolist()},
        "instances": instances}, d / "metadata.json")
    write_json({"collisions": []}, d / "events.json")
    return d
