"""Aria Digital Twin (ADT) adapter: one sequence directory -> a standard scene, through projectaria-tools.

Layout (SOURCES.md §D): ``<root>/<sequence>/`` with ``video.vrs`` (RGB stream 214-1 + device calibration),
``depth_images.vrs``, ``segmentations.vrs`` (or their ``*_with_skeleton`` variants), ``aria_trajectory.csv``,
``scene_objects.csv``, ``3d_bounding_box.csv``, ``2d_bounding_box.csv``, ``instances.json``, ``metadata.json``
(ADT 2.0). ADT 1.x (``dataset_version`` 1.0-1.2, or ``gt-metadata.json``): the sequence folder holds the metadata,
whose ``subtours`` name one folder ``<sequence>/<subtour_name>/`` per device with the files above; each subtour is
one video (named by its folder), read through ``get_datapaths_by_device_serial`` as projectaria-tools does.

The wearer's body (``*_with_skeleton`` files render the wearer's body proxy into depth and masks): it stays in the
depth (it does hide what is behind it) and becomes an object of its own, category ``camera wearer``, with **no
pose rows**: it is never visible to question generation (no pose, visible fraction 0), never a tracking query (a
query needs a posed object, or the background), and background queries elsewhere see it as an occluder. Removing
it from depth instead would make background points behind the body look visible to the tracks' depth test.

Conventions converted here:
- frames are the ground-truth frames (depth/segmentation records, device-capture clock, ns); each takes the RGB
  image within ``max_time_offset_ms`` (RGB frames outside the ground-truth span are dropped and counted);
- FISHEYE624 RGB, depth and masks -> the ``width`` x ``height`` pinhole of focal ``focal`` (:mod:`.aria`),
  turned upright; depth is uint16 millimetres of z depth (0 = none -> NaN);
- world: ADT scenes are y-up (gravity_world = (0, -9.81, 0)); the trajectory's gravity levels it to +z up;
- camera: world_from_cam = level @ T_scene_device @ T_device_camera (@ the upright turn); OpenCV axes;
- objects: segmentation values are instance uids (uint64) -> object_id 1..N over the objects seen in the
  rectified masks; pose origin moved to the centre of the object-local AABB; our +x front / +z up from
  ``canonical_pose`` (front_vector, up_vector); people other than the wearer are agents posed from skeleton joints;
- visible fraction: ADT's ``visibility_ratio`` (0..1) x the share of the object's raw pixels inside the pinhole view.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from fourdpqa.frame_store import FrameArray
from fourdpqa.scene import Scene, SceneError, SceneMeta, in_memory
from fourdpqa.sources import RawVideo, check_options
from fourdpqa.sources.adt_objects import ObjectTable, level_gravity
from fourdpqa.sources.aria import Pinhole, Rectifier, check_vrs, pinhole_cameras, projectaria, read_csv, read_json
from fourdpqa.sources.captions import fill_captions
from fourdpqa.sources.frame_plan import plan_frames, selection_options

if TYPE_CHECKING:
    from fourdpqa.params import SourceSpec

OPTIONS: dict[str, Any] = {
    "width": 512, "height": 512, "focal": 300.0, "upright": True, "stream": "214-1",
    "max_time_offset_ms": 2.0, "with_skeletons": True, "front_categories": [],
}
KNOWN_VERSIONS = {"1.0", "1.1", "1.2", "2.0"}
METADATA_FILES = ("metadata.json", "gt-metadata.json")  # the second: early ADT releases (kMetadataFileDeprecated)
TRAJECTORY_COLS = ["tracking_timestamp_us", "tx_world_device", "ty_world_device", "tz_world_device", "qx_world_device",
                   "qy_world_device", "qz_world_device", "qw_world_device", "gravity_x_world", "gravity_y_world", "gravity_z_world"]
OBJECT_COLS = ["object_uid", "timestamp[ns]", "t_wo_x[m]", "t_wo_y[m]", "t_wo_z[m]", "q_wo_w", "q_wo_x", "q_wo_y", "q_wo_z"]
BOX3D_COLS = ["object_uid", "timestamp[ns]"] + [f"p_local_obj_{a}{e}[m]" for a in "xyz" for e in ("min", "max")]
BOX2D_COLS = ["stream_id", "object_uid", "timestamp[ns]", "x_min[pixel]", "x_max[pixel]", "y_min[pixel]",
              "y_max[pixel]", "visibility_ratio[%]"]


def video_id_for(sequence_dir: Path) -> str:
    return "adt_" + re.sub(r"[^\w.\-]", "_", sequence_dir.name)


def list_sequences(root: str | Path) -> list[Path]:
    """Sequence directories: the sub-directories of ``root`` (names starting with '.' or '_' skipped)."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name[0] not in "._" and ".tmp-" not in p.name)


@dataclass(frozen=True)
class Recording:
    """One device's recording of a sequence: ADT 2.0 keeps it in the sequence folder; ADT 1.x in a subtour folder
    ``<sequence>/<subtour_name>/`` per device (metadata.json ``subtours``), as projectaria-tools'
    ``AriaDigitalTwinDataPathsProvider`` reads them."""

    sequence: Path  # the folder holding metadata.json
    folder: Path  # the folder holding the recording's files
    serial: str  # the recording device's serial ("" when the metadata names none)
    version: str


def recordings(seq: Path) -> list[Recording]:
    """The recordings of a sequence folder from its metadata (one for ADT 2.0, one per subtour for 1.x). A folder
    whose metadata cannot be read gives one recording of the folder itself, so that loading it names the problem."""
    meta_path = next((seq / n for n in METADATA_FILES if (seq / n).exists()), seq / METADATA_FILES[0])
    try:
        meta = json.loads(meta_path.read_text())
        version = str(meta.get("dataset_version", "1.0"))  # kDatasetVersionDefault
        if version >= "2.0":
            return [Recording(seq, seq, str(meta.get("serial", "")), version)]
        subtours = meta["subtours"].values()
        return sorted((Recording(seq, seq / str(t["subtour_name"]), str(t["device_serial"]), version) for t in subtours),
                      key=lambda r: r.serial)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return [Recording(seq, seq, "", "")]


def raw_videos(root: Path, spec: SourceSpec) -> list[RawVideo]:
    """One video per recording: per sequence (ADT 2.0) or per subtour (ADT 1.x, named by the subtour folder)."""
    opts = check_options(spec, OPTIONS)
    return [RawVideo(video_id_for(r.folder), spec.name, r.folder, partial(open_sequence, r.folder, spec.name, opts))
            for s in list_sequences(root) for r in recordings(s)]


def _variant(seq: Path, name: str, with_skeletons: bool) -> Path:
    """``name`` or its ``*_with_skeleton`` variant (``with_skeletons``: the recording has them, see
    :func:`check_sequence`; then all three are read, as projectaria-tools' skeleton flag does)."""
    return seq / name.replace(".", "_with_skeleton.", 1) if with_skeletons else seq / name


def sequence_of(folder: Path) -> Recording:
    """The recording whose files are in ``folder``: the folder itself (ADT 2.0, or a folder whose metadata is
    broken) or a subtour of its parent sequence (ADT 1.x)."""
    if not any((folder / n).exists() for n in METADATA_FILES):
        for r in recordings(folder.parent):
            if r.folder == folder:
                return r
    return recordings(folder)[0]


def check_sequence(vid: str, seq: Path, opts: dict[str, Any], rec: Recording | None = None) -> dict[str, Any]:
    """Validate every file the conversion reads before the C++ reader sees it; returns the parsed text files.
    ``seq`` is the folder holding the recording's files (``rec``: where its metadata lies)."""
    if not seq.is_dir():
        raise SceneError(vid, str(seq), "sequence directory missing")
    rec = rec or sequence_of(seq)
    meta_path = next((rec.sequence / n for n in METADATA_FILES if (rec.sequence / n).exists()), rec.sequence / METADATA_FILES[0])
    meta = read_json(vid, meta_path)
    version = str(meta.get("dataset_version", "1.0")) if isinstance(meta, dict) else None
    if version not in KNOWN_VERSIONS:
        raise SceneError(vid, str(meta_path), f"unknown dataset_version {version if isinstance(meta, dict) else meta!r}; known: {sorted(KNOWN_VERSIONS)}")
    if version < "2.0" and rec.folder == rec.sequence:
        raise SceneError(vid, str(meta_path), f"dataset_version {version} needs 'subtours' naming each device's "
                         "subtour folder ({device_serial, subtour_name})")
    if meta.get("gt_time_domain", "DEVICE_CAPTURE") != "DEVICE_CAPTURE":
        raise SceneError(vid, str(meta_path), f"gt_time_domain {meta['gt_time_domain']!r}; only DEVICE_CAPTURE is supported")
    meta = {**meta, "serial": rec.serial or str(meta.get("serial", ""))}
    instances = read_json(vid, seq / "instances.json")
    if not isinstance(instances, dict) or not all(isinstance(v, dict) and "category" in v and "instance_type" in v for v in instances.values()):
        raise SceneError(vid, str(seq / "instances.json"), "must map instance uids to objects with 'category' and 'instance_type'")
    skel = bool(opts["with_skeletons"]) and (seq / "segmentations_with_skeleton.vrs").exists()
    texts = {
        "meta": meta, "instances": instances, "with_skeletons": skel,
        "trajectory": read_csv(vid, seq / "aria_trajectory.csv", TRAJECTORY_COLS),
        "objects": read_csv(vid, seq / "scene_objects.csv", OBJECT_COLS),
        "box3d": read_csv(vid, seq / "3d_bounding_box.csv", BOX3D_COLS),
        "box2d": read_csv(vid, _variant(seq, "2d_bounding_box.csv", skel), BOX2D_COLS, schema_overrides={"stream_id": pl.Utf8}),
    }
    check_vrs(vid, seq / "video.vrs")
    counts = {}
    for name in ("depth_images.vrs", "segmentations.vrs"):
        path = _variant(seq, name, skel)
        check_vrs(vid, path)
        provider = projectaria().data_provider.create_vrs_data_provider(str(path))
        n = {provider.get_num_data(s) for s in provider.get_all_streams()}
        if len(n) != 1:
            raise SceneError(vid, str(path), f"streams hold different frame counts {sorted(n)} (truncated file?)")
        counts[path.name] = n.pop()
    if len(set(counts.values())) != 1:
        raise SceneError(vid, str(seq), f"depth and segmentation frame counts differ: {counts} (truncated file?)")
    texts["n_gt_frames"] = next(iter(counts.values()))
    texts["recording"] = rec
    return texts


def _provider(vid: str, rec: Recording, with_skeletons: bool) -> Any:
    from projectaria_tools.projects.adt import AriaDigitalTwinDataPathsProvider, AriaDigitalTwinDataProvider

    seq = rec.sequence
    try:
        provider = AriaDigitalTwinDataPathsProvider(str(seq))
        paths = provider.get_datapaths(with_skeletons) if rec.version >= "2.0" else \
            provider.get_datapaths_by_device_serial(rec.serial, with_skeletons)
        if paths is None:
            raise RuntimeError("projectaria-tools found no data paths")
        return AriaDigitalTwinDataProvider(paths)
    except RuntimeError as exc:
        raise SceneError(vid, str(seq), f"projectaria-tools cannot open the sequence: {exc}") from exc


def match_frames(vid: str, seq: Path, gt: Any, sid: Any, tol_ns: int, n_gt: int) -> tuple[list[int], list[int], int]:
    """(RGB timestamps, ground-truth timestamps) of the frames, and the number of RGB frames outside the
    ground truth. Every ground-truth frame must have its RGB image and every RGB frame inside the span its
    ground truth (a gap means a truncated or inconsistent recording)."""
    rgb_ts = list(gt.get_aria_device_capture_timestamps_ns(sid))
    pairs = []
    for t in rgb_ts:
        d = gt.get_depth_image_by_timestamp_ns(t, sid)
        if d.is_valid() and abs(d.dt_ns()) <= tol_ns:
            pairs.append((t, t + d.dt_ns()))
    if not pairs:
        raise SceneError(vid, str(seq / "depth_images.vrs"), f"no RGB frame has a depth frame within {tol_ns / 1e6} ms")
    inside = [t for t in rgb_ts if pairs[0][0] <= t <= pairs[-1][0]]
    if len(inside) != len(pairs) or len({g for _, g in pairs}) != n_gt:
        raise SceneError(vid, str(seq / "video.vrs"), f"{n_gt} ground-truth frames but {len(pairs)} RGB frames match one "
                         f"within {tol_ns / 1e6} ms ({len(inside)} RGB frames in that span): missing or truncated frames")
    return [p[0] for p in pairs], [p[1] for p in pairs], len(rgb_ts) - len(pairs)


def _at(vid: str, file: str, res: Any, tol_ns: int, what: str) -> Any:
    if not res.is_valid() or abs(res.dt_ns()) > tol_ns:
        raise SceneError(vid, file, f"no {what} within {tol_ns / 1e6} ms (dt {res.dt_ns() if res.is_valid() else 'none'} ns)")
    return res.data()


def load_sequence(seq: str | Path, source: str = "adt", options: dict[str, Any] | None = None) -> Scene:
    """:func:`open_sequence` with every frame decoded and checked (small sequences, tests)."""
    return in_memory(open_sequence(seq, source, options))


def open_sequence(seq: str | Path, source: str = "adt", options: dict[str, Any] | None = None) -> Scene:
    """Open one ADT sequence as a :class:`Scene` whose frames are decoded when read (``write_scene`` streams
    them): the frames are chosen from the timestamps (``frame_plan`` options), one pass over their segmentation
    finds the objects, and only the chosen frames are ever decoded."""
    seq, opts = Path(seq), {**OPTIONS, **selection_options("adt"), **(options or {})}
    vid = video_id_for(seq)
    pinhole = Pinhole.from_options(vid, opts)
    texts = check_sequence(vid, seq, opts)
    pa = projectaria()
    sid = pa.StreamId(str(opts["stream"]))
    tol = int(float(opts["max_time_offset_ms"]) * 1e6)
    gt = _provider(vid, texts["recording"], texts["with_skeletons"])
    rgb_ts, gt_ts, dropped = match_frames(vid, seq, gt, sid, tol, texts["n_gt_frames"])
    all_t = np.asarray(gt_ts, np.int64)
    plan = plan_frames(vid, (all_t - all_t[0]) / 1e9, opts)
    rgb_ts, gt_ts = [rgb_ts[i] for i in plan.frames], [gt_ts[i] for i in plan.frames]
    rect = Rectifier(gt.get_aria_camera_calibration(sid), pinhole)
    level = level_gravity(vid, seq / "aria_trajectory.csv", texts["trajectory"])
    table = ObjectTable(vid, seq, texts["instances"], str(texts["meta"].get("serial", "")), opts["front_categories"], level)

    def seg_raw(k: int) -> np.ndarray:
        s = _at(vid, "segmentations.vrs", gt.get_segmentation_image_by_timestamp_ns(gt_ts[k], sid), tol,
                f"segmentation at frame {k}")
        return s.to_numpy_array()

    coverage = rect.coverage()
    cams = []
    for k, tg in enumerate(gt_ts):  # the objects pass: ids, visibility and poses (no image kept)
        raw = seg_raw(k)
        table.add_frame(k, rect(raw, nearest=True), raw, coverage, gt, tg, sid, tol)
        pose = _at(vid, "aria_trajectory.csv", gt.get_aria_3d_pose_by_timestamp_ns(tg), tol, f"device pose at frame {k}")
        cams.append(level @ pose.transform_scene_device.to_matrix() @ rect.device_from_cam)
    objects, poses = table.finish()

    def rgb(k: int) -> np.ndarray:
        img = _at(vid, "video.vrs", gt.get_aria_image_by_timestamp_ns(rgb_ts[k], sid), tol, f"RGB image at frame {k}")
        return rect(img.to_numpy_array(), nearest=False)

    def depth(k: int) -> np.ndarray:
        d = _at(vid, "depth_images.vrs", gt.get_depth_image_by_timestamp_ns(gt_ts[k], sid), 0, f"depth at frame {k}")
        mm = rect(d.to_numpy_array(), nearest=True)
        return np.where(mm > 0, mm.astype(np.float32) / 1000.0, np.nan).astype(np.float32)

    t = np.asarray(gt_ts, np.int64)
    times = (t - all_t[0]) / 1e9
    n, hw = len(t), (pinhole.height, pinhole.width)
    frames = (FrameArray(n, (*hw, 3), np.uint8, rgb), FrameArray(n, hw, np.float32, depth),
              FrameArray(n, hw, np.uint16, lambda k: table.instance_ids(rect(seg_raw(k), nearest=True))))
    objects = fill_captions(objects, frames[0], frames[2], frames[1])
    fps = (len(all_t) - 1) / ((all_t[-1] - all_t[0]) / 1e9) / plan.stride if len(all_t) > 1 and all_t[-1] > all_t[0] else 30.0
    cameras = pinhole_cameras(rect.k, np.stack(cams), times)
    meta = SceneMeta(video_id=vid, source=source, fps=float(fps), width=pinhole.width, height=pinhole.height, n_frames=n,
                     extra={"raw_format": "adt", "scene": str(texts["meta"].get("scene", "")), "stream": str(opts["stream"]),
                            "timestamps_ns": t.tolist(), "rgb_timestamps_ns": list(map(int, rgb_ts)),
                            "rgb_frames_without_ground_truth": dropped, "with_skeletons": texts["with_skeletons"],
                            "wearer": table.wearer, "raw_depth_kind": "z", "raw_world": "y_up", **plan.extra()})
    return Scene(meta, *frames, cameras, objects, poses)
