"""HOT3D-Clips adapter (``kind: hot3d_clips``): the public HOT3D form that carries images, one tar per clip.

Layout (facebookresearch/hot3d ``hot3d/clips/README.md``, read as its ``clip_util.py`` reads it): ``<root>`` holds
``clip-<ID>.tar`` files directly or in split folders (``train_aria/``, ``test_quest3/``, ...), and the object models
``object_models_eval/obj_<bop id:06d>.glb`` (or ``object_models/``; option ``object_models``). A clip holds, per
frame ``<FRAME-ID>`` = ``%06d``: ``<FRAME-ID>.image_<stream>.jpg`` (Aria: RGB ``214-1`` and SLAM ``1201-1/2``;
Quest3: ``1201-1/2``), ``<FRAME-ID>.cameras.json`` (per stream: ``calibration`` with ``projection_model_type``
FISHEYE624, ``projection_params`` (15: f, cx, cy, 12 coefficients; or 16: fx, fy, cx, cy, ...), image size,
``T_device_from_camera``; and ``T_world_from_camera``, both ``{translation_xyz, quaternion_wxyz}``),
``<FRAME-ID>.objects.json`` (object uid -> list of instances with ``object_bop_id`` and ``T_world_from_object``;
absent in test clips) and ``<FRAME-ID>.info.json`` (``device``: Aria | Quest3, ``image_timestamps_ns`` per stream).

Conversion is the HOT3D adapter's (:mod:`.hot3d_scene`): frames rectified to the pinhole of options ``width``,
``height``, ``focal`` (Aria turned upright), depth and instances rendered from the posed meshes (``depth_coverage:
objects``), worlds levelled (Aria z-up, Quest3 y-up). Object names come from a HOT3D object library
``instance.json`` (option ``object_library``: a path under ``root``; ``instance_bop_id`` -> ``instance_name``), else
the category is "object". A truncated tar, a missing member or a malformed JSON is quarantined naming the clip
file and the member.
"""

from __future__ import annotations

import json
import tarfile
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from fourdpqa import geometry
from fourdpqa.scene import Scene, SceneError, in_memory
from fourdpqa.sources import RawVideo, check_options
from fourdpqa.sources.aria import Pinhole, Rectifier, level_from_gravity, projectaria
from fourdpqa.sources.frame_plan import selection_options
from fourdpqa.sources.hot3d import GRAVITY, Hot3dSequence
from fourdpqa.sources.hot3d_frames import DEFAULT_STREAM, Recording
from fourdpqa.sources.hot3d_scene import build_scene, load_meshes

if TYPE_CHECKING:
    from fourdpqa.params import SourceSpec

OPTIONS: dict[str, Any] = {"object_models": None, "object_library": None, "width": 512, "height": 512, "focal": 300.0,
                           "upright": True, "stream": None, "device": "auto"}
MODEL_FOLDERS = ("object_models_eval", "object_models")


def list_clips(root: Path) -> list[Path]:
    """``clip-*.tar`` files directly under ``root`` or one folder down, sorted."""
    return sorted([*root.glob("clip-*.tar"), *root.glob("*/clip-*.tar")])


def video_id_for(root: Path, tar: Path) -> str:
    return "hot3dclip_" + ("" if tar.parent == root else f"{tar.parent.name}_") + tar.stem


def raw_videos(root: Path, spec: SourceSpec) -> list[RawVideo]:
    opts = check_options(spec, OPTIONS)
    models = root / opts["object_models"] if opts["object_models"] else \
        next((root / m for m in MODEL_FOLDERS if (root / m).is_dir()), root / MODEL_FOLDERS[0])
    library = root / opts["object_library"] if opts["object_library"] else None
    return [RawVideo(video_id_for(root, t), spec.name, t, partial(open_clip, t, models, spec.name, opts,
                                                                  video_id_for(root, t), library))
            for t in list_clips(root)]


class ClipTar:
    """The members of one clip tar (listed once; a truncated archive fails here, naming the file)."""

    def __init__(self, vid: str, path: Path):
        self.vid, self.path = vid, path
        try:
            self.tar = tarfile.open(path, mode="r")
            self.names = set(self.tar.getnames())  # reads every header: a truncated archive fails now
        except (OSError, tarfile.TarError, EOFError) as exc:
            raise SceneError(vid, str(path), f"unreadable or truncated tar: {exc}") from exc
        self.n_frames = 1 + max((int(n.split(".")[0]) for n in self.names if n.endswith(".info.json")), default=-1)
        if self.n_frames < 1:
            raise SceneError(vid, str(path), "no <FRAME-ID>.info.json member: not a HOT3D clip")

    def read(self, member: str) -> bytes:
        if member not in self.names:
            raise SceneError(self.vid, f"{self.path}:{member}", "missing member")
        try:
            fh = self.tar.extractfile(member)
            return fh.read() if fh is not None else b""
        except (OSError, tarfile.TarError, EOFError) as exc:
            raise SceneError(self.vid, f"{self.path}:{member}", f"unreadable member (truncated tar?): {exc}") from exc

    def json(self, member: str) -> Any:
        try:
            return json.loads(self.read(member))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SceneError(self.vid, f"{self.path}:{member}", f"unreadable JSON: {exc}") from exc

    def image(self, frame: int, stream: str) -> np.ndarray:
        member = f"{frame:06d}.image_{stream}.jpg"
        img = cv2.imdecode(np.frombuffer(self.read(member), np.uint8), cv2.IMREAD_UNCHANGED)
        if img is None or img.dtype != np.uint8:
            raise SceneError(self.vid, f"{self.path}:{member}", "unreadable or truncated image")
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB) if img.ndim == 3 else img


def _se3(vid: str, where: str, d: Any) -> np.ndarray:
    try:
        q = np.asarray(d["quaternion_wxyz"], np.float64)
        t = np.asarray(d["translation_xyz"], np.float64)
        if q.shape != (4,) or t.shape != (3,) or not (np.isfinite(q).all() and np.isfinite(t).all()):
            raise ValueError(f"quaternion_wxyz {q.shape} and translation_xyz {t.shape} must be finite 4- and 3-vectors")
        if abs(np.linalg.norm(q) - 1) > 1e-3:
            raise ValueError(f"quaternion norm {np.linalg.norm(q):.4f} is not 1")
    except (KeyError, TypeError, ValueError) as exc:
        raise SceneError(vid, where, f"bad rigid transform: {exc}") from exc
    return geometry.pose_matrix(q / np.linalg.norm(q), t)


def _calibration(vid: str, where: str, cal: Any) -> Any:
    """A projectaria-tools FISHEYE624 CameraCalibration from a clip's ``calibration`` entry."""
    pa = projectaria()
    try:
        p = [float(v) for v in cal["projection_params"]]
        if cal["projection_model_type"] != "CameraModelType.FISHEYE624" or len(p) not in (15, 16):
            raise ValueError(f"expected FISHEYE624 with 15 or 16 params, got {cal['projection_model_type']} with {len(p)}")
        if len(p) == 16:  # fx, fy, cx, cy, ...: the single-focal model needs fx == fy (as HOT3D's Quest3 cameras)
            if abs(p[0] - p[1]) > 1e-6 * p[0]:
                raise ValueError("fx != fy: the single-focal Fisheye624 cannot hold it")
            p = p[:1] + p[2:]
        t = cal["T_device_from_camera"]
        q = t["quaternion_wxyz"]
        pose = pa.SE3.from_quat_and_translation(float(q[0]), np.asarray(q[1:4], np.float64),
                                                np.asarray(t["translation_xyz"], np.float64))
        return pa.calibration.CameraCalibration(
            str(cal.get("label", "")), pa.calibration.CameraModelType.FISHEYE624, np.asarray(p), pose,
            int(cal["image_width"]), int(cal["image_height"]), None, float(cal.get("max_solid_angle", np.pi)),
            str(cal.get("serial_number", "")))
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise SceneError(vid, where, f"bad camera calibration: {exc}") from exc


def read_clip(vid: str, clip: ClipTar, stream: str | None,
              names: dict[int, str]) -> tuple[Hot3dSequence, Recording, str, dict[int, int]]:
    """The clip's ground truth as a :class:`Hot3dSequence` (poses per frame, timestamps of ``stream``), its image
    stream as a :class:`Recording`, the stream, and each object uid's BOP id (its model's name)."""
    info0 = clip.json("000000.info.json")
    headset = info0.get("device") if isinstance(info0, dict) else None
    if headset not in GRAVITY:
        raise SceneError(vid, f"{clip.path}:000000.info.json", f"unknown device {headset!r}; known: {sorted(GRAVITY)}")
    stream = str(stream or DEFAULT_STREAM[headset])
    level = level_from_gravity(np.asarray(GRAVITY[headset]))
    ts, world_from_device, calib = [], [], None
    objects: dict[int, list[tuple[int, np.ndarray]]] = {}
    bop: dict[int, int] = {}
    for f in range(clip.n_frames):
        key = f"{f:06d}"
        info, cams = clip.json(f"{key}.info.json"), clip.json(f"{key}.cameras.json")
        where = f"{clip.path}:{key}.cameras.json"
        try:
            ts.append(int(info["image_timestamps_ns"][stream]))
            cam = cams[stream]
        except (KeyError, TypeError, ValueError) as exc:
            raise SceneError(vid, where, f"no stream {stream} (timestamp or camera) in frame {key}: {exc!r}") from exc
        calib = calib or _calibration(vid, where, cam.get("calibration") if isinstance(cam, dict) else None)
        device_from_cam = _se3(vid, where, cam["calibration"]["T_device_from_camera"])
        world_from_device.append(level @ _se3(vid, where, cam.get("T_world_from_camera")) @ geometry.invert_pose(device_from_cam))
        if f"{key}.objects.json" in clip.names:
            for uid, instances in clip.json(f"{key}.objects.json").items():
                for inst in instances if isinstance(instances, list) else [instances]:
                    o_where = f"{clip.path}:{key}.objects.json"
                    try:
                        bop[int(uid)] = int(inst["object_bop_id"])
                    except (KeyError, TypeError, ValueError) as exc:
                        raise SceneError(vid, o_where, f"object {uid!r} needs an integer object_bop_id: {exc!r}") from exc
                    objects.setdefault(int(uid), []).append((ts[-1], level @ _se3(vid, o_where, inst.get("T_world_from_object"))))
    t = np.asarray(ts, np.int64)
    if (np.diff(t) <= 0).any():
        raise SceneError(vid, str(clip.path), f"image timestamps of stream {stream} are not increasing")
    gt = Hot3dSequence(
        video_id=vid, headset=headset, level=level, device_ts=t, world_from_device=np.stack(world_from_device),
        object_ts={u: np.array([p[0] for p in v], np.int64) for u, v in objects.items()},
        world_from_object={u: np.stack([p[1] for p in v]) for u, v in objects.items()},
        cameras={stream: calib}, names={u: names.get(bop[u], "object") for u in objects})
    return gt, Recording(t, lambda i: clip.image(int(i), stream)), stream, bop


def _names(vid: str, library: Path | None) -> dict[int, str]:
    """BOP id -> instance name from a HOT3D object library ``instance.json`` ({} without one)."""
    if library is None:
        return {}
    try:
        lib = json.loads(library.read_text())
        return {int(v["instance_bop_id"]): str(v["instance_name"]) for v in lib.values()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SceneError(vid, str(library), f"unreadable object library (instance_bop_id -> instance_name): {exc}") from exc


def load_clip(path: Path, models: Path, source: str = "hot3d_clips", options: dict[str, Any] | None = None,
              video_id: str | None = None, library: Path | None = None) -> Scene:
    """:func:`open_clip` with every frame decoded, rendered and checked (small clips, tests)."""
    return in_memory(open_clip(path, models, source, options, video_id, library))


def open_clip(path: Path, models: Path, source: str = "hot3d_clips", options: dict[str, Any] | None = None,
              video_id: str | None = None, library: Path | None = None) -> Scene:
    """Open one clip tar as a :class:`Scene` whose frames are decoded and rendered when read."""
    opts = {**OPTIONS, **selection_options("hot3d_clips"), **(options or {})}
    vid = video_id or f"hot3dclip_{path.stem}"
    clip = ClipTar(vid, path)
    gt, rec, stream, bop = read_clip(vid, clip, opts["stream"], _names(vid, library))
    if not gt.world_from_object:
        raise SceneError(vid, str(path), "no objects.json member: a test clip without object annotations")
    pinhole = Pinhole.from_options(vid, {**opts, "upright": bool(opts["upright"]) and gt.headset == "Aria"})
    by_bop = load_meshes(vid, models, sorted(set(bop.values())), "obj_{:06d}.glb")
    meshes = {u: by_bop[b] for u, b in bop.items()}
    return build_scene(gt, path, rec, Rectifier(gt.cameras[stream], pinhole), meshes, source,
                       {**opts, "stream": stream, "max_time_offset_ms": 0.0}, raw_format="hot3d_clips")
