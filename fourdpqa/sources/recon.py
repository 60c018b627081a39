"""Generic monocular 4D reconstructions (``kind: recon``) -> standard scenes, so any video with one enters the pipeline.

Two output shapes are read, as their tools write them (checked in the tools' repositories):

- **MegaSaM** ``<name>.npz`` (``cvd_opt/cvd_opt.py`` ``outputs_cvd/<scene>_sgd_cvd_hr.npz``, also the
  ``camera_tracking_scripts`` ``outputs/<scene>_droid.npz``): ``images`` (T, H, W, 3) uint8 RGB, ``depths``
  (T, H, W) float16/32 z depth (1 / disparity), ``intrinsic`` (3, 3) K, ``cam_c2w`` (T, 4, 4) camera->world
  (``SE3(poses).inv()`` of DROID's world->camera poses; OpenCV camera axes).
- **MonST3R** folder ``<name>/`` (``demo.py``): ``pred_traj.txt`` one line per frame ``t x y z qw qx qy qz``
  (camera->world, ``c2w_to_tumpose`` + ``save_trajectory_tum_format``: TUM layout but **scalar-first**
  quaternions; option ``quaternion_order: xyzw`` reads standard TUM files), ``pred_intrinsics.txt`` one flattened
  3x3 K per frame, ``frame_%04d.npy`` z depth (H, W) and ``frame_%04d.png`` RGB (written last, over the depth
  colour map of the same name).

Optional instance masks (from any video segmenter): ``<name>.masks/`` beside an npz, ``<name>/masks/`` in a folder,
one ``%05d.png`` per frame (8-bit palette/grey or 16-bit grey; value = instance id, 0 = none) and optionally
``labels.json`` ``{"<id>": "<category>"}``; objects are then mask tracks (``mask_tracks``) with offline captions.

Gravity: reconstructions have none (their world is usually the first camera). Option ``up`` says where up is:
``first_camera`` (default: the first camera's -y, i.e. the video starts level), ``mean_camera`` (mean -y over the
video, for level hand-held or vehicle footage) or a 3-vector in the reconstruction's world; the world is rotated so
that this direction becomes +z and the choice is recorded in ``scene.json``. Scale: ``scale`` metres per unit
(MegaSaM depth is near-metric from its mono-depth prior, MonST3R's is not metric) [inferred]. Timing: ``fps``.
"""

from __future__ import annotations

import json
import zipfile
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import polars as pl
from PIL import Image

from fourdpqa import geometry
from fourdpqa.scene import Scene, SceneError, SceneMeta
from fourdpqa.sources import RawVideo, check_options
from fourdpqa.sources.captions import CAPTION_OPTIONS, captioner_from_options, fill_captions
from fourdpqa.sources.depth_units import check_ratio, motion_depth_ratio
from fourdpqa.sources.frame_plan import plan_frames, selection_options
from fourdpqa.sources.mask_tracks import mask_objects

if TYPE_CHECKING:
    from fourdpqa.params import SourceSpec

OPTIONS: dict[str, Any] = {"fps": 30.0, "scale": 1.0, "up": "first_camera", "quaternion_order": "wxyz",
                           **CAPTION_OPTIONS}
NPZ_KEYS = ("images", "depths", "intrinsic", "cam_c2w")
RIGID_TOL = 1e-3


def raw_videos(root: Path, spec: SourceSpec) -> list[RawVideo]:
    """Every ``*.npz`` (MegaSaM) and every folder holding ``pred_traj.txt`` (MonST3R) directly under ``root``."""
    opts = check_options(spec, OPTIONS)
    if not root.is_dir():
        return []
    out = []
    for p in sorted(root.iterdir()):
        if p.name[0] in "._" or ".tmp-" in p.name:
            continue
        if p.suffix == ".npz" and p.is_file():
            out.append(RawVideo(p.stem, spec.name, p, partial(load_video, p, spec.name, opts),
                                digest=partial(_digest, [p, p.with_suffix(".masks")], opts)))
        elif (p / "pred_traj.txt").is_file():
            out.append(RawVideo(p.name, spec.name, p, partial(load_video, p, spec.name, opts),
                                digest=partial(_digest, [p], opts)))
    return out


def _digest(paths: list[Path], options: dict[str, Any]) -> bytes:
    """The options and the file bytes of an npz and its masks folder (beside the npz, outside ``RawVideo.path``)
    or of a MonST3R folder: a change to either re-converts the video."""
    parts = [json.dumps(options, sort_keys=True, default=str).encode()]
    for base in paths:
        for p in ([base] if base.is_file() else sorted(q for q in base.rglob("*") if q.is_file())):
            parts.append(p.name.encode() + b"\0" + p.read_bytes())
    return b"".join(parts)


# ---------------------------------------------------------------------------------------------------- readers


def _npz_member_frames(z: zipfile.ZipFile, key: str, keep: np.ndarray, path: Path, vid: str) -> np.ndarray:
    """Frames ``keep`` (increasing) of the (T, ...) array ``key`` of an npz, read by streaming the member once and
    keeping only those frames (a compressed member cannot be read at an offset)."""
    with z.open(f"{key}.npy") as fh:
        version = np.lib.format.read_magic(fh)
        read = np.lib.format.read_array_header_1_0 if version[0] == 1 else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read(fh)
        if fortran or dtype.hasobject or len(shape) < 1:
            raise SceneError(vid, path.name, f"{key}: a C-ordered numeric (T, ...) array expected, got {dtype} {shape}")
        frame_bytes = int(np.prod(shape[1:])) * dtype.itemsize
        out = np.empty((len(keep), *shape[1:]), dtype)
        wanted = {int(t): i for i, t in enumerate(keep)}
        for t in range(int(keep[-1]) + 1 if len(keep) else 0):
            buf = fh.read(frame_bytes)
            if len(buf) != frame_bytes:
                raise SceneError(vid, path.name, f"{key}: truncated at frame {t} of {shape[0]}")
            if t in wanted:
                out[wanted[t]] = np.frombuffer(buf, dtype).reshape(shape[1:])
    return out


def read_megasam(path: Path, vid: str, plan_of: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, Any]:
    """(rgb (K, H, W, 3) uint8, depth (K, H, W) float32, K (K, 3, 3), cam_c2w (K, 4, 4), plan) of the frames of a
    MegaSaM npz that ``plan_of(n_frames)`` keeps (only those frames are held in memory)."""
    try:
        with zipfile.ZipFile(path) as z:
            names = [n[:-4] for n in z.namelist() if n.endswith(".npy")]
            missing = [k for k in NPZ_KEYS if k not in names]
            if missing:
                raise SceneError(vid, path.name, f"missing arrays {missing} (a MegaSaM npz has {list(NPZ_KEYS)}, found {names})")
            with np.load(path, allow_pickle=False) as npz:
                k, c2w = np.asarray(npz["intrinsic"], np.float64), np.asarray(npz["cam_c2w"], np.float64)
            t = len(c2w)
            if c2w.ndim != 3 or c2w.shape[1:] != (4, 4):
                raise SceneError(vid, path.name, f"cam_c2w must be (T, 4, 4), got {c2w.shape}")
            if k.shape not in ((3, 3), (t, 3, 3)):
                raise SceneError(vid, path.name, f"intrinsic must be (3, 3) or (T, 3, 3) = (T={t}, 3, 3), got {k.shape}")
            plan = plan_of(t)
            rgb = _npz_member_frames(z, "images", plan.frames, path, vid)
            depth = _npz_member_frames(z, "depths", plan.frames, path, vid)
            shapes = {key: _npz_shape(z, key) for key in ("images", "depths")}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        if isinstance(exc, SceneError):
            raise
        raise SceneError(vid, path.name, f"unreadable or truncated npz: {exc}") from exc
    if rgb.dtype != np.uint8 or len(shapes["images"]) != 4 or shapes["images"][-1] != 3:
        raise SceneError(vid, path.name, f"images must be (T, H, W, 3) uint8, got {rgb.dtype} {shapes['images']}")
    if shapes["depths"] != shapes["images"][:3] or shapes["images"][0] != t:
        raise SceneError(vid, path.name, f"depths {shapes['depths']}, images {shapes['images']} and cam_c2w {c2w.shape} "
                         "disagree on (T, H, W)")
    k = np.broadcast_to(k, (t, 3, 3)) if k.shape == (3, 3) else k
    return rgb, depth.astype(np.float32), np.asarray(k[plan.frames], np.float64), c2w[plan.frames], plan


def _npz_shape(z: zipfile.ZipFile, key: str) -> tuple[int, ...]:
    with z.open(f"{key}.npy") as fh:
        version = np.lib.format.read_magic(fh)
        read = np.lib.format.read_array_header_1_0 if version[0] == 1 else np.lib.format.read_array_header_2_0
        return tuple(int(v) for v in read(fh)[0])


def _table(path: Path, vid: str, cols: int) -> np.ndarray:
    if not path.exists():
        raise SceneError(vid, path.name, "missing file")
    try:
        a = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except ValueError as exc:
        raise SceneError(vid, path.name, f"unreadable numeric table: {exc}") from exc
    if a.shape[1] != cols:
        raise SceneError(vid, path.name, f"expected {cols} columns per line, got {a.shape[1]}")
    return a


def read_monst3r(folder: Path, vid: str, quaternion_order: str,
                 plan_of: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, Any]:
    """(rgb, depth, K (K, 3, 3), cam_c2w (K, 4, 4), plan) of the frames of a MonST3R output folder that
    ``plan_of(n_frames)`` keeps (only those frame files are read)."""
    traj = _table(folder / "pred_traj.txt", vid, 8)
    intr = _table(folder / "pred_intrinsics.txt", vid, 9)
    t = len(traj)
    if len(intr) not in (1, t):
        raise SceneError(vid, "pred_intrinsics.txt", f"{len(intr)} rows for {t} poses in pred_traj.txt")
    q = traj[:, 4:8] if quaternion_order == "wxyz" else traj[:, [7, 4, 5, 6]]
    if (np.abs(np.linalg.norm(q, axis=1) - 1.0) > RIGID_TOL).any():
        raise SceneError(vid, "pred_traj.txt", "quaternions are not unit norm (columns must be t x y z + quaternion)")
    plan = plan_of(t)
    rgb, depth = [], []
    for i in plan.frames.tolist():
        png, npy = folder / f"frame_{i:04d}.png", folder / f"frame_{i:04d}.npy"
        img = cv2.imread(str(png), cv2.IMREAD_COLOR) if png.exists() else None
        if img is None:
            raise SceneError(vid, png.name, "missing or unreadable RGB frame")
        try:
            d = np.load(npy, allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            raise SceneError(vid, npy.name, f"missing or unreadable depth: {exc}") from exc
        if d.shape != img.shape[:2]:
            raise SceneError(vid, npy.name, f"depth {d.shape} and RGB {img.shape[:2]} sizes differ")
        rgb.append(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
        depth.append(d.astype(np.float32))
    k = np.broadcast_to(intr.reshape(-1, 3, 3), (t, 3, 3))[plan.frames]
    c2w = geometry.pose_matrix(q, traj[:, 1:4])[plan.frames]
    return np.stack(rgb), np.stack(depth), np.asarray(k, np.float64), c2w, plan


def read_masks(folder: Path, shape: tuple[int, int, int], vid: str,
               frames: np.ndarray | None = None) -> tuple[np.ndarray, dict[int, str]]:
    """(instances (T, H, W) uint16, labels) from a masks folder, of the source ``frames`` (default 0..T-1); all
    zeros when there is no folder."""
    if not folder.is_dir():
        return np.zeros(shape, np.uint16), {}
    out = np.zeros(shape, np.uint16)
    for i, f in enumerate(np.arange(shape[0]) if frames is None else frames):
        p = folder / f"{int(f):05d}.png"
        try:
            img = Image.open(p)
            img.load()
        except (OSError, ValueError) as exc:
            raise SceneError(vid, f"{folder.name}/{p.name}", f"missing or unreadable mask: {exc}") from exc
        if img.mode not in ("P", "L", "I;16", "I"):
            raise SceneError(vid, f"{folder.name}/{p.name}", f"mask must be palette or grey ids, got mode {img.mode}")
        a = np.asarray(img)
        if a.shape != shape[1:] or a.min() < 0 or a.max() > 65535:
            raise SceneError(vid, f"{folder.name}/{p.name}", f"mask {a.shape} values {a.min()}..{a.max()} do not fit "
                             f"the {shape[2]}x{shape[1]} frames and ids 0..65535")
        out[i] = a
    labels: dict[int, str] = {}
    if (folder / "labels.json").exists():
        try:
            labels = {int(k): str(v) for k, v in json.loads((folder / "labels.json").read_text()).items()}
        except (ValueError, AttributeError, TypeError) as exc:
            raise SceneError(vid, f"{folder.name}/labels.json", f'must map "<id>" to a category: {exc}') from exc
    return out, labels


# ----------------------------------------------------------------------------------------------------- convert


def _check_geometry(k: np.ndarray, c2w: np.ndarray, depth: np.ndarray, vid: str, where: str) -> None:
    if not (np.isfinite(k).all() and (k[:, 0, 0] > 0).all() and (k[:, 1, 1] > 0).all()):
        raise SceneError(vid, where, "intrinsics must be finite with positive focal lengths")
    if c2w.shape[1:] != (4, 4) or not np.isfinite(c2w).all():
        raise SceneError(vid, where, f"camera poses must be finite (T, 4, 4), got {c2w.shape}")
    bad = np.flatnonzero(geometry.rotation_error(c2w[:, :3, :3]) > RIGID_TOL)
    if bad.size:
        raise SceneError(vid, where, f"camera poses are not rigid camera->world transforms at frames {bad[:10].tolist()}")
    empty = np.flatnonzero(~(np.isfinite(depth) & (depth > 0)).reshape(len(depth), -1).any(1))
    if empty.size:
        raise SceneError(vid, where, f"frames without any positive depth: {empty[:10].tolist()}")


def level(c2w: np.ndarray, up: Any, vid: str) -> tuple[np.ndarray, str]:
    """(world_from_cam (T, 4, 4) in a world whose +z is the chosen up, description of the choice)."""
    if up == "first_camera":
        u, how = -c2w[0, :3, 1], "up = -y of the first camera (assumes the video starts level)"
    elif up == "mean_camera":
        u, how = -c2w[:, :3, 1].mean(0), "up = mean -y of the cameras (assumes a level camera on average)"
    else:
        u = np.asarray(up, dtype=np.float64) if isinstance(up, (list, tuple)) else np.zeros(0)
        if u.shape != (3,) or not np.isfinite(u).all() or np.linalg.norm(u) == 0:
            raise SceneError(vid, "params.yaml", f"option up={up!r}: use first_camera, mean_camera or a 3-vector")
        how = f"up = {u.tolist()} in the reconstruction's world (given)"
    lv = np.eye(4)
    lv[:3, :3] = geometry.level_rotation(u)
    return lv @ c2w, how


def load_video(path: Path, source: str = "recon", options: dict[str, Any] | None = None) -> Scene:
    """Read one reconstruction (npz file or MonST3R folder) into a :class:`Scene` (validated by write_scene). Only
    the frames the ``frame_plan`` options keep are read, and those are held in memory (reconstructions are short
    clips: a long one is cut into clips by the options)."""
    opts = {**OPTIONS, **selection_options("recon"), **(options or {})}
    vid = path.stem if path.suffix == ".npz" else path.name
    if opts["quaternion_order"] not in ("wxyz", "xyzw") or not float(opts["scale"]) > 0 or not float(opts["fps"]) > 0:
        raise SceneError(vid, "params.yaml", f"options need quaternion_order wxyz|xyzw, scale > 0 and fps > 0, got {opts}")
    fps = float(opts["fps"])

    def plan_of(n: int) -> Any:
        return plan_frames(vid, np.arange(n) / fps, opts)

    if path.suffix == ".npz":
        rgb, depth, k, c2w, plan = read_megasam(path, vid, plan_of)
        where, masks_dir, fmt = path.name, path.with_suffix(".masks"), "megasam_npz"
    else:
        rgb, depth, k, c2w, plan = read_monst3r(path, vid, str(opts["quaternion_order"]), plan_of)
        where, masks_dir, fmt = "pred_traj.txt", path / "masks", "monst3r_folder"
    _check_geometry(k, c2w, depth, vid, where)
    s = float(opts["scale"])
    depth = np.where(np.isfinite(depth) & (depth > 0), depth * s, np.nan).astype(np.float32)
    c2w = c2w.copy()
    c2w[:, :3, 3] *= s
    check_motion_depth(vid, where, k, c2w, depth)
    w_from_c, how = level(c2w, opts["up"], vid)
    inst, labels = read_masks(masks_dir, depth.shape, vid, plan.frames)
    objects, poses = mask_objects(inst, depth, k, w_from_c, labels)
    inst[~np.isin(inst, objects["object_id"].to_numpy())] = 0  # ids without any valid depth have no position
    objects = fill_captions(objects, rgb, inst, depth, captioner_from_options(opts))
    t = len(rgb)
    q = geometry.matrix_to_quat(w_from_c[:, :3, :3])
    cameras = pl.DataFrame({
        "frame": np.arange(t, dtype=np.int64), "time_s": plan.frames / fps,
        "fx": k[:, 0, 0], "fy": k[:, 1, 1], "cx": k[:, 0, 2], "cy": k[:, 1, 2],
        "qw": q[:, 0], "qx": q[:, 1], "qy": q[:, 2], "qz": q[:, 3],
        "tx": w_from_c[:, 0, 3], "ty": w_from_c[:, 1, 3], "tz": w_from_c[:, 2, 3]})
    meta = SceneMeta(video_id=vid, source=source, fps=fps / plan.stride, width=rgb.shape[2], height=rgb.shape[1],
                     n_frames=t, extra={"raw_format": fmt, "gravity": how, "scale_m_per_unit": s,
                                        "object_orientation": "unknown (mask tracks)", **plan.extra()})
    return Scene(meta, rgb, depth, inst, cameras, objects, poses)


def check_motion_depth(vid: str, where: str, k: np.ndarray, c2w: np.ndarray, depth: np.ndarray) -> None:
    """Depth units against the camera baseline: the depth of the frame farthest from the first, moved into the
    first frame by the camera motion, must agree with it within a factor of 3 (a reconstruction in millimetres or
    with a wrong ``scale`` option fails here)."""
    if len(c2w) < 2:
        return
    b = int(np.argmax(np.linalg.norm(c2w[:, :3, 3] - c2w[0, :3, 3], axis=1)))
    if b == 0:
        return
    ratio = motion_depth_ratio(k, c2w, depth, b, 0)
    check_ratio(vid, where, None if ratio is None else 1.0 / ratio, "what the camera motion implies (camera baseline)")
