"""Kubric worker directories (SOURCES.md B.1) -> standard scenes.

Conversions done here, each in one place:
- depth: TIFF float32 *ray distance* -> z depth (``geometry.ray_to_z_depth``); non-finite or <= 0 -> NaN;
- camera: Blender c2w (looks down -Z, +Y up; quaternion wxyz) -> OpenCV c2w (``blender_to_opencv_world_from_cam``);
- intrinsics: rebuilt in pixels from focal_length / sensor_width (``geometry.kubric_intrinsics``);
- objects: segmentation value k -> object_id k = instances[k-1]; pose origin moved to the centre of the 3D box
  (mean of ``bboxes_3d`` corners) when corners are given; size from our ``size`` (l, w, h) extra or the box edges;
- visible fraction: visibility / amodal_pixels (our extra) if present, else visibility / max(visibility).

Metadata variants, as the kubric repo's writers produce them (``kubric/utils.py`` get_scene_metadata /
get_camera_info / get_instance_info, ``post_processing`` compute_visibility / compute_bboxes, ``file_io``
write_json / write_image_dict; read at google-research/kubric 0ee21e2): MOVi-A/B instances carry ``shape``,
``size`` (a *scalar* scale, not our (l, w, h)), ``size_label``, ``material``, ``color`` (an RGB list) and
``color_label``; MOVi-C..F carry GSO asset metadata (``category``, ...), ``scale`` and (D-F) ``is_dynamic``; none
carries a caption, so captions come from ``captions.fill_captions``. ``data_ranges.json`` holds only the flow PNG
ranges (``forward_flow`` / ``backward_flow``, or ``flow``) — {min, max} per entry — and is optional; it is checked
and kept in ``scene.json`` (the standard scene has no flow). Depth TIFFs as kubric's ``write_tiff`` writes them
(imageio -> tifffile, uncompressed float32) decode with OpenCV like our own deflate TIFFs.
Every problem raises :class:`SceneError` naming the video, the file and what is wrong.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from functools import partial
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import polars as pl
from PIL import Image

from fourdpqa import geometry
from fourdpqa.frame_store import FrameArray
from fourdpqa.scene import Scene, SceneError, SceneMeta, in_memory, validate_scene
from fourdpqa.sources import RawVideo, check_options
from fourdpqa.sources.aria import pinhole_cameras
from fourdpqa.sources.captions import CAPTION_OPTIONS, captioner_from_options, fill_captions
from fourdpqa.sources.frame_plan import plan_frames, selection_options

if TYPE_CHECKING:
    from fourdpqa.params import SourceSpec

CATEGORY_KEYS = ("category", "shape", "shape_label", "asset_id")  # MOVi-C..F GSO category, MOVi-A/B shape, TFDS name
QUAT_TOL = 1e-2  # rounded fixtures (e.g. 4-digit quaternions) pass; a real non-rotation fails


def list_videos(root: str | Path) -> list[str]:
    """Video directory names under ``root`` (sorted; temporaries and names starting with '_' or '.' skipped)."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and ".tmp-" not in p.name and p.name[0] not in "_.")


def raw_videos(root: Path, spec: SourceSpec) -> list[RawVideo]:
    """Every worker directory under ``root`` (one video each, named by its directory)."""
    opts = check_options(spec, CAPTION_OPTIONS)
    return [RawVideo(name, spec.name, root / name, partial(open_worker_dir, root / name, spec.name, name, opts))
            for name in list_videos(root)]


def read_worker_dir(path: str | Path, source: str = "kubric", video_id: str | None = None,
                    options: dict[str, Any] | None = None) -> Scene:
    """:func:`open_worker_dir` with every frame decoded and checked (small videos, tests)."""
    return in_memory(open_worker_dir(path, source, video_id, options))


def open_worker_dir(path: str | Path, source: str = "kubric", video_id: str | None = None,
                    options: dict[str, Any] | None = None) -> Scene:
    """Open one worker directory as a :class:`Scene` (``video_id`` defaults to the directory name); ``options``
    are the caption options (``captions.CAPTION_OPTIONS``, used when the instances carry no caption) and the
    frame-selection options (``frame_plan``). Frames are decoded when read (``write_scene`` streams them), only
    those the plan keeps; a bad frame file raises when its frame is read."""
    path = Path(path)
    vid = video_id or path.name
    if not path.is_dir():
        raise SceneError(vid, str(path), "video directory missing")
    meta = _read_json(vid, path / "metadata.json")
    info = _get(vid, "metadata.json", meta, "metadata", dict)
    res = _get(vid, "metadata.json", info, "resolution", list)
    if len(res) != 2 or not all(isinstance(v, int) and v > 0 for v in res):
        raise SceneError(vid, "metadata.json", f"metadata.resolution must be [W, H] positive ints, got {res}")
    width, height = res
    n = _get(vid, "metadata.json", info, "num_frames", int)
    fps = float(_get(vid, "metadata.json", info, "frame_rate", (int, float)))
    if n < 1 or not fps > 0:
        raise SceneError(vid, "metadata.json", f"num_frames={n} and frame_rate={fps} must be positive")
    cam = _get(vid, "metadata.json", meta, "camera", dict)
    focal = float(_get(vid, "metadata.json", cam, "focal_length", (int, float)))
    sensor = float(_get(vid, "metadata.json", cam, "sensor_width", (int, float)))
    if not (focal > 0 and sensor > 0 and math.isfinite(focal / sensor)):
        raise SceneError(vid, "metadata.json", f"camera focal_length={focal} mm and sensor_width={sensor} mm must be "
                         f"positive (pixel focal length fx = focal_length / sensor_width * W must be > 0)")
    k = geometry.kubric_intrinsics(focal, sensor, width, height)
    c2w_blender = geometry.pose_matrix(_quats(vid, cam, "camera", n), _vectors(vid, cam, "positions", "camera", n))
    world_from_cam = geometry.blender_to_opencv_world_from_cam(c2w_blender)
    instances = _get(vid, "metadata.json", meta, "instances", list)
    plan = plan_frames(vid, np.arange(n) / fps, {**selection_options("kubric"), **(options or {})})
    src, hw = plan.frames, (height, width)

    def seg_frame(j: int) -> np.ndarray:
        p = path / f"segmentation_{src[j]:05d}.png"
        seg = _read_segmentation(vid, p, hw)
        if int(seg.max(initial=0)) > len(instances):
            raise SceneError(vid, p.name, f"segmentation value {int(seg.max())} but only {len(instances)} instances "
                             "in metadata.json")
        return seg.astype(np.uint16)

    def z_frame(j: int) -> np.ndarray:
        z = geometry.ray_to_z_depth(_read_depth(vid, path / f"depth_{src[j]:05d}.tiff", hw), k)
        z[~np.isfinite(z) | (z <= 0)] = np.nan
        return z

    m = len(src)
    rgb = FrameArray(m, (height, width, 3), np.uint8, lambda j: _read_rgba(vid, path / f"rgba_{src[j]:05d}.png", hw))
    seg = FrameArray(m, hw, np.uint16, seg_frame)
    z = FrameArray(m, hw, np.float32, z_frame)

    obj_rows, pose_rows = [], []
    for i, inst in enumerate(instances):
        obj, poses = _instance(vid, inst, i + 1, n)
        obj_rows.append(obj)
        pose_rows.append({key: (v[src] if key != "frame" else np.arange(m, dtype=np.int64)) for key, v in poses.items()})
    times = src / fps
    world_from_cam = world_from_cam[src]
    cameras = pinhole_cameras(k, world_from_cam, times)
    objects = pl.DataFrame(obj_rows, schema={
        "object_id": pl.Int64, "category": pl.Utf8, "caption": pl.Utf8, "size_l": pl.Float64, "size_w": pl.Float64,
        "size_h": pl.Float64, "has_front": pl.Boolean, "is_dynamic": pl.Boolean, "color": pl.Utf8, "size_class": pl.Utf8,
    })
    if not any(isinstance(inst, dict) and inst.get("caption") for inst in instances):  # real MOVi: no captions
        objects = fill_captions(objects, rgb, seg, z, captioner_from_options(options or {}))
    pose_schema = {"frame": pl.Int64, "object_id": pl.Int64, "qw": pl.Float64, "qx": pl.Float64, "qy": pl.Float64,
                   "qz": pl.Float64, "tx": pl.Float64, "ty": pl.Float64, "tz": pl.Float64, "visible_fraction": pl.Float64}
    object_poses = pl.concat([pl.DataFrame(p, schema=pose_schema) for p in pose_rows]) if pose_rows else pl.DataFrame(schema=pose_schema)
    scene = Scene(
        meta=SceneMeta(video_id=vid, source=source, fps=fps / plan.stride, width=width, height=height, n_frames=m,
                       extra={"raw_format": "kubric_worker", "raw_depth_kind": "ray",
                              "data_ranges": _data_ranges(vid, path / "data_ranges.json"),
                              **(plan.extra() if m < n or plan.clips else {})}),
        rgb=rgb, depth=z, instances=seg, cameras=cameras, objects=objects.sort("object_id"),
        object_poses=object_poses.sort("object_id", "frame"),
    )
    validate_scene(scene)
    return scene


# --------------------------------------------------------------------------------------------------- metadata


def _read_json(vid: str, p: Path) -> dict:
    if not p.exists():
        raise SceneError(vid, p.name, "missing file")
    try:
        obj = json.loads(p.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SceneError(vid, p.name, f"unreadable JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise SceneError(vid, p.name, "top level must be an object")
    return obj


def _get(vid: str, file: str, d: dict, key: str, typ: Any) -> Any:
    if key not in d:
        raise SceneError(vid, file, f"missing key {key!r}")
    v = d[key]
    if not isinstance(v, typ) or isinstance(v, bool):
        raise SceneError(vid, file, f"key {key!r} has type {type(v).__name__}")
    return v


def _array(vid: str, d: dict, key: str, what: str, shape: tuple[int, ...]) -> np.ndarray:
    raw = _get(vid, "metadata.json", d, key, list)
    try:
        a = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SceneError(vid, "metadata.json", f"{what}.{key} is not a numeric array: {exc}") from exc
    if a.shape != shape:
        raise SceneError(vid, "metadata.json", f"{what}.{key} has shape {a.shape}, expected {shape}")
    bad = np.flatnonzero(~np.isfinite(a).reshape(shape[0], -1).all(axis=1))
    if bad.size:
        raise SceneError(vid, "metadata.json", f"{what}.{key}: NaN/inf at frames {bad[:10].tolist()}")
    return a


def _vectors(vid: str, d: dict, key: str, what: str, n: int) -> np.ndarray:
    return _array(vid, d, key, what, (n, 3))


def _quats(vid: str, d: dict, what: str, n: int) -> np.ndarray:
    q = _array(vid, d, "quaternions", what, (n, 4))
    norm = np.linalg.norm(q, axis=1)
    bad = np.flatnonzero(np.abs(norm - 1.0) > QUAT_TOL)
    if bad.size:
        raise SceneError(vid, "metadata.json", f"{what}.quaternions not unit norm (non-orthonormal rotation) at frames {bad[:10].tolist()}")
    return q / norm[:, None]


def _instance(vid: str, inst: Any, object_id: int, n: int) -> tuple[dict, dict]:
    what = f"instances[{object_id - 1}]"
    if not isinstance(inst, dict):
        raise SceneError(vid, "metadata.json", f"{what} is not an object")
    q = _quats(vid, inst, what, n)
    pos = _vectors(vid, inst, "positions", what, n)
    rot = geometry.quat_to_matrix(q)
    if "bboxes_3d" in inst:
        corners = _array(vid, inst, "bboxes_3d", what, (n, 8, 3))
        centre = corners.mean(axis=1)
        edges = np.linalg.norm(corners[0, [4, 2, 1]] - corners[0, 0], axis=1)  # x, y, z edges (product order)
    else:
        centre, edges = pos, None
    if isinstance(inst.get("size"), list):  # our (l, w, h) extra; MOVi-A/B "size" is a scalar scale
        size = _array(vid, {"size": [inst["size"]]}, "size", what, (1, 3))[0]
    elif edges is not None:
        size = edges
    else:
        raise SceneError(vid, "metadata.json", f"{what}: needs 'size' or 'bboxes_3d' to know the object's extent")
    if not (size > 0).all():
        raise SceneError(vid, "metadata.json", f"{what}: non-positive size {size.tolist()}")
    vis = _array(vid, {"v": [inst.get("visibility", [0] * n)]}, "v", f"{what}.visibility", (1, n))[0]
    if "amodal_pixels" in inst:
        amodal = _array(vid, {"v": [inst["amodal_pixels"]]}, "v", f"{what}.amodal_pixels", (1, n))[0]
        frac = np.divide(vis, amodal, out=np.zeros(n), where=amodal > 0)
    else:
        frac = vis / vis.max() if vis.max() > 0 else np.zeros(n)
    category = str(next((inst[k] for k in CATEGORY_KEYS if isinstance(inst.get(k), str) and inst[k]), "object"))
    obj = {
        "object_id": object_id, "category": category,
        "caption": str(inst.get("caption") or ""),
        "size_l": float(size[0]), "size_w": float(size[1]), "size_h": float(size[2]),
        "has_front": bool(inst.get("has_front", False)), "is_dynamic": bool(inst.get("is_dynamic", True)),
        "color": str(next((inst[k] for k in ("color", "color_label") if isinstance(inst.get(k), str)), "")),
        "size_class": str(inst.get("size_label") or ""),
    }
    qn = geometry.matrix_to_quat(rot)
    poses = {"frame": np.arange(n, dtype=np.int64), "object_id": np.full(n, object_id, np.int64),
             "qw": qn[:, 0], "qx": qn[:, 1], "qy": qn[:, 2], "qz": qn[:, 3],
             "tx": centre[:, 0], "ty": centre[:, 1], "tz": centre[:, 2], "visible_fraction": np.clip(frac, 0.0, 1.0)}
    return obj, poses


# ------------------------------------------------------------------------------------------------------ frames


def _open_image(vid: str, p: Path) -> Image.Image:
    if not p.exists():
        raise SceneError(vid, p.name, "missing frame")
    try:
        img = Image.open(p)
        img.load()  # forces full decoding: truncated files fail here
        return img
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise SceneError(vid, p.name, f"unreadable or truncated image: {exc}") from exc


def _check_shape(vid: str, p: Path, a: np.ndarray, hw: tuple[int, int]) -> None:
    if a.shape[:2] != hw:
        raise SceneError(vid, p.name, f"image size {a.shape[1]}x{a.shape[0]}, metadata says {hw[1]}x{hw[0]}")


def _read_rgba(vid: str, p: Path, hw: tuple[int, int]) -> np.ndarray:
    img = _open_image(vid, p)
    if img.mode not in ("RGB", "RGBA"):
        raise SceneError(vid, p.name, f"expected an RGB(A) 8-bit image, got mode {img.mode}")
    a = np.asarray(img.convert("RGB"))
    _check_shape(vid, p, a, hw)
    return a


def _read_segmentation(vid: str, p: Path, hw: tuple[int, int]) -> np.ndarray:
    img = _open_image(vid, p)
    if img.mode not in ("P", "L"):
        raise SceneError(vid, p.name, f"expected an 8-bit palette/grey segmentation PNG, got mode {img.mode}")
    a = np.asarray(img)
    _check_shape(vid, p, a, hw)
    return a


def _read_depth(vid: str, p: Path, hw: tuple[int, int]) -> np.ndarray:
    if not p.exists():
        raise SceneError(vid, p.name, "missing depth frame")
    a = cv2.imdecode(np.fromfile(p, np.uint8), cv2.IMREAD_UNCHANGED)
    if a is None:
        raise SceneError(vid, p.name, "unreadable or truncated TIFF")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.dtype != np.float32 or a.ndim != 2:
        raise SceneError(vid, p.name, f"expected float32 (H, W[, 1]) depth, got {a.dtype} {a.shape}")
    _check_shape(vid, p, a, hw)
    if not np.isfinite(a).any():
        raise SceneError(vid, p.name, "no finite depth value")
    if (a[np.isfinite(a)] < 0).any():
        raise SceneError(vid, p.name, "negative depth values (distances must be >= 0)")
    return a


def _data_ranges(vid: str, p: Path) -> dict[str, list[float]]:
    """``data_ranges.json`` as file_io.write_flow_batch writes it ({name: {"min", "max"}}); {} when absent."""
    if not p.exists():
        return {}
    raw = _read_json(vid, p)
    out = {}
    for name, r in raw.items():
        lo, hi = (r.get("min"), r.get("max")) if isinstance(r, dict) else (None, None)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in (lo, hi)) or lo > hi:
            raise SceneError(vid, p.name, f"entry {name!r} must be {{'min': a, 'max': b}} with finite a <= b, got {r!r}")
        out[name] = [float(lo), float(hi)]
    return out
