"""Virtual KITTI 2 adapter: one ``SceneXX/<variation>`` sequence and camera -> a standard scene.

Conventions converted here (SOURCES.md §A): depth is uint16 PNG in centimetres (65535 = sky -> NaN), z depth;
``extrinsic.txt`` rows are world->camera 4x4 with OpenCV camera axes; the world axes are undocumented, so the
world is re-levelled to +z up using the mean camera "up" direction (-y of a car-mounted camera); instance PNGs
are palette images whose index is trackID + 1; ``pose.txt`` gives each object's KITTI-style box (location at
the bottom-face centre, dimensions width/height/length, rotation R = Ry·Rx·Rz in camera space).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import polars as pl
from PIL import Image

from fourdpqa import geometry
from fourdpqa.frame_store import FrameArray
from fourdpqa.scene import Scene, SceneError, SceneMeta, in_memory
from fourdpqa.sources import RawVideo, check_options
from fourdpqa.sources.captions import fill_captions
from fourdpqa.sources.frame_plan import plan_frames, selection_options

if TYPE_CHECKING:
    from fourdpqa.params import SourceSpec

FPS = 10.0  # VKITTI2 renders at 10 Hz (KITTI tracking frame rate)
SKY_CM = 65535
# Our object frame (+x front, +y left, +z up) expressed in the KITTI object frame (x length, y down, z width).
KITTI_FROM_OURS = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def video_id_for(sequence_dir: Path, camera: int) -> str:
    return f"vkitti2_{sequence_dir.parent.name}_{sequence_dir.name}_cam{camera}"


def list_sequences(root: str | Path) -> list[Path]:
    """Sequence directories (those holding ``extrinsic.txt``) under ``root``, sorted."""
    return sorted(p.parent for p in Path(root).glob("*/*/extrinsic.txt"))


def raw_videos(root: Path, spec: SourceSpec) -> list[RawVideo]:
    """Camera 0 of every sequence under ``root`` (``SceneXX/<variation>`` holding ``extrinsic.txt``)."""
    opts = check_options(spec, {})
    return [RawVideo(video_id_for(seq, 0), spec.name, seq, partial(open_sequence, seq, 0, spec.name, opts))
            for seq in list_sequences(root)]


# columns each table must have (space-separated, header first), as the VKITTI2 README lists them
COLUMNS = {
    "intrinsic.txt": ["frame", "cameraID", "K[0,0]", "K[1,1]", "K[0,2]", "K[1,2]"],
    "extrinsic.txt": ["frame", "cameraID"],
    "pose.txt": ["frame", "cameraID", "trackID", "width", "height", "length", "camera_space_X", "camera_space_Y",
                 "camera_space_Z", "rotation_camera_space_y", "rotation_camera_space_x", "rotation_camera_space_z"],
    "bbox.txt": ["frame", "cameraID", "trackID", "truncation_ratio", "occupancy_ratio", "isMoving"],
    "info.txt": ["trackID", "label", "model", "color"],
}
TEXT_COLUMNS = {"label", "model", "color", "isMoving"}


def _table(path: Path, video_id: str) -> pl.DataFrame:
    """One VKITTI2 text table with its columns checked: a missing or renamed column, a comma-separated file, a
    non-numeric value or a table without rows is refused naming the file."""
    if not path.exists():
        raise SceneError(video_id, str(path), "missing file")
    try:
        df = pl.read_csv(path, separator=" ", has_header=True)
    except Exception as exc:  # noqa: BLE001 - any parse failure is a bad file
        raise SceneError(video_id, str(path), f"unreadable table: {exc}") from exc
    want = COLUMNS[path.name]
    if df.width == 1 and "," in df.columns[0] and len(want) > 1:
        raise SceneError(video_id, str(path), f"comma-separated header {df.columns[0]!r}: VKITTI2 tables are "
                         "space-separated")
    missing = [c for c in want if c not in df.columns]
    if missing:
        raise SceneError(video_id, str(path), f"missing or renamed columns {missing}; header: {df.columns}")
    if path.name == "extrinsic.txt" and df.width != 18:
        raise SceneError(video_id, str(path), f"{df.width} columns, expected frame, cameraID and 16 matrix entries")
    if df.height == 0:
        raise SceneError(video_id, str(path), "the table has a header but no rows")
    numeric = [c for c in df.columns if c not in TEXT_COLUMNS]
    bad = [c for c in numeric if not df.schema[c].is_numeric()]
    if bad:
        raise SceneError(video_id, str(path), f"non-numeric values in columns {bad[:5]}")
    return df


def euler_yxz(ry: np.ndarray, rx: np.ndarray, rz: np.ndarray) -> np.ndarray:
    """R = Ry(ry) · Rx(rx) · Rz(rz) for arrays of angles (N,) -> (N, 3, 3)."""
    def rot(axis: int, a: np.ndarray) -> np.ndarray:
        c, s = np.cos(a), np.sin(a)
        m = np.tile(np.eye(3), (len(a), 1, 1))
        i, j = [(1, 2), (0, 2), (0, 1)][axis]
        m[:, i, i], m[:, j, j] = c, c
        m[:, i, j], m[:, j, i] = (-s, s) if axis != 1 else (s, -s)
        return m
    return rot(1, ry) @ rot(0, rx) @ rot(2, rz)


def _read_image(path: Path, video_id: str, flags: int) -> np.ndarray:
    if not path.exists():
        raise SceneError(video_id, str(path), "missing frame")
    img = cv2.imread(str(path), flags)
    if img is None:
        raise SceneError(video_id, str(path), "unreadable or truncated image")
    return img


def load_sequence(sequence_dir: str | Path, camera: int = 0, source: str = "vkitti2",
                  options: dict[str, Any] | None = None) -> Scene:
    """:func:`open_sequence` with every frame decoded and checked (small sequences, tests)."""
    return in_memory(open_sequence(sequence_dir, camera, source, options))


def open_sequence(sequence_dir: str | Path, camera: int = 0, source: str = "vkitti2",
                  options: dict[str, Any] | None = None) -> Scene:
    """Open one VKITTI2 sequence/camera as a :class:`Scene` whose frames are decoded when read (``write_scene``
    streams them); only the frames the ``frame_plan`` options keep are decoded."""
    seq = Path(sequence_dir)
    vid = video_id_for(seq, camera)
    opts = {**selection_options("vkitti2"), **(options or {})}
    intr = _table(seq / "intrinsic.txt", vid).filter(pl.col("cameraID") == camera).sort("frame")
    extr = _table(seq / "extrinsic.txt", vid).filter(pl.col("cameraID") == camera).sort("frame")
    frames = extr["frame"].to_numpy()
    if len(frames) == 0:
        raise SceneError(vid, "extrinsic.txt", f"no rows for camera {camera}")
    if not np.array_equal(frames, np.arange(len(frames))) or not np.array_equal(intr["frame"].to_numpy(), frames):
        raise SceneError(vid, "extrinsic.txt", "frames must run 0..T-1 once each in intrinsic.txt and extrinsic.txt")
    focal = intr.select("K[0,0]", "K[1,1]").to_numpy()
    if not (np.isfinite(focal).all() and (focal > 0).all()):
        raise SceneError(vid, "intrinsic.txt", f"focal lengths fx, fy must be positive, got rows {focal[~(focal > 0).all(1)][:5].tolist()}")
    cam_from_world = extr.select(extr.columns[2:18]).to_numpy().astype(np.float64).reshape(-1, 4, 4)
    level = np.eye(4)
    world_from_cam_src = geometry.invert_pose(cam_from_world)
    level[:3, :3] = geometry.level_rotation(-world_from_cam_src[:, :3, 1].mean(axis=0))  # mean camera up
    plan = plan_frames(vid, frames / FPS, opts)
    src = frames[plan.frames]
    world_from_cam = (level @ world_from_cam_src)[plan.frames]
    intr = intr[plan.frames.tolist()]
    cams_dir, t = seq / "frames", len(src)
    depth_dir = cams_dir / "depth" / f"Camera_{camera}"

    def rgb(j: int) -> np.ndarray:
        p = cams_dir / "rgb" / f"Camera_{camera}" / f"rgb_{src[j]:05d}.jpg"
        return cv2.cvtColor(_read_image(p, vid, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)

    def depth(j: int) -> np.ndarray:
        d = _read_image(depth_dir / f"depth_{src[j]:05d}.png", vid, cv2.IMREAD_ANYDEPTH)
        if d.dtype != np.uint16:
            raise SceneError(vid, f"depth_{src[j]:05d}.png", f"expected uint16 centimetres, got {d.dtype}")
        return np.where(d >= SKY_CM, np.nan, d.astype(np.float32) / 100.0).astype(np.float32)

    def inst(j: int) -> np.ndarray:
        ip = cams_dir / "instanceSegmentation" / f"Camera_{camera}" / f"instancegt_{src[j]:05d}.png"
        if not ip.exists():
            raise SceneError(vid, str(ip), "missing frame")
        try:
            return np.array(Image.open(ip)).astype(np.uint16)  # palette indices = trackID + 1
        except OSError as exc:
            raise SceneError(vid, str(ip), f"unreadable instance PNG: {exc}") from exc

    h, w = depth(0).shape
    q, tr = geometry.matrix_to_quat(world_from_cam[:, :3, :3]), world_from_cam[:, :3, 3]
    cameras = pl.DataFrame({
        "frame": np.arange(t, dtype=np.int64), "time_s": src / FPS,
        "fx": intr["K[0,0]"].cast(pl.Float64), "fy": intr["K[1,1]"].cast(pl.Float64),
        "cx": intr["K[0,2]"].cast(pl.Float64), "cy": intr["K[1,2]"].cast(pl.Float64),
        "qw": q[:, 0], "qx": q[:, 1], "qy": q[:, 2], "qz": q[:, 3], "tx": tr[:, 0], "ty": tr[:, 1], "tz": tr[:, 2],
    })
    objects, poses = _objects(seq, vid, camera, world_from_cam, src, len(frames))
    frames_ = (FrameArray(t, (h, w, 3), np.uint8, rgb), FrameArray(t, (h, w), np.float32, depth),
               FrameArray(t, (h, w), np.uint16, inst))
    objects = fill_captions(objects, frames_[0], frames_[2], frames_[1], colours=objects["color"].to_list())  # the dataset's colour words
    meta = SceneMeta(video_id=vid, source=source, fps=FPS / plan.stride, width=w, height=h, n_frames=t,
                     extra={"sequence": str(seq.name), "scene": seq.parent.name, "camera": camera,
                            "depth_file": str(depth_dir / "depth_*.png"), **plan.extra()})
    return Scene(meta, *frames_, cameras, objects, poses)


def _objects(seq: Path, vid: str, camera: int, world_from_cam: np.ndarray, src: np.ndarray,
             n_total: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(objects, object_poses) of the kept frames ``src`` (source frame numbers of a sequence of ``n_total``
    frames; ``world_from_cam`` per kept frame)."""
    pose = _table(seq / "pose.txt", vid).filter(pl.col("cameraID") == camera).sort("trackID", "frame")
    info = _table(seq / "info.txt", vid).sort("trackID")
    bbox = _table(seq / "bbox.txt", vid).filter(pl.col("cameraID") == camera)
    f = pose["frame"].to_numpy()
    if len(f) and f.max() >= n_total:
        raise SceneError(vid, "pose.txt", f"object pose for frame {int(f.max())}, which does not exist")
    pose = pose.filter(pl.col("frame").is_in(src.tolist()))
    bbox = bbox.filter(pl.col("frame").is_in(src.tolist()))
    position = {int(v): i for i, v in enumerate(src.tolist())}
    f = np.array([position[int(v)] for v in pose["frame"].to_list()], np.int64)
    bbox = bbox.with_columns(pl.col("frame").replace_strict(position, return_dtype=pl.Int64))
    loc = pose.select("camera_space_X", "camera_space_Y", "camera_space_Z").to_numpy().astype(np.float64)
    r_cam_kitti = euler_yxz(*(pose[c].to_numpy().astype(np.float64) for c in
                               ("rotation_camera_space_y", "rotation_camera_space_x", "rotation_camera_space_z")))
    height = pose["height"].to_numpy().astype(np.float64)
    centre_cam = loc + (r_cam_kitti @ np.stack([np.zeros_like(height), -height / 2, np.zeros_like(height)], -1)[..., None])[..., 0]
    cam_from_obj = geometry.pose_matrix(r_cam_kitti @ KITTI_FROM_OURS, centre_cam)
    world_from_obj = world_from_cam[f] @ cam_from_obj
    q = geometry.matrix_to_quat(world_from_obj[:, :3, :3])
    vis = bbox.select("frame", "trackID", "truncation_ratio", "occupancy_ratio", "isMoving")
    poses = (
        pl.DataFrame({"frame": f.astype(np.int64), "trackID": pose["trackID"], "qw": q[:, 0], "qx": q[:, 1],
                      "qy": q[:, 2], "qz": q[:, 3], "tx": world_from_obj[:, 0, 3], "ty": world_from_obj[:, 1, 3],
                      "tz": world_from_obj[:, 2, 3]})
        .join(vis, on=["frame", "trackID"], how="left")
        .with_columns(
            # occupancy = non-occluded share of the object, truncation = share outside the image [inferred, VKITTI1 readme]
            ((1 - pl.col("truncation_ratio").fill_null(1.0)) * pl.col("occupancy_ratio").fill_null(0.0))
            .clip(0.0, 1.0).cast(pl.Float64).alias("visible_fraction"),
            (pl.col("trackID") + 1).cast(pl.Int64).alias("object_id"),
        )
    )
    moving = poses.group_by("object_id").agg(pl.col("isMoving").cast(pl.Utf8).eq("True").any().alias("is_dynamic"))
    dims = pose.group_by("trackID").agg(pl.col("width").first(), pl.col("height").first(), pl.col("length").first())
    objects = (
        info.join(dims, on="trackID", how="inner")
        .with_columns((pl.col("trackID") + 1).cast(pl.Int64).alias("object_id"))
        .join(moving, on="object_id", how="left")
    )
    objects = objects.select(
        "object_id",
        pl.col("label").str.to_lowercase().alias("category"),
        pl.lit("").alias("caption"),
        pl.col("length").cast(pl.Float64).alias("size_l"),
        pl.col("width").cast(pl.Float64).alias("size_w"),
        pl.col("height").cast(pl.Float64).alias("size_h"),
        pl.lit(True).alias("has_front"),
        pl.col("is_dynamic").fill_null(False),
        pl.col("color").str.to_lowercase().alias("color"),
    )
    poses = poses.select("frame", "object_id", "qw", "qx", "qy", "qz", "tx", "ty", "tz", "visible_fraction")
    return objects, poses
