"""HOT3D adapter: headset trajectory, object poses and camera calibration of one sequence (SOURCES.md §E),
frames from ``recording.vrs``, depth and instances rendered from the object meshes (:mod:`.hot3d_scene`).

Layout: ``<root>/<sequence>/`` (e.g. ``P0003_c701bd11``) with ``metadata.json`` (headset Aria | Quest3),
``headset_trajectory.csv`` (T_world_device), ``dynamic_objects.csv`` (T_world_object), both with quaternions
w-first and ns timestamps; calibration from ``camera_models.json`` (Quest3, FISHEYE624 with fx, fy) or MPS
``mps/slam/online_calibration.jsonl`` (Aria); frames only in ``recording.vrs``; the object library
``<root>/<object_library>/instance.json`` names the objects and ``<root>/<object_models>/<uid>.glb`` (by default
the same folder, as HOT3D distributes its ``assets``) are their meshes. World: Aria sequences are z-up (MPS
gravity (0, 0, -9.81)), Quest3 sequences y-up; both are levelled to the standard +z-up world here.

Frames: the ``stream`` camera (Aria RGB 214-1, Quest3 left SLAM 1201-1 by default) rectified from FISHEYE624 to a
``width`` x ``height`` pinhole of focal ``focal`` (:mod:`.aria`; Aria frames turned upright when ``upright``,
Quest3 frames are stored upright). The Aria calibration is the first MPS online calibration record.
A sequence without ``recording.vrs`` is checked, then quarantined ("missing file: no images").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from fourdpqa import geometry
from fourdpqa.scene import Scene, SceneError, in_memory
from fourdpqa.sources import RawVideo, check_options
from fourdpqa.sources.frame_plan import selection_options
from fourdpqa.sources.aria import Pinhole, Rectifier, level_from_gravity, projectaria, quats_wxyz, read_csv, read_json
from fourdpqa.sources.hot3d_frames import DEFAULT_STREAM, open_recording
from fourdpqa.sources.hot3d_scene import build_scene, load_meshes

if TYPE_CHECKING:
    from fourdpqa.params import SourceSpec

OPTIONS: dict[str, Any] = {
    "object_library": "assets", "object_models": None, "width": 512, "height": 512, "focal": 300.0, "upright": True,
    "stream": None, "max_time_offset_ms": 1.0, "device": "auto",
}
POSE_COLS = ["object_uid", "timestamp[ns]", "t_wo_x[m]", "t_wo_y[m]", "t_wo_z[m]", "q_wo_w", "q_wo_x", "q_wo_y", "q_wo_z"]
GRAVITY = {"Aria": (0.0, 0.0, -9.81), "Quest3": (0.0, -9.81, 0.0)}  # world gravity per headset [verified §E.2]


@dataclass
class Hot3dSequence:
    """Parsed ground truth of one sequence, in the standard z-up world (metres, ns timestamps)."""

    video_id: str
    headset: str
    level: np.ndarray  # (4, 4) source world -> standard world
    device_ts: np.ndarray  # (T,) int64 ns
    world_from_device: np.ndarray  # (T, 4, 4)
    object_ts: dict[int, np.ndarray]  # uid -> (N,) int64 ns
    world_from_object: dict[int, np.ndarray]  # uid -> (N, 4, 4)
    cameras: dict[str, Any]  # stream id ("1201-1", "214-1") -> projectaria CameraCalibration (FISHEYE624)
    names: dict[int, str]  # uid -> instance_name from the object library


def list_sequences(root: str | Path, library: str = OPTIONS["object_library"]) -> list[Path]:
    """Sequence directories: sub-directories of ``root`` other than the object library ('.'/'_' names skipped)."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name != library and p.name[0] not in "._"
                  and ".tmp-" not in p.name)


def raw_videos(root: Path, spec: SourceSpec) -> list[RawVideo]:
    opts = check_options(spec, OPTIONS)
    lib = root / str(opts["object_library"])
    models = root / str(opts["object_models"] or opts["object_library"])
    return [RawVideo(f"hot3d_{s.name}", spec.name, s, partial(open_sequence, s, lib, spec.name, opts, models))
            for s in list_sequences(root, str(opts["object_library"]))]


def _poses(vid: str, path: Path) -> tuple[pl.DataFrame, np.ndarray]:
    """Rows sorted by (uid, time) and their (N, 4, 4) poses from a HOT3D pose CSV (quaternion w first)."""
    df = read_csv(vid, path, POSE_COLS, schema_overrides={"object_uid": pl.Int64, "timestamp[ns]": pl.Int64}).sort("object_uid", "timestamp[ns]")
    if df.select(pl.struct("object_uid", "timestamp[ns]").is_duplicated().any()).item():
        raise SceneError(vid, str(path), "duplicate (object_uid, timestamp) rows")
    q = quats_wxyz(vid, path, df, ["q_wo_w", "q_wo_x", "q_wo_y", "q_wo_z"])
    return df, geometry.pose_matrix(q, df.select("t_wo_x[m]", "t_wo_y[m]", "t_wo_z[m]").to_numpy().astype(np.float64))


def _quest_cameras(vid: str, path: Path) -> dict[str, Any]:
    pa = projectaria()
    models = read_json(vid, path)
    out = {}
    try:
        for m in models:
            p = [float(v) for v in m["projectionParams"]]
            if m["projectionModelType"] != "CameraModelType.FISHEYE624" or len(p) != 16 or abs(p[0] - p[1]) > 1e-6 * p[0]:
                raise ValueError(f"stream {m.get('stream_id')}: expected FISHEYE624 with 16 params and fx == fy")
            t = m["T_Device_Camera"]
            q = t["quaternion_wxyz"]
            pose = pa.SE3.from_quat_and_translation(float(q[0]), np.asarray(q[1:4], np.float64), np.asarray(t["translation_xyz"], np.float64))
            # the single-focal Fisheye624 of projectaria-tools (15 params), as HOT3D's QuestDataProvider builds it
            out[str(m["stream_id"])] = pa.calibration.CameraCalibration(
                str(m["label"]), pa.calibration.CameraModelType.FISHEYE624, np.asarray(p[:1] + p[2:]), pose,
                int(m["imageWidth"]), int(m["imageHeight"]), None, float(m["maxSolidAngle"]), str(m["serialNumber"]))
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise SceneError(vid, str(path), f"bad camera model: {exc}") from exc
    return out


def _aria_cameras(vid: str, path: Path) -> dict[str, Any]:
    """First MPS online calibration. Its RGB parameters are those of the recorded 1408 px stream, but the reader
    reports the full 2880 px sensor size: the size is set to 1408 with the parameters unchanged (the dataset's
    own 2D boxes agree only then)."""
    if not path.exists():
        raise SceneError(vid, str(path), "missing file (Aria calibration without recording.vrs)")
    from projectaria_tools.core import mps

    try:
        calibs = mps.read_online_calibration(str(path))
    except RuntimeError as exc:
        raise SceneError(vid, str(path), f"no online calibration record could be read: {exc}") from exc
    if not calibs:
        raise SceneError(vid, str(path), "no online calibration record could be read")
    streams = {"camera-slam-left": "1201-1", "camera-slam-right": "1201-2", "camera-rgb": "214-1"}
    out = {}
    for c in calibs[0].camera_calibs:
        if c.get_label() in streams:
            w = int(c.get_image_size()[0])
            out[streams[c.get_label()]] = c.rescale(np.array([1408, 1408]), 1.0) if c.get_label() == "camera-rgb" and w != 1408 else c
    return out


def read_sequence(seq: str | Path, library: str | Path) -> Hot3dSequence:
    """Parse and check the ground truth of one HOT3D sequence (every problem raises :class:`SceneError`)."""
    seq, library = Path(seq), Path(library)
    vid = f"hot3d_{seq.name}"
    meta = read_json(vid, seq / "metadata.json")
    headset = meta.get("headset") if isinstance(meta, dict) else None
    if headset not in GRAVITY:
        raise SceneError(vid, str(seq / "metadata.json"), f"unknown headset {headset!r}; known: {sorted(GRAVITY)}")
    lib = read_json(vid, library / "instance.json")
    if not isinstance(lib, dict):
        raise SceneError(vid, str(library / "instance.json"), "must map object uids to instances")
    level = level_from_gravity(np.asarray(GRAVITY[headset]))
    dev, dev_pose = _poses(vid, seq / "headset_trajectory.csv")
    if dev["object_uid"].n_unique() != 1:
        raise SceneError(vid, str(seq / "headset_trajectory.csv"), "expected the trajectory of one headset")
    obj, obj_pose = _poses(vid, seq / "dynamic_objects.csv")
    unknown = sorted(set(obj["object_uid"].to_list()) - {int(k) for k in lib})
    if unknown:
        raise SceneError(vid, str(seq / "dynamic_objects.csv"), f"object uids {unknown[:5]} not in the object library {library / 'instance.json'}")
    uids = obj["object_uid"].to_numpy()
    cams = _quest_cameras(vid, seq / "camera_models.json") if headset == "Quest3" else _aria_cameras(vid, seq / "mps" / "slam" / "online_calibration.jsonl")
    return Hot3dSequence(
        video_id=vid, headset=headset, level=level, device_ts=dev["timestamp[ns]"].to_numpy(),
        world_from_device=level @ dev_pose,
        object_ts={int(u): obj["timestamp[ns]"].to_numpy()[uids == u] for u in np.unique(uids)},
        world_from_object={int(u): level @ obj_pose[uids == u] for u in np.unique(uids)},
        cameras=cams, names={int(u): str(lib[str(u)].get("instance_name", u)) for u in np.unique(uids)},
    )


def load_sequence(seq: str | Path, library: str | Path, source: str = "hot3d", options: dict[str, Any] | None = None,
                  models: str | Path | None = None) -> Scene:
    """:func:`open_sequence` with every frame decoded, rendered and checked (small sequences, tests)."""
    return in_memory(open_sequence(seq, library, source, options, models))


def open_sequence(seq: str | Path, library: str | Path, source: str = "hot3d", options: dict[str, Any] | None = None,
                  models: str | Path | None = None) -> Scene:
    """Open one HOT3D sequence as a :class:`Scene` whose frames are decoded and rendered when read (``write_scene``
    streams them); meshes from ``models`` (default: the object library folder)."""
    gt = read_sequence(seq, library)
    opts = {**OPTIONS, **selection_options("hot3d"), **(options or {})}
    opts["stream"] = str(opts["stream"] or DEFAULT_STREAM[gt.headset])
    vrs = Path(seq) / "recording.vrs"
    pinhole = Pinhole.from_options(gt.video_id, {**opts, "upright": bool(opts["upright"]) and gt.headset == "Aria"})
    rec = open_recording(gt.video_id, vrs, gt.headset, opts["stream"])
    if opts["stream"] not in gt.cameras:
        raise SceneError(gt.video_id, str(vrs), f"no calibration for stream {opts['stream']} (calibrated: {sorted(gt.cameras)})")
    meshes = load_meshes(gt.video_id, Path(models or library), sorted(gt.world_from_object))
    return build_scene(gt, vrs, rec, Rectifier(gt.cameras[opts["stream"]], pinhole), meshes, source, opts)
