"""The frames of a standard scene, one at a time: value checks per frame, lazy reading of stored frames, and the
streaming writer (:class:`SceneWriter`) that takes frames one by one so that writing a scene never holds more than
a frame of it. ``fourdpqa.scene`` defines the format and uses this module to read and write its frame files.

Per-frame checks (the same when a frame is written and when a stage reads it): depth is ``float32`` z metres with no
negative finite value and at least one valid value (for ``depth_coverage: objects`` scenes, valid exactly on object
pixels); instance ids have an object row. A stage reading a scene checks the frames it reads, when it reads them,
so a check never makes a stage read a whole video.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np
import polars as pl

from fourdpqa.atomic import publish_dir, staging_dir, write_json, write_parquet, writing
from fourdpqa.frame_store import FrameArray, FrameError, NpyFrames, NpyFrameWriter
from fourdpqa.scene_meta import CHECKED, SceneError, SceneMeta

PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # the IEND chunk every complete PNG ends with


class FrameChecks:
    """Value checks of single frames of one scene; ``known`` = object ids with an objects.parquet row (None: the
    writer collects the ids seen and checks them against the objects table at the end)."""

    def __init__(self, meta: SceneMeta, known: set[int] | None):
        self.meta, self.known = meta, known
        self.objects_only = meta.extra.get("depth_coverage") == "objects"  # depth rendered from object meshes (HOT3D)
        self.seen = np.zeros(1, bool)

    def depth(self, i: int, d: np.ndarray, inst: np.ndarray | None = None) -> None:
        vid = self.meta.video_id
        finite = np.isfinite(d)
        if not np.fmin.reduce(d, axis=None) >= 0 and np.any(d[finite] < 0):  # NaN-ignoring minimum first (cheap)
            raise SceneError(vid, "depth.npy", f"negative depth values (frame {i})")
        if self.objects_only:
            if inst is not None and not np.array_equal(finite, inst > 0):
                raise SceneError(vid, "depth.npy", "depth_coverage 'objects': depth must be valid exactly on object "
                                 f"pixels (frame {i})")
        elif not finite.any():
            raise SceneError(vid, "depth.npy", f"frames without any valid depth: [{i}]")

    def instances(self, i: int, inst: np.ndarray) -> None:
        top = int(inst.max()) if inst.size else 0
        if self.known is None:
            if top >= len(self.seen):
                self.seen = np.pad(self.seen, (0, top + 1 - len(self.seen)))
            self.seen |= np.bincount(inst.ravel(), minlength=len(self.seen)).astype(bool)
            return
        if self.known.issuperset(range(1, top + 1)):  # every id up to the largest present has a row
            return
        stray = sorted(set(np.flatnonzero(np.bincount(inst.ravel())).tolist()) - self.known - {0})
        if stray:
            raise SceneError(self.meta.video_id, "instances.npy", f"instance ids without an object row: {stray[:10]} "
                             f"(frame {i})")

    def finish(self, known: set[int]) -> None:
        """For a writer that collected ids: every id seen has an object row."""
        stray = sorted(set(np.flatnonzero(self.seen).tolist()) - known - {0})
        if stray:
            raise SceneError(self.meta.video_id, "instances.npy", f"instance ids without an object row: {stray[:10]}")


# ------------------------------------------------------------------------------------------------------------ read


def png_path(scene_dir: Path, i: int) -> Path:
    return scene_dir / "rgb" / f"{i:05d}.png"


def decode_png(scene_dir: Path, meta: SceneMeta, i: int) -> np.ndarray:
    """(H, W, 3) uint8 RGB of stored frame ``i``; SceneError naming the file when missing, unreadable or resized."""
    p = png_path(scene_dir, i)
    name = f"rgb/{p.name}"
    if not p.exists():
        raise SceneError(meta.video_id, name, "missing frame")
    img = cv2.imdecode(np.fromfile(p, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise SceneError(meta.video_id, name, "unreadable or truncated image")
    if img.shape[:2] != (meta.height, meta.width):
        raise SceneError(meta.video_id, name, f"image size {img.shape[1]}x{img.shape[0]}, scene.json says "
                         f"{meta.width}x{meta.height}")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def check_pngs(scene_dir: Path, meta: SceneMeta) -> None:
    """Every frame's PNG exists and is complete (ends with its IEND chunk), without decoding any."""
    for i in range(meta.n_frames):
        p = png_path(scene_dir, i)
        try:
            with open(p, "rb") as fh:
                fh.seek(max(0, p.stat().st_size - len(PNG_END)))
                complete = fh.read() == PNG_END
        except FileNotFoundError:
            raise SceneError(meta.video_id, f"rgb/{p.name}", "missing frame") from None
        if not complete:
            raise SceneError(meta.video_id, f"rgb/{p.name}", "unreadable or truncated image")


def rgb_frames(scene_dir: Path, meta: SceneMeta) -> FrameArray:
    return FrameArray(meta.n_frames, (meta.height, meta.width, 3), np.uint8, lambda i: decode_png(scene_dir, meta, i))


def volume(scene_dir: Path, meta: SceneMeta, name: str, checks: FrameChecks,
           depth_of: FrameArray | None = None, instances_of: FrameArray | None = None) -> NpyFrames:
    """``depth.npy`` or ``instances.npy`` of a scene as frames read on demand; the header and file size are checked
    here, the values of each frame when it is first read."""
    p = scene_dir / f"{name}.npy"
    if not p.exists():
        raise SceneError(meta.video_id, p.name, "missing array")
    dtype, shape = (np.float32 if name == "depth" else np.uint16), (meta.n_frames, meta.height, meta.width)
    if name == "depth":
        check = (lambda i, d: checks.depth(i, d, instances_of[i] if checks.objects_only and instances_of else None))
    else:
        check = checks.instances
    try:
        arr = NpyFrames(p, check=check)
    except FrameError as exc:
        raise SceneError(meta.video_id, p.name, f"unreadable array: {exc}") from exc
    if arr.dtype != dtype:
        raise SceneError(meta.video_id, p.name, f"dtype {arr.dtype}, expected {np.dtype(dtype)}")
    if arr.shape != shape:
        raise SceneError(meta.video_id, p.name, f"shape {arr.shape}, expected {shape} (frames, height, width)")
    return arr


# ----------------------------------------------------------------------------------------------------------- write


class SceneWriter:
    """Writes one standard scene frame by frame into a staging folder published atomically by :meth:`finish`.

    ::

        with SceneWriter(scene_dir, meta) as w:
            for rgb, depth, instances in frames:
                w.add(rgb, depth, instances)
            w.finish(cameras, objects, object_poses, record)

    ``record(folder)`` returns the ``checked.json`` content of the staged tables. Leaving the block without
    :meth:`finish` (an error) removes the staged folder and keeps any previous version of the scene.
    """

    def __init__(self, scene_dir: str | Path, meta: SceneMeta, known: set[int] | None = None):
        self.scene_dir, self.meta = Path(scene_dir), meta
        self.checks = FrameChecks(meta, known)
        self.count = 0
        self._staging = staging_dir(self.scene_dir)
        self.tmp = self._staging.__enter__()
        shape = (meta.height, meta.width)
        write_json(self.tmp / "scene.json", asdict(meta))
        (self.tmp / "rgb").mkdir()
        self._depth = NpyFrameWriter(self.tmp / "depth.npy", meta.n_frames, shape, np.float32)
        self._inst = NpyFrameWriter(self.tmp / "instances.npy", meta.n_frames, shape, np.uint16)

    def add(self, rgb: np.ndarray, depth: np.ndarray, instances: np.ndarray) -> None:
        """Check and write the next frame: (H, W, 3) uint8 RGB, (H, W) float32 z depth, (H, W) uint16 ids."""
        i, m = self.count, self.meta
        if i >= m.n_frames:
            raise SceneError(m.video_id, "scene.json", f"more frames than n_frames={m.n_frames}")
        for name, a, shape, dtype in (("rgb/", rgb, (m.height, m.width, 3), np.uint8),
                                      ("depth.npy", depth, (m.height, m.width), np.float32),
                                      ("instances.npy", instances, (m.height, m.width), np.uint16)):
            a = np.asarray(a)
            if a.dtype != dtype:
                raise SceneError(m.video_id, name, f"dtype {a.dtype}, expected {np.dtype(dtype)} (frame {i})")
            if a.shape != shape:
                raise SceneError(m.video_id, name, f"frame {i} has shape {a.shape}, expected {shape}")
        self.checks.instances(i, instances)
        self.checks.depth(i, depth, instances)
        ok, buf = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR))
        if not ok:
            raise SceneError(m.video_id, f"rgb/{i:05d}.png", "PNG encoding failed")
        with writing(png_path(self.tmp, i)):
            png_path(self.tmp, i).write_bytes(buf.tobytes())
        self._depth.write(depth)
        self._inst.write(instances)
        self.count += 1

    def finish(self, cameras: pl.DataFrame, objects: pl.DataFrame, object_poses: pl.DataFrame,
               record: object) -> Path:
        """Write the tables and ``checked.json``, then publish the scene (replacing any previous version)."""
        m = self.meta
        if self.count != m.n_frames:
            raise SceneError(m.video_id, "scene.json", f"n_frames={m.n_frames} but {self.count} frames were written")
        self.checks.finish(set(objects["object_id"].to_list()))
        self._depth.close()
        self._inst.close()
        write_parquet(self.tmp / "cameras.parquet", cameras)
        write_parquet(self.tmp / "objects.parquet", objects)
        write_parquet(self.tmp / "object_poses.parquet", object_poses)
        write_json(self.tmp / CHECKED, record(self.tmp))  # type: ignore[operator]
        publish_dir(self.tmp, self.scene_dir)
        return self.scene_dir

    def __enter__(self) -> "SceneWriter":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        for w in (self._depth, self._inst):
            if not w._fh.closed:  # the staged scene is discarded: a failing flush (full disk) must not hide exc
                with contextlib.suppress(OSError):
                    w._fh.close()
        self._staging.__exit__(exc_type, exc, tb)

