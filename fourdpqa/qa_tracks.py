"""Point tracks as the QA stage uses them: the tracks stage adds query points the tracking questions need (an
interior pixel of every visible object, and of the background, every few frames) to the Kubric-style sample, and
the QA stage reads the stored tracks (``data/tracks/<video>.npz``) instead of recomputing them.

Tracking questions (types 12/13) pick a stored query whose frame lies in the clip and whose pixel is interior to
its instance (away from silhouette edges, where depth and instance ids are ambiguous) and read its visual /
true-motion track at the clip's frames.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from fourdpqa.errors import BadInput
from fourdpqa.layout import item_name
from fourdpqa.scene import Scene
from fourdpqa.tracks import Queries, Tracks, load_tracks

log = logging.getLogger("fourdpqa.qa_tracks")


def interior_mask(scene: Scene, frame: int, object_id: int) -> np.ndarray:
    """(H, W) bool: pixels of ``object_id`` (0 = background) in scene frame ``frame`` whose 3x3 neighbourhood is
    the same instance and whose depth is valid."""
    inst, depth = scene.instances[frame], scene.depth[frame]
    mask = cv2.erode((inst == object_id).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    return mask & np.isfinite(depth) & (depth > 0)


def interior_at(scene: Scene, frame: int, object_id: int, x: int, y: int) -> bool:
    """``interior_mask(scene, frame, object_id)[y, x]`` from the pixel's 3x3 window alone (the erosion keeps pixels
    at the image border whose in-image neighbours match), for a pixel 0 <= x < W, 0 <= y < H."""
    inst = scene.instances[frame]
    h, w = inst.shape
    if not (0 <= x < w and 0 <= y < h):
        raise ValueError(f"video {scene.video_id!r}: pixel ({x}, {y}) outside the {w}x{h} frame {frame}")
    d = scene.depth[frame, y, x]
    return bool(np.isfinite(d) and d > 0 and (inst[max(y - 1, 0):y + 2, max(x - 1, 0):x + 2] == object_id).all())


def qa_queries(scene: Scene, every: int, rng: np.random.Generator, frames: np.ndarray | None = None) -> Queries:
    """One interior query pixel per instance (objects with a pose, and the background) on every ``every``-th
    frame (offset drawn) of ``frames`` (scene frame indices; default all), so each clip has tracking queries on
    every visible object. Query frames index ``frames``. The interior pixels of all instances of a frame come from
    one 3x3 min / max filter of the ids (pixels whose neighbourhood holds their id only), the same pixels as
    :func:`interior_mask` per instance, so a frame costs the same with 5 or 500 objects."""
    frames = np.arange(scene.meta.n_frames) if frames is None else np.asarray(frames, np.int64)
    picked, xy = [], []
    posed = np.isfinite(scene.world_from_object[:, :, 0, 0])  # (O, T)
    index = {oid: i for i, oid in enumerate(scene.object_ids)}
    kernel = np.ones((3, 3), np.uint8)
    for j in range(int(rng.integers(every)), len(frames), every):
        t = int(frames[j])
        inst, depth = np.asarray(scene.instances[t]), np.asarray(scene.depth[t])
        inner = (cv2.erode(inst, kernel) == inst) & (cv2.dilate(inst, kernel) == inst) & np.isfinite(depth) & (depth > 0)
        flat = np.flatnonzero(inner)  # row-major, as np.nonzero of one instance's mask
        ids = inst.ravel()[flat]
        order = np.argsort(ids, kind="stable")
        uniq, start, count = np.unique(ids[order], return_index=True, return_counts=True)
        where = {int(u): (s, c) for u, s, c in zip(uniq, start, count)}
        for oid in [0, *(int(o) for o in np.unique(inst) if o)]:
            if (oid and not posed[index[oid], t]) or oid not in where:
                continue
            s, c = where[oid]
            y, x = divmod(int(flat[order[s + int(rng.integers(c))]]), inst.shape[1])
            picked.append(j)
            xy.append((float(x), float(y)))
    return Queries(frame=np.array(picked, np.int64), xy=np.array(xy, np.float64).reshape(-1, 2))


def merge_queries(a: Queries, b: Queries) -> Queries:
    """Union of two query sets (frames index the same frame list), sorted by (frame, y, x), duplicates dropped."""
    keys = np.concatenate([np.column_stack([a.frame, a.xy[:, 1], a.xy[:, 0]]),
                           np.column_stack([b.frame, b.xy[:, 1], b.xy[:, 0]])]) if len(a) + len(b) else np.zeros((0, 3))
    keys = np.unique(keys, axis=0)  # lexicographic: frame, y, x
    return Queries(frame=keys[:, 0].astype(np.int64), xy=keys[:, [2, 1]].astype(np.float64))


def stored_tracks(tracks_dir: str | Path, scene: Scene) -> Tracks | None:
    """The video's stored tracks (``<tracks_dir>/<item name>.npz``, the name the tracks stage writes, which bounds
    long or odd ids), or None (logged) when the tracks stage has not written them. Raises BadInput when the file
    does not belong to the scene (other video id or image size, or frames outside it)."""
    path = Path(tracks_dir) / f"{item_name(scene.video_id)}.npz"
    if not path.exists():
        log.warning("video %r: no stored point tracks at %s; tracking questions skipped", scene.video_id, path)
        return None
    tracks, info = load_tracks(path)
    if (info["video_id"], info["width"], info["height"]) != (scene.video_id, scene.meta.width, scene.meta.height):
        raise BadInput(f"{path}: tracks of {info['video_id']!r} at {info['width']}x{info['height']} do not match "
                         f"video {scene.video_id!r} at {scene.meta.width}x{scene.meta.height}")
    if len(tracks.frames) and int(tracks.frames.max()) >= scene.meta.n_frames:
        raise BadInput(f"{path}: track frames reach {int(tracks.frames.max())}, the video has {scene.meta.n_frames}")
    return tracks


def clip_columns(tracks: Tracks, clip_frames: np.ndarray) -> np.ndarray | None:
    """(T_clip,) positions of the clip's scene frames in ``tracks.frames``; None if the tracks miss one."""
    pos = {int(f): i for i, f in enumerate(tracks.frames)}
    cols = [pos.get(int(f)) for f in clip_frames]
    return None if any(c is None for c in cols) else np.array(cols, np.int64)
