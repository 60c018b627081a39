"""SHIFT adapter (``kind: shift``): one sequence of one camera view of a split -> a standard scene.

``root`` is a split directory of the official layout (``<shift>/discrete/images/val``, see ``shift_io``); the option
``view`` (default ``front``) picks the camera. Conventions converted here (SOURCES.md §C; checked on the real frame
in tests/sources/test_shift.py):

- frames: ``frameIndex`` counts 10 Hz frames (the 1 fps ``images`` set steps by 10); time = index / 10 s;
- camera: per-frame Scalabel ``extrinsics`` = camera->world in CARLA's left-handed world (x fwd, y right, z up),
  ``location`` in metres, ``rotation`` = (rx, ry, rz) Euler angles in **degrees** composed as scalabel / shift-dev
  do (``Rotation.from_euler("xyz", ...)`` = Rz·Ry·Rx; on the real frame this, not LibCarla's GetMatrix sign
  convention, makes the front and left_90 poses agree with sensors.yaml to 1e-7 m); the world is mirrored
  (y -> -y) to right-handed z-up and the camera's CARLA body axes (x forward, y right, z up) are mapped to OpenCV
  (x right, y down, z forward); ``intrinsics`` give K. (The lidar ``center`` view stores world->sensor in radians.)
- depth: decoded as the devkit does (``shift_io.decode_depth``), z depth in metres, sky = NaN;
- objects: Scalabel ``box3d`` in the view's OpenCV camera frame, ``location`` = box centre, ``dimension`` =
  (height, width, length), ``orientation[1]`` = KITTI ``rotation_y`` (the length axis, the object's front, is
  (cos ry, 0, -sin ry) in the camera); label ``id`` is the track id; masks from ``det_insseg_2d.json``;
- visible fraction: share of the projected 3D box inside the image times the share of it not covered by nearer
  depth (SHIFT has no occlusion attribute); is_dynamic: the box centre moves more than ``DYNAMIC_M``.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import polars as pl
from scipy.spatial.transform import Rotation

from fourdpqa import geometry
from fourdpqa.frame_store import FrameArray
from fourdpqa.scene import Scene, SceneError, SceneMeta, in_memory
from fourdpqa.sources import RawVideo, check_options
from fourdpqa.sources import shift_io as io
from fourdpqa.sources.captions import CAPTION_OPTIONS, captioner_from_options, fill_captions
from fourdpqa.sources.frame_plan import plan_frames, selection_options
from fourdpqa.sources.vkitti2 import KITTI_FROM_OURS, euler_yxz

if TYPE_CHECKING:
    from fourdpqa.params import SourceSpec

COUNTER_HZ = 10.0  # SHIFT frame numbers count frames of the 10 fps videos
DYNAMIC_M = 0.5
OPTIONS: dict[str, Any] = {"view": "front", "scale": 1.0, **CAPTION_OPTIONS}
MIRROR_Y = np.diag([1.0, -1.0, 1.0])  # CARLA/Unreal left-handed world <-> right-handed
CARLA_BODY_FROM_CV = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])  # OpenCV axes in x-fwd/y-right/z-up
POSE_SCHEMA = {"frame": pl.Int64, "object_id": pl.Int64, "qw": pl.Float64, "qx": pl.Float64, "qy": pl.Float64,
               "qz": pl.Float64, "tx": pl.Float64, "ty": pl.Float64, "tz": pl.Float64, "visible_fraction": pl.Float64}


def raw_videos(root: Path, spec: SourceSpec) -> list[RawVideo]:
    """Every sequence of the chosen view under the split directory ``root`` (listed from the image group)."""
    opts = check_options(spec, OPTIONS)
    view, view_dir = str(opts["view"]), root / str(opts["view"])
    if not view_dir.is_dir():
        return []
    # a split-wide archive that cannot be listed is reported against the source (sources.adapter_raw_videos)
    seqs = sorted({m.split("/")[0] for m in io.GroupFiles(view_dir, "img", f"{spec.name}_unlisted").members() if "/" in m})
    out = []
    for seq in seqs:
        vid = video_id_for(seq, view)
        load = partial(open_sequence, view_dir, seq, spec.name, float(opts["scale"]), opts)
        out.append(RawVideo(vid, spec.name, view_dir, load, digest=partial(sequence_digest, view_dir, seq, vid, opts)))
    return out


def video_id_for(sequence: str, view: str) -> str:
    return f"shift_{sequence}" if view == "front" else f"shift_{sequence}_{view}"


def sequence_digest(view_dir: Path, sequence: str, video_id: str = "", options: dict[str, Any] | None = None) -> bytes:
    """Digest of what one sequence's scene depends on: its image/depth members, its annotation records and the
    adapter options."""
    try:
        parts = [repr(sorted((options or {}).items())).encode()]
        parts += [io.GroupFiles(view_dir, g, video_id).digest(sequence) for g in ("img", "depth")]
        for name in ("det_3d.json", "det_insseg_2d.json"):
            parts.append(repr(io.annotation_frames(view_dir / name, video_id).get(sequence, [])).encode())
    except (SceneError, OSError) as exc:  # an unreadable input never matches a stored digest; loading reports it
        return f"unreadable: {exc}".encode()
    return b"".join(parts)


def world_from_cam(location: np.ndarray, rotation_deg: np.ndarray) -> np.ndarray:
    """(N, 4, 4) OpenCV camera->world in a right-handed z-up world from SHIFT camera extrinsics: ``location``
    (N, 3) metres and ``rotation_deg`` (N, 3) (rx, ry, rz) degrees of the camera in the CARLA world."""
    r = MIRROR_Y @ Rotation.from_euler("xyz", rotation_deg, degrees=True).as_matrix() @ CARLA_BODY_FROM_CV
    return geometry.pose_matrix(r, location @ MIRROR_Y)


def cam_from_object(box3d: dict) -> tuple[np.ndarray, np.ndarray]:
    """(cam_from_object (4, 4) in our object axes (+x front, +z up, box centre), size (l, w, h)) of a Scalabel
    box3d (KITTI-style orientation in the OpenCV camera frame)."""
    rx, ry, rz = (float(v) for v in box3d["orientation"])
    h, w, l = (float(v) for v in box3d["dimension"])
    r = euler_yxz(np.array([ry]), np.array([rx]), np.array([rz]))[0] @ KITTI_FROM_OURS
    return geometry.pose_matrix(r, np.asarray(box3d["location"], dtype=np.float64)), np.array([l, w, h])


def box_corners(pose: np.ndarray, size: np.ndarray) -> np.ndarray:
    """(8, 3) corners of a box of ``size`` (l, w, h) centred at ``pose`` (4, 4)."""
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=np.float64)
    return geometry.transform_points(pose, signs * size / 2)


def box_visibility(corners_cam: np.ndarray, k: np.ndarray, depth: np.ndarray, own: np.ndarray, margin: float = 0.5) -> float:
    """Estimated visible share of a box: (share of its projected hull inside the image) x (share of the in-image
    hull not covered by something nearer than the box's nearest corner minus ``margin`` metres).

    ``corners_cam`` (8, 3) OpenCV camera frame, ``k`` (3, 3), ``depth`` (H, W) metres (NaN = far), ``own`` (H, W)
    bool mask of the object itself.
    """
    front = corners_cam[corners_cam[:, 2] > 0.1]
    if len(front) < 3:
        return 0.0
    uv, _ = geometry.project(k, front)
    hull = cv2.convexHull(uv.astype(np.float32))
    area = float(cv2.contourArea(hull))
    h, w = depth.shape
    x0, y0 = (max(0, int(np.floor(v))) for v in uv.min(0))
    x1, y1 = min(w, int(np.ceil(uv[:, 0].max())) + 1), min(h, int(np.ceil(uv[:, 1].max())) + 1)
    if area < 1.0 or x1 <= x0 or y1 <= y0:
        return 0.0
    canvas = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillConvexPoly(canvas, np.round(hull[:, 0] - [x0, y0]).astype(np.int32), 1)
    inside = canvas.astype(bool)
    n_in = int(inside.sum())
    if n_in == 0:
        return 0.0
    near = depth[y0:y1, x0:x1][inside] < float(front[:, 2].min()) - margin
    occluded = int((near & ~own[y0:y1, x0:x1][inside]).sum())
    return float(np.clip(min(1.0, n_in / area) * (1.0 - occluded / n_in), 0.0, 1.0))


def _ordered_frames(view_dir: Path, seq: str, vid: str) -> tuple[list[dict], np.ndarray]:
    frames = io.annotation_frames(view_dir / "det_3d.json", vid).get(seq)
    if not frames:
        raise SceneError(vid, str(view_dir / "det_3d.json"), f"no frames of sequence {seq!r}")
    numbers = np.array([io.frame_number(f, vid, "det_3d.json") for f in frames])
    order = np.argsort(numbers, kind="stable")
    numbers = numbers[order]
    if len(numbers) > 1 and (np.diff(numbers) <= 0).any():
        raise SceneError(vid, "det_3d.json", f"frame numbers repeat in sequence {seq!r}: {numbers.tolist()[:10]}")
    return [frames[i] for i in order], numbers


def _camera_arrays(frames: list[dict], vid: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(intrinsics (T, 4) fx fy cx cy, location (T, 3), rotation (T, 3) degrees) with units checked."""
    try:
        intr = np.array([list(f["intrinsics"]["focal"]) + list(f["intrinsics"]["center"]) for f in frames], np.float64)
        loc = np.array([f["extrinsics"]["location"] for f in frames], np.float64)
        rot = np.array([f["extrinsics"]["rotation"] for f in frames], np.float64)
    except (KeyError, TypeError, ValueError) as exc:
        raise SceneError(vid, "det_3d.json", f"frame intrinsics/extrinsics missing or malformed: {exc!r}") from exc
    if intr.shape != (len(frames), 4) or loc.shape != (len(frames), 3) or rot.shape != (len(frames), 3):
        raise SceneError(vid, "det_3d.json", "intrinsics need focal [fx, fy] + center [cx, cy]; extrinsics need "
                         "3-vector location and rotation")
    if not (np.isfinite(intr).all() and np.isfinite(loc).all() and np.isfinite(rot).all()) or (intr[:, :2] <= 0).any():
        raise SceneError(vid, "det_3d.json", "non-finite camera values or non-positive focal length")
    if np.abs(rot).max() > 360.0 + 1e-6:
        raise SceneError(vid, "det_3d.json", f"extrinsics.rotation {np.abs(rot).max():.1f} is outside [-360, 360]: "
                         "unknown units (SHIFT camera rotations are degrees)")
    return intr, loc, rot


class _Frames:
    """Decoders of one sequence's frames (``numbers``: the 10 Hz counters of the kept frames), resized by ``scale``."""

    def __init__(self, view_dir: Path, seq: str, numbers: np.ndarray, vid: str, scale: float):
        self.seq, self.view, self.numbers, self.vid, self.scale = seq, view_dir.name, numbers, vid, scale
        self.img, self.dep = io.GroupFiles(view_dir, "img", vid), io.GroupFiles(view_dir, "depth", vid)
        d0 = self._raw_depth(0)
        self.raw_hw = d0.shape
        self.hw = (max(1, round(d0.shape[0] * scale)), max(1, round(d0.shape[1] * scale)))

    def _raw_depth(self, t: int) -> np.ndarray:
        name = io.member_name(self.seq, int(self.numbers[t]), "depth", self.view, "png")
        d = io.decode_depth(self.dep.read(name), self.vid, f"depth:{name}")
        if t and d.shape != self.raw_hw:
            raise SceneError(self.vid, f"depth:{name}", f"size {d.shape[::-1]} differs from the first frame {self.raw_hw[::-1]}")
        if not np.isfinite(d).any():
            raise SceneError(self.vid, f"depth:{name}", "no depth closer than the far plane")
        return d

    def depth(self, t: int) -> np.ndarray:
        d = self._raw_depth(t)
        return d if self.scale == 1.0 else cv2.resize(d, self.hw[::-1], interpolation=cv2.INTER_NEAREST)

    def rgb(self, t: int) -> np.ndarray:
        name = io.member_name(self.seq, int(self.numbers[t]), "img", self.view, "jpg")
        img = io.decode_image(self.img.read(name), self.vid, f"img:{name}")
        if img.shape[:2] != self.raw_hw:
            raise SceneError(self.vid, f"img:{name}", f"size {img.shape[1::-1]} differs from the depth "
                             f"{self.raw_hw[::-1]}")
        return img if self.scale == 1.0 else cv2.resize(img, self.hw[::-1], interpolation=cv2.INTER_AREA)

    def mask(self, m: np.ndarray) -> np.ndarray:
        return m if self.scale == 1.0 else cv2.resize(m.astype(np.uint8), self.hw[::-1], interpolation=cv2.INTER_NEAREST) > 0


def _mask_records(view_dir: Path, seq: str, frames: list[dict], vid: str) -> list[dict]:
    """Per frame: its det_insseg_2d.json record (matched by frame name; no labels when absent)."""
    by_name = {f["name"]: f for f in io.annotation_frames(view_dir / "det_insseg_2d.json", vid).get(seq, [])}
    return [by_name.get(f["name"], {"name": f["name"], "labels": []}) for f in frames]


def _masks(rec: dict, hw: tuple[int, int], vid: str) -> dict[str, np.ndarray]:
    """Label id -> (H, W) bool mask of one det_insseg_2d.json frame record (RLEs decoded now)."""
    masks = {}
    for lab in rec.get("labels") or []:
        if isinstance(lab, dict) and lab.get("rle") is not None:
            masks[str(lab.get("id"))] = io.decode_rle(lab["rle"], hw, vid, f"det_insseg_2d.json {rec['name']} label {lab.get('id')}")
    return masks


def _labels(frames: list[dict], vid: str) -> list[list[tuple[str, str, np.ndarray, np.ndarray]]]:
    """Per frame: (track id, category, cam_from_object (4, 4), size (l, w, h)) of every 3D label."""
    out = []
    for f in frames:
        rows = []
        for lab in f.get("labels") or []:
            where = f"det_3d.json {f['name']} label {lab.get('id') if isinstance(lab, dict) else lab!r}"
            try:
                pose, size = cam_from_object(lab["box3d"])
                tid, cat = str(lab["id"]), str(lab["category"])
            except (KeyError, TypeError, ValueError) as exc:
                raise SceneError(vid, where, f"label needs id, category and box3d (orientation, location, dimension): {exc!r}") from exc
            if not (np.isfinite(pose).all() and (size > 0).all()):
                raise SceneError(vid, where, f"non-finite box or non-positive dimension {size.tolist()}")
            rows.append((tid, cat, pose, size))
        out.append(rows)
    return out


def _instances(rows: list[tuple], masks: dict[str, np.ndarray], oid: dict[str, int], hw: tuple[int, int]) -> np.ndarray:
    """(H, W) uint16 object ids of one frame: masks painted far to near (by box centre depth), nearer ones win."""
    inst = np.zeros(hw, np.uint16)
    for tid, _cat, cam_obj, _size in sorted(rows, key=lambda r: -r[2][2, 3]):
        if tid in masks:
            inst[masks[tid]] = oid[tid]
    return inst


def _objects(labels: list[list[tuple]], frames: _Frames, records: list[dict], w_from_c: np.ndarray, k: np.ndarray,
             vid: str) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, int]]:
    """(objects, object_poses, track id -> object id) from per-frame labels, masks and depth (one frame at a time)."""
    tracks = sorted({tid for rows in labels for tid, *_ in rows}, key=lambda s: (len(s), s))
    if len(tracks) > 65535:
        raise SceneError(vid, "det_3d.json", f"{len(tracks)} tracks exceed the 65535 instance ids")
    oid = {tid: i + 1 for i, tid in enumerate(tracks)}
    poses, first = [], {}
    for t, rows in enumerate(labels):
        masks = {i: frames.mask(m) for i, m in _masks(records[t], frames.raw_hw, vid).items()}
        depth = frames.depth(t) if any(tid in masks for tid, *_ in rows) else None
        for tid, cat, cam_obj, size in rows:
            own = masks.get(tid)
            vis = box_visibility(box_corners(cam_obj, size), k[t], depth, own) if own is not None and own.any() else 0.0
            world = w_from_c[t] @ cam_obj
            poses.append((t, oid[tid], *geometry.matrix_to_quat(world[:3, :3]), *world[:3, 3], vis))
            first.setdefault(tid, (cat, size))
    table = pl.DataFrame(poses, schema=POSE_SCHEMA, orient="row").sort("object_id", "frame")
    moved = table.group_by("object_id").agg(
        ((pl.col("tx") - pl.col("tx").first()) ** 2 + (pl.col("ty") - pl.col("ty").first()) ** 2
         + (pl.col("tz") - pl.col("tz").first()) ** 2).sqrt().max().alias("moved"))
    moved_by = dict(zip(moved["object_id"].to_list(), moved["moved"].to_list()))
    objects = pl.DataFrame(
        [{"object_id": oid[t], "category": first[t][0], "caption": "", "size_l": float(first[t][1][0]),
          "size_w": float(first[t][1][1]), "size_h": float(first[t][1][2]), "has_front": True,
          "is_dynamic": bool(moved_by.get(oid[t], 0.0) > DYNAMIC_M), "track_id": t} for t in tracks],
        schema={"object_id": pl.Int64, "category": pl.Utf8, "caption": pl.Utf8, "size_l": pl.Float64, "size_w": pl.Float64,
                "size_h": pl.Float64, "has_front": pl.Boolean, "is_dynamic": pl.Boolean, "track_id": pl.Utf8})
    return objects, table, oid


def _scaled(intr: np.ndarray, raw_hw: tuple[int, int], hw: tuple[int, int]) -> np.ndarray:
    """Intrinsics (T, 4) fx fy cx cy of frames resized from ``raw_hw`` to ``hw`` (pixel centres kept)."""
    sx, sy = hw[1] / raw_hw[1], hw[0] / raw_hw[0]
    intr = intr * [sx, sy, 1.0, 1.0]
    intr[:, 2] = (intr[:, 2] + 0.5) * sx - 0.5
    intr[:, 3] = (intr[:, 3] + 0.5) * sy - 0.5
    return intr


def load_sequence(view_dir: Path, seq: str, source: str = "shift", scale: float = 1.0,
                  options: dict[str, Any] | None = None) -> Scene:
    """:func:`open_sequence` with every frame decoded and checked (small sequences, tests)."""
    return in_memory(open_sequence(view_dir, seq, source, scale, options))


def open_sequence(view_dir: Path, seq: str, source: str = "shift", scale: float = 1.0,
                  options: dict[str, Any] | None = None) -> Scene:
    """Open one SHIFT sequence of the view in ``view_dir`` as a :class:`Scene` whose frames are decoded when read
    (``write_scene`` streams them); only the frames the ``frame_plan`` options keep are ever decoded."""
    view = view_dir.name
    vid = video_id_for(seq, view)
    opts = {**selection_options("shift"), **(options or {})}
    if not scale > 0:
        raise SceneError(vid, "params.yaml", f"option scale={scale} must be positive")
    frames, numbers = _ordered_frames(view_dir, seq, vid)
    plan = plan_frames(vid, numbers / COUNTER_HZ, opts)
    frames, numbers = [frames[i] for i in plan.frames], numbers[plan.frames]
    intr, loc, rot = _camera_arrays(frames, vid)
    dec = _Frames(view_dir, seq, numbers, vid, float(scale))
    intr = intr if scale == 1.0 else _scaled(intr, dec.raw_hw, dec.hw)
    k = geometry.intrinsics_matrix(*intr.T)
    w_from_c = world_from_cam(loc, rot)
    labels, records = _labels(frames, vid), _mask_records(view_dir, seq, frames, vid)
    objects, poses, oid = _objects(labels, dec, records, w_from_c, k, vid)
    t, hw = len(frames), dec.hw
    rgb = FrameArray(t, (*hw, 3), np.uint8, dec.rgb)
    depth = FrameArray(t, hw, np.float32, dec.depth)
    inst = FrameArray(t, hw, np.uint16, lambda i: _instances(
        labels[i], {j: dec.mask(m) for j, m in _masks(records[i], dec.raw_hw, vid).items()}, oid, hw))
    objects = fill_captions(objects, rgb, inst, depth, captioner_from_options(opts))
    q = geometry.matrix_to_quat(w_from_c[:, :3, :3])
    cameras = pl.DataFrame({
        "frame": np.arange(t, dtype=np.int64), "time_s": (numbers - numbers[0]) / COUNTER_HZ,
        "fx": intr[:, 0], "fy": intr[:, 1], "cx": intr[:, 2], "cy": intr[:, 3],
        "qw": q[:, 0], "qx": q[:, 1], "qy": q[:, 2], "qz": q[:, 3],
        "tx": w_from_c[:, 0, 3], "ty": w_from_c[:, 1, 3], "tz": w_from_c[:, 2, 3]})
    step = float(np.median(np.diff(numbers))) if t > 1 else COUNTER_HZ
    attrs = frames[0].get("attributes") or {}
    meta = SceneMeta(video_id=vid, source=source, fps=COUNTER_HZ / step, width=hw[1], height=hw[0],
                     n_frames=t, extra={"raw_format": "shift", "sequence": seq, "view": view,
                                        "frame_numbers": numbers.tolist(),
                                        "weather": str(attrs.get("weather_coarse", "")),
                                        "timeofday": str(attrs.get("timeofday_coarse", "")), **plan.extra()})
    return Scene(meta, rgb, depth, inst, cameras, objects, poses)
