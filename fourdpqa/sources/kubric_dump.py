"""The procedural source's raw dump: a rendered :class:`~fourdpqa.sources.procedural.VideoSpec` written in the Kubric
*worker* layout (Blender camera axes, wxyz quaternions, ray-distance depth, palette segmentation), so that
``standardize`` performs a real convention conversion."""

from __future__ import annotations

import io
import math
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from fourdpqa import geometry
from fourdpqa.atomic import atomic_dir, write_json
from fourdpqa.seeding import numbered_rng
from fourdpqa.sources.procedural import GENERATOR_VERSION, VideoSpec, camera_poses, frame_times, intrinsics, object_poses
from fourdpqa.sources.render import SceneRenderer

# Segmentation palette (index 0 = background black); any fixed colours do, readers use the indices.
SEG_PALETTE = np.concatenate([[0, 0, 0], numbered_rng(0).integers(40, 256, 255 * 3)]).astype(np.uint8).tolist()


def _bbox_corners(size: tuple[float, float, float], world_from_object: np.ndarray) -> np.ndarray:
    """(T, 8, 3) world corners in Kubric's itertools.product order over (x, y, z) in {min, max}."""
    half = np.asarray(size) / 2
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], float)
    return geometry.transform_points(world_from_object, signs * half)


def _encode(ext: str, image: np.ndarray, params: list[int] | None = None) -> bytes:
    ok, buf = cv2.imencode(ext, image, params or [])
    if not ok:
        raise RuntimeError(f"{ext} encoding failed")
    return buf.tobytes()


def _palette_png(seg: np.ndarray) -> bytes:
    """8-bit palette PNG like Kubric's segmentation files (value k = instances[k-1], 0 = background)."""
    img = Image.fromarray(seg.astype(np.uint8), mode="P")
    img.putpalette(SEG_PALETTE)
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=False)
    return out.getvalue()


def write_kubric_dump(spec: VideoSpec, out_dir: str | Path, device: str | torch.device = "cpu", chunk_rays: int = 65536) -> Path:
    """Render ``spec`` and write one Kubric worker directory atomically (see SOURCES.md B.1).

    Files: rgba_%05d.png, depth_%05d.tiff (float32 ray distance, deflate), segmentation_%05d.png, metadata.json,
    data_ranges.json (depth min/max; no flow is rendered), events.json (no collisions are simulated) and
    procedural.json (the spec and its hash). Instances keep the spec order (Kubric sorts them by visibility;
    readers rely on neither) and include objects that are never visible.
    """
    out_dir = Path(out_dir)
    times = frame_times(spec.n_frames, spec.fps)
    k = intrinsics(spec)
    w2c = camera_poses(spec.camera, spec.n_frames)
    poses = np.stack([object_poses(o, times) for o in spec.objects]) if spec.objects else np.zeros((0, spec.n_frames, 4, 4))
    renderer = SceneRenderer(spec, device=device, chunk_rays=chunk_rays)
    n_obj = len(spec.objects)
    visibility = np.zeros((n_obj, spec.n_frames), np.int64)
    amodal = np.zeros((n_obj, spec.n_frames), np.int64)
    dmin, dmax = math.inf, -math.inf
    with atomic_dir(out_dir) as tmp:
        for t in range(spec.n_frames):
            frame = renderer.render(k, w2c[t], poses[:, t])
            rgba = np.concatenate([frame.rgb[..., ::-1], np.full(frame.rgb.shape[:2] + (1,), 255, np.uint8)], -1)
            (tmp / f"rgba_{t:05d}.png").write_bytes(_encode(".png", rgba))
            (tmp / f"depth_{t:05d}.tiff").write_bytes(_encode(".tiff", frame.depth, [cv2.IMWRITE_TIFF_COMPRESSION, 8]))
            (tmp / f"segmentation_{t:05d}.png").write_bytes(_palette_png(frame.instances))
            visibility[:, t] = np.bincount(frame.instances.ravel(), minlength=n_obj + 1)[1:]
            amodal[:, t] = frame.amodal
            dmin, dmax = min(dmin, float(frame.depth.min())), max(dmax, float(frame.depth.max()))
        c2w_blender = geometry.matmul(w2c, geometry.BLENDER_TO_OPENCV)
        cam = spec.camera
        fov = 2 * math.atan(cam.sensor_width_mm / (2 * cam.focal_length_mm))
        instances = []
        for i, o in enumerate(spec.objects):
            instances.append({
                "asset_id": f"procedural_{o.category}", "category": o.category, "is_dynamic": o.motion != "static",
                "scale": 1.0, "positions": poses[i, :, :3, 3], "quaternions": geometry.matrix_to_quat(poses[i, :, :3, :3]),
                "bboxes_3d": _bbox_corners(o.size, poses[i]), "visibility": visibility[i],
                "caption": o.caption, "size": list(o.size), "has_front": o.has_front, "color": o.color,
                "size_label": o.size_class, "amodal_pixels": amodal[i],
            })
        metadata = {
            "flags": {"seed": spec.seed, "video_index": spec.index, "generator": GENERATOR_VERSION},
            "metadata": {"resolution": [spec.width, spec.height], "frame_rate": spec.fps, "step_rate": spec.fps,
                         "num_frames": spec.n_frames, "num_instances": n_obj, "gravity": [0.0, 0.0, -10.0],
                         "background": "procedural_dome"},
            "camera": {"focal_length": cam.focal_length_mm, "sensor_width": cam.sensor_width_mm, "field_of_view": fov,
                       "positions": c2w_blender[:, :3, 3], "quaternions": geometry.matrix_to_quat(c2w_blender[:, :3, :3])},
            "instances": instances,
        }
        write_json(tmp / "metadata.json", metadata)
        write_json(tmp / "data_ranges.json", {"depth": {"min": dmin, "max": dmax}})
        write_json(tmp / "events.json", {"collisions": []})
        write_json(tmp / "procedural.json", {"spec": spec.to_dict(), "spec_hash": spec.spec_hash(), "generator_version": GENERATOR_VERSION})
    return out_dir
