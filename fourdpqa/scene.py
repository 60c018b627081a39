"""The standard scene format: one directory per video (docs/DESIGN.md "Standard scene").

::

    <scene_dir>/scene.json          metadata (source, video_id, fps, width, height, n_frames, conventions)
    <scene_dir>/rgb/00000.png ...   RGB frames, 0-based, 5-digit
    <scene_dir>/depth.npy           float32 (T, H, W) z depth in metres; NaN/inf = invalid
    <scene_dir>/instances.npy       uint16 (T, H, W); 0 = background, k = objects.object_id k
    <scene_dir>/cameras.parquet     schemas.scene.CameraSchema
    <scene_dir>/objects.parquet     schemas.scene.ObjectSchema
    <scene_dir>/object_poses.parquet schemas.scene.ObjectPoseSchema
    <scene_dir>/checked.json        the video id, SHA-256 of scene.json and of the three tables, and of the scene
                                    schema code they passed when written

Every reader validates; every failure raises :class:`SceneError` naming the video, the file and the problem.
A reader skips only the schema (pandera) checks of tables whose bytes still match ``checked.json`` under the same
schema code (they passed them when written; re-running pandera was the largest cost of reading a scene); any edit
of a table, or of the schema, brings them back. The record binds the tables to the video: tables (or a
``checked.json``) copied from another video, or edited after the scene was written, are refused naming
``checked.json`` (rerun standardize; delete the record to accept a hand edit, which then gets every check). Shapes,
values (positive focal lengths, increasing times, ...) and cross-table checks always run.

Frames are never loaded as a whole: :func:`read_scene` gives ``rgb``, ``depth`` and ``instances`` as
:class:`fourdpqa.frame_store.FrameArray` (indexed like arrays, read one frame at a time on demand, values checked
per frame when first read; ``fourdpqa.scene_frames``), and :func:`write_scene` streams a scene's frames one by one
through :class:`fourdpqa.scene_frames.SceneWriter`, so a scene of any length is read and written in memory bounded
by a few frames. The files are unchanged: ``depth.npy`` / ``instances.npy`` are ordinary ``(T, H, W)`` arrays.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import pandera.errors
import polars as pl

from fourdpqa import fingerprint, geometry
from fourdpqa.frame_store import FrameArray
from fourdpqa.scene_meta import CHECKED, SceneError, SceneMeta  # defined below scene_frames; part of this API
from schemas.scene import CameraSchema, ObjectPoseSchema, ObjectSchema

TABLES = {"cameras": CameraSchema, "objects": ObjectSchema, "object_poses": ObjectPoseSchema}
ROTATION_TOL = 1e-3


@dataclass
class Scene:
    """A standardized 4D video. Arrays are indexed by frame first: NumPy arrays, or :class:`FrameArray` frames read
    on demand (a stored scene, an adapter decoding frames as they are written)."""

    meta: SceneMeta
    rgb: np.ndarray | FrameArray  # (T, H, W, 3) uint8
    depth: np.ndarray | FrameArray  # (T, H, W) float32, z depth in metres, NaN = invalid
    instances: np.ndarray | FrameArray  # (T, H, W) uint16, 0 = background
    cameras: pl.DataFrame  # CameraSchema, sorted by frame
    objects: pl.DataFrame  # ObjectSchema, sorted by object_id
    object_poses: pl.DataFrame  # ObjectPoseSchema, sorted by (object_id, frame)

    @property
    def video_id(self) -> str:
        return self.meta.video_id

    @cached_property
    def intrinsics(self) -> np.ndarray:
        """(T, 3, 3) float64 OpenCV K per frame."""
        c = self.cameras
        return geometry.intrinsics_matrix(*(c[k].to_numpy().astype(np.float64) for k in ("fx", "fy", "cx", "cy")))

    @cached_property
    def world_from_cam(self) -> np.ndarray:
        """(T, 4, 4) float64 camera-to-world poses, OpenCV camera axes."""
        c = self.cameras
        q = c.select("qw", "qx", "qy", "qz").to_numpy().astype(np.float64)
        t = c.select("tx", "ty", "tz").to_numpy().astype(np.float64)
        return geometry.pose_matrix(q, t)

    @cached_property
    def object_ids(self) -> list[int]:
        return self.objects["object_id"].to_list()

    @cached_property
    def world_from_object(self) -> np.ndarray:
        """(O, T, 4, 4) float64 object-to-world poses in ``object_ids`` order; NaN where a pose is missing."""
        n_obj, n_t = len(self.object_ids), self.meta.n_frames
        out = np.full((n_obj, n_t, 4, 4), np.nan)
        index = {oid: i for i, oid in enumerate(self.object_ids)}
        p = self.object_poses
        if p.height:
            oi = np.array([index[o] for o in p["object_id"].to_list()])
            fr = p["frame"].to_numpy()
            q = p.select("qw", "qx", "qy", "qz").to_numpy().astype(np.float64)
            t = p.select("tx", "ty", "tz").to_numpy().astype(np.float64)
            out[oi, fr] = geometry.pose_matrix(q, t)
        return out

    def pixel_counts(self, frames: np.ndarray) -> np.ndarray:
        """(O, T) int64 visible pixels of each object (``object_ids`` order) in each of ``frames`` (T,) frame
        indices: one bincount per frame, kept on the scene, so the QA clips, the answer-consistency check and the
        oracle predictor asking about the same frames index a table instead of scanning frames again."""
        ids = np.asarray(self.object_ids, dtype=np.int64)
        cache: dict[int, np.ndarray] = self.__dict__.setdefault("_pixel_counts", {})
        bins = int(ids.max()) + 1 if len(ids) else 1
        for f in frames.tolist():
            if f not in cache:
                cache[f] = np.bincount(self.instances[f].ravel(), minlength=bins)[ids].astype(np.int64)
        return np.stack([cache[f] for f in frames.tolist()], axis=1) if len(frames) else np.zeros((len(ids), 0), np.int64)

    @cached_property
    def visible_fraction(self) -> np.ndarray:
        """(O, T) float64 visible fraction per object and frame (0 where no pose row exists)."""
        out = np.zeros((len(self.object_ids), self.meta.n_frames))
        index = {oid: i for i, oid in enumerate(self.object_ids)}
        p = self.object_poses
        if p.height:
            oi = np.array([index[o] for o in p["object_id"].to_list()])
            out[oi, p["frame"].to_numpy()] = p["visible_fraction"].to_numpy()
        return out

    def object_row(self, object_id: int) -> dict:
        """The objects.parquet row of ``object_id``: an indexed lookup (question generation asks it per reference),
        rebuilt when ``objects`` is replaced."""
        cached = self.__dict__.get("_object_rows")
        if cached is None or cached[0] is not self.objects:
            cached = (self.objects, {int(r["object_id"]): r for r in self.objects.iter_rows(named=True)})
            self.__dict__["_object_rows"] = cached
        try:
            return dict(cached[1][int(object_id)])
        except KeyError:
            raise IndexError(f"video {self.video_id!r}: object {object_id} not in objects.parquet") from None


def in_memory(scene: Scene) -> Scene:
    """``scene`` with every frame read into NumPy arrays and all values checked (small scenes and tests; stages
    stream frames instead)."""
    out = replace(scene, rgb=np.asarray(scene.rgb), depth=np.asarray(scene.depth), instances=np.asarray(scene.instances))
    validate_scene(out)
    return out


# ----------------------------------------------------------------------------------------------------------- write


def write_scene(scene: Scene, scene_dir: str | Path) -> Path:
    """Validate then write ``scene`` as one directory, atomically replacing any previous version. Frames are
    streamed one at a time (each checked as it is written), so lazily decoded frames are never all in memory."""
    from fourdpqa.scene_frames import SceneWriter

    validate_scene(scene, check_values=False)
    with SceneWriter(scene_dir, scene.meta, set(scene.object_ids)) as w:
        for i in range(scene.meta.n_frames):
            w.add(scene.rgb[i], scene.depth[i], scene.instances[i])
        return w.finish(scene.cameras, scene.objects, scene.object_poses, _checked_record)


@functools.cache
def _schema_digest() -> str:
    """Digest of the scene schema code (``schemas.scene`` and what it imports): a changed schema re-checks tables."""
    return fingerprint.code_digest(["schemas.scene"])


def _checked_record(scene_dir: Path) -> dict:
    meta = json.loads((scene_dir / "scene.json").read_text())
    return {"video_id": meta.get("video_id"), "schema": _schema_digest(),
            "scene.json": fingerprint.file_digest(scene_dir / "scene.json"),
            "tables": {f"{name}.parquet": fingerprint.file_digest(scene_dir / f"{name}.parquet") for name in TABLES}}


def _checked_state(scene_dir: Path) -> tuple[bool, str | None]:
    """(tables known to pass the schema, why the scene's files are not the ones its ``checked.json`` was written
    for). No or an unreadable record: schema checks, nothing refused; another schema code: schema checks only."""
    try:
        recorded = json.loads((scene_dir / CHECKED).read_text())
        current = _checked_record(scene_dir)
    except (OSError, ValueError):
        return False, None
    if not isinstance(recorded, dict):
        return False, None
    differ = [k for k in ("video_id", "scene.json") if recorded.get(k) != current[k]]
    differ += [f for f, d in current["tables"].items() if (recorded.get("tables") or {}).get(f) != d]
    if differ:
        return False, (f"{', '.join(differ)} differ from what was written for video {recorded.get('video_id')!r} "
                       "(copied from another video or edited afterwards); rerun standardize")
    return recorded.get("schema") == current["schema"], None


# ------------------------------------------------------------------------------------------------------------ read


def read_meta(scene_dir: str | Path) -> SceneMeta:
    scene_dir = Path(scene_dir)
    vid = scene_dir.name
    path = scene_dir / "scene.json"
    if not path.exists():
        raise SceneError(vid, "scene.json", "missing file")
    try:
        raw = json.loads(path.read_text())
        return SceneMeta(**raw)
    except (json.JSONDecodeError, TypeError) as exc:
        raise SceneError(vid, "scene.json", f"unreadable metadata: {exc}") from exc


def read_scene(scene_dir: str | Path, *, with_rgb: bool = True) -> Scene:
    """Open and validate a scene directory: tables loaded and checked, frames read on demand (module docstring).
    ``with_rgb=True`` also checks that every frame's PNG is present and complete (no decoding)."""
    from fourdpqa.scene_frames import FrameChecks, check_pngs, rgb_frames, volume

    scene_dir = Path(scene_dir)
    meta = read_meta(scene_dir)
    vid = meta.video_id
    tables = {}
    for name in TABLES:
        p = scene_dir / f"{name}.parquet"
        if not p.exists():
            raise SceneError(vid, p.name, "missing table")
        try:
            tables[name] = pl.read_parquet(p)
        except Exception as exc:
            raise SceneError(vid, p.name, f"unreadable parquet: {exc}") from exc
    checks = FrameChecks(meta, set(tables["objects"]["object_id"].to_list()))
    instances = volume(scene_dir, meta, "instances", checks)
    depth = volume(scene_dir, meta, "depth", checks, instances_of=instances)
    if with_rgb:
        check_pngs(scene_dir, meta)
    scene = Scene(
        meta=meta,
        rgb=rgb_frames(scene_dir, meta),
        depth=depth,
        instances=instances,
        cameras=tables["cameras"].sort("frame"),
        objects=tables["objects"].sort("object_id"),
        object_poses=tables["object_poses"].sort("object_id", "frame"),
    )
    checked, foreign = _checked_state(scene_dir)
    validate_scene(scene, check_rgb=with_rgb, check_schemas=not checked)
    if foreign:
        raise SceneError(vid, CHECKED, foreign)
    return scene


def read_frames(scene_dir: str | Path, meta: SceneMeta, indices: list[int] | None = None) -> np.ndarray:
    """(K, H, W, 3) uint8 RGB frames ``indices`` (default all) of a scene, decoding only those PNGs."""
    from fourdpqa.scene_frames import decode_png

    frames = [decode_png(Path(scene_dir), meta, i) for i in (range(meta.n_frames) if indices is None else indices)]
    return np.stack(frames) if frames else np.zeros((0, meta.height, meta.width, 3), np.uint8)


# -------------------------------------------------------------------------------------------------------- validate


def validate_scene(scene: Scene, *, check_rgb: bool = True, check_schemas: bool = True,
                   check_values: bool = True) -> None:
    """Raise :class:`SceneError` on the first problem found (table schema, shapes, dtypes, poses, indices).
    ``check_schemas=False``: tables known to have passed the schema checks (see the module docstring). Depth and
    instance values are checked here for NumPy arrays (``check_values``); frames read on demand check their own
    values when read (``fourdpqa.scene_frames.FrameChecks``)."""
    m = scene.meta
    vid = m.video_id
    t, h, w = m.n_frames, m.height, m.width
    if t < 1:
        raise SceneError(vid, "scene.json", "empty video (n_frames < 1)")
    if m.depth_kind != "z" or m.camera_convention != "opencv" or m.world != "z_up":
        raise SceneError(vid, "scene.json", "standard scenes must use z depth, OpenCV cameras and a z-up world")
    for name, schema in TABLES.items() if check_schemas else ():
        _check_table(vid, name, getattr(scene, name), schema)
    cams = scene.cameras
    frames = cams["frame"].to_numpy()
    if len(frames) != t or not np.array_equal(np.sort(frames), np.arange(t)):
        raise SceneError(vid, "cameras.parquet", f"frames must be exactly 0..{t - 1} once each, got {len(frames)} rows")
    _check_finite(vid, "cameras.parquet", cams)
    _check_camera_values(vid, cams)
    poses = scene.object_poses
    _check_finite(vid, "object_poses.parquet", poses)
    bad_frames = poses.filter(pl.col("frame") >= t)
    if bad_frames.height:
        raise SceneError(vid, "object_poses.parquet", f"pose rows for frames that do not exist: {_rows(bad_frames)}")
    known = set(scene.objects["object_id"].to_list())
    unknown = poses.filter(~pl.col("object_id").is_in(list(known)))
    if unknown.height:
        raise SceneError(vid, "object_poses.parquet", f"poses of objects not in objects.parquet: {_rows(unknown)}")
    for name, table in (("cameras.parquet", cams), ("object_poses.parquet", poses)):
        if table.height:
            r = geometry.quat_to_matrix(table.select("qw", "qx", "qy", "qz").to_numpy().astype(np.float64))
            err = geometry.rotation_error(r)
            if (err > ROTATION_TOL).any():
                raise SceneError(vid, name, f"non-orthonormal rotation in rows {np.flatnonzero(err > ROTATION_TOL)[:10].tolist()}")
    _check_array(vid, "depth.npy", scene.depth, (t, h, w), np.float32)
    _check_array(vid, "instances.npy", scene.instances, (t, h, w), np.uint16)
    if check_values:
        _check_array_values(scene, known)
    if check_rgb:
        _check_array(vid, "rgb/", scene.rgb, (t, h, w, 3), np.uint8)


def _check_array_values(scene: Scene, known: set[int]) -> None:
    """Depth and instance values. The exact scans (a masked copy of the depth, a bincount of the ids) run only when
    a cheap reduction (the NaN-ignoring minimum depth, the largest id) cannot rule the problem out: together they
    were most of the cost of reading a valid scene. Only NumPy arrays are scanned here: frames read on demand check
    their values as they are read."""
    vid, d, inst = scene.video_id, scene.depth, scene.instances
    if isinstance(inst, np.ndarray):
        _check_ids(vid, inst, known)
    if not isinstance(d, np.ndarray):
        return
    lowest = np.fmin.reduce(d, axis=None) if d.size else 0.0  # NaN only if every value is NaN
    if not lowest >= 0 and np.any(d[np.isfinite(d)] < 0):
        raise SceneError(vid, "depth.npy", "negative depth values")
    if scene.meta.extra.get("depth_coverage") == "objects":  # depth rendered from object meshes only (HOT3D)
        if not np.array_equal(np.isfinite(d), np.asarray(inst) > 0):
            raise SceneError(vid, "depth.npy", "depth_coverage 'objects': depth must be valid exactly on object pixels")
    else:
        no_valid = ~np.isfinite(d).reshape(len(d), -1).any(axis=1)
        if no_valid.any():
            raise SceneError(vid, "depth.npy", f"frames without any valid depth: {np.flatnonzero(no_valid)[:10].tolist()}")


def _check_ids(vid: str, inst: np.ndarray, known: set[int]) -> None:
    top = int(inst.max()) if inst.size else 0
    if known.issuperset(range(1, top + 1)):  # every id up to the largest present has an object row
        return
    ids = np.flatnonzero(np.bincount(inst.ravel()))  # ids present (uint16: a bincount beats a sort)
    stray = sorted(set(ids.tolist()) - known - {0})
    if stray:
        raise SceneError(vid, "instances.npy", f"instance ids without an object row: {stray[:10]}")


def _check_camera_values(vid: str, cams: pl.DataFrame) -> None:
    """The camera values a schema check skipped for a recorded table must still hold: positive focal lengths and
    non-negative times increasing with the frame."""
    cams = cams.sort("frame")
    for col in ("fx", "fy"):
        bad = np.flatnonzero(~(cams[col].to_numpy() > 0))
        if bad.size:
            raise SceneError(vid, "cameras.parquet", f"{col} must be positive (focal length in pixels); rows {bad[:10].tolist()}")
    times = cams["time_s"].to_numpy()
    if times.size and (not times[0] >= 0 or not (np.diff(times) > 0).all()):
        bad = np.flatnonzero(~(np.diff(times) > 0))
        raise SceneError(vid, "cameras.parquet", f"time_s must be >= 0 and increase with the frame; first bad step "
                         f"after rows {bad[:10].tolist()} (times {times[:3].tolist()}...)")


def _check_table(vid: str, name: str, df: pl.DataFrame, schema: type) -> None:
    try:
        schema.validate(df, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        rows = exc.failure_cases.head(10).to_dicts()
        lines = [f"row {r.get('index')}: {r.get('column')} failed {r.get('check')} ({r.get('failure_case')})" for r in rows]
        raise SceneError(vid, f"{name}.parquet", "schema violations: " + "; ".join(lines)) from exc
    except pandera.errors.SchemaError as exc:
        raise SceneError(vid, f"{name}.parquet", f"schema violation: {exc}") from exc


def _check_finite(vid: str, file: str, df: pl.DataFrame) -> None:
    num = df.select(pl.col(pl.Float64, pl.Float32))
    if not num.width:
        return
    bad = df.with_row_index("row").filter(~pl.all_horizontal(pl.col(num.columns).is_finite()))
    if bad.height:
        raise SceneError(vid, file, f"NaN/inf values in rows {bad['row'].head(10).to_list()}")


def _check_array(vid: str, file: str, a: np.ndarray | FrameArray, shape: tuple, dtype: type) -> None:
    if a.dtype != dtype:
        raise SceneError(vid, file, f"dtype {a.dtype}, expected {np.dtype(dtype)}")
    if tuple(a.shape) != shape:
        raise SceneError(vid, file, f"shape {tuple(a.shape)}, expected {shape} (frames, height, width)")


def _rows(df: pl.DataFrame) -> str:
    return str(df.select("frame", "object_id").head(10).rows())


def list_scenes(root: str | Path) -> list[Path]:
    """Scene directories under ``root`` (those holding a scene.json), sorted by name; temporaries skipped."""
    root = Path(root)
    if not root.exists():
        return []
    return sorted(p.parent for p in root.glob("*/scene.json") if ".tmp-" not in p.parent.name)
