"""Clip export: the frames a model sees for a QA pair, at the output resolution, with the question's visual marks
burned in when its reference mode points at the object by a drawn circle or box.

Layout under the dataset directory (paths stored relative to it, so the folder can move)::

    clips/<video_id>/<clip_key>/00000.jpg ...   one JPEG per clip frame (clip order)
    clips/<video_id>/<clip_key>/clip.mp4        the same frames as an mp4 (mp4v) at the clip fps

``clip_key`` = ``<clip_id>-plain`` or ``<clip_id>-m<hash of the marks>``: QA pairs sharing a clip and the same marks
share one export (dedupe by hash); an existing export is reused, never rewritten or deleted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import polars as pl
from tqdm import tqdm

from fourdpqa.atomic import atomic_dir
from fourdpqa.scene import read_scene

MARKED_MODES = ("circle", "box_mark")  # reference modes that point at the object with a drawn mark
CLIPS_DIR = "clips"
JPEG_QUALITY = 90

MarkDrawer = Callable[[np.ndarray, list, int], np.ndarray]


def burned_marks(reference_mode: str, marks: str) -> list:
    """The marks to draw on the clip: those of a circle/box reference, none for captions and pixel coordinates."""
    return json.loads(marks) if reference_mode in MARKED_MODES else []


def clip_key(clip_id: str, marks: list) -> str:
    """Name of one (clip, marks) variant; identical marks give the same key (canonical JSON hash)."""
    if not marks:
        return f"{clip_id}-plain"
    digest = hashlib.sha1(json.dumps(marks, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:10]
    return f"{clip_id}-m{digest}"


def clip_paths(video_id: str, key: str, n_frames: int) -> tuple[str, list[str]]:
    """(mp4 path, [jpg paths]) of a variant, relative to the dataset directory."""
    base = f"{CLIPS_DIR}/{video_id}/{key}"
    return f"{base}/clip.mp4", [f"{base}/{i:05d}.jpg" for i in range(n_frames)]


def render_clip(frames: np.ndarray, marks: list, width: int, height: int, draw: MarkDrawer | None) -> np.ndarray:
    """(T, H, W, 3) RGB -> (T, height, width, 3) RGB resized, then marks drawn at the output resolution (marks
    are in normalised coordinates, so drawing after the resize keeps them crisp)."""
    out = np.stack([cv2.resize(f, (width, height), interpolation=cv2.INTER_AREA) for f in frames])
    if marks:
        if draw is None:
            raise ValueError("marks need a drawer (fourdpqa.prompts.draw_marks)")
        out = np.stack([draw(out[i], marks, i) for i in range(len(out))])
    return out


def write_clip(frames: np.ndarray, out_dir: Path, fps: float, mp4: bool) -> None:
    """Write the JPEG frames (and the mp4) of one variant into ``out_dir`` atomically (all files or none)."""
    with atomic_dir(out_dir) as tmp:
        for i, frame in enumerate(frames):
            ok, buf = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            if not ok:
                raise OSError(f"{out_dir}: JPEG encoding of frame {i} failed")
            (tmp / f"{i:05d}.jpg").write_bytes(buf.tobytes())
        if mp4:
            h, w = frames.shape[1:3]
            writer = cv2.VideoWriter(str(tmp / "clip.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), (w, h))
            if not writer.isOpened():
                raise OSError(f"{out_dir}: cannot open an mp4v VideoWriter")
            for frame in frames:
                writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
            writer.release()


def export_clips(
    rows: pl.DataFrame,
    scenes_root: str | Path,
    dataset_dir: str | Path,
    width: int,
    height: int,
    mp4: bool = True,
    draw: MarkDrawer | None = None,
) -> pl.DataFrame:
    """Export every distinct (clip, marks) variant used by ``rows``; returns ``rows`` with ``clip_key``, ``video``
    (mp4 path or "" when mp4 export is off) and ``frames`` (JPEG paths), relative to ``dataset_dir``; rows come
    back sorted by video (each scene is decoded once)."""
    if draw is None and rows.filter(pl.col("reference_mode").is_in(MARKED_MODES)).height:
        from fourdpqa.prompts import draw_marks as draw
    dataset_dir = Path(dataset_dir)
    keys, videos, frame_lists = [], [], []
    done: set[str] = set()
    scene = None
    rows = rows.sort("video_id", "id")
    for rec in tqdm(rows.iter_rows(named=True), desc="export clips", unit="QA", total=rows.height, disable=None):
        marks = burned_marks(rec["reference_mode"], rec["marks"])
        key = clip_key(rec["clip_id"], marks)
        mp4_path, jpgs = clip_paths(rec["video_id"], key, len(rec["clip_frames"]))
        keys.append(key)
        videos.append(mp4_path if mp4 else "")
        frame_lists.append(jpgs)
        out_dir = dataset_dir / CLIPS_DIR / rec["video_id"] / key
        complete = (out_dir / Path(jpgs[-1]).name).exists() and (not mp4 or (out_dir / "clip.mp4").exists())
        if key in done or complete:
            done.add(key)
            continue
        if scene is None or scene.video_id != rec["video_id"]:
            scene = read_scene(Path(scenes_root) / rec["video_id"])
        idx = np.asarray(rec["clip_frames"], dtype=int)
        if idx.min() < 0 or idx.max() >= scene.meta.n_frames:
            raise IndexError(f"QA {rec['id']}: clip frames {idx.min()}..{idx.max()} outside video "
                             f"{rec['video_id']} ({scene.meta.n_frames} frames)")
        write_clip(render_clip(scene.rgb[idx], marks, width, height, draw), out_dir, rec["fps"], mp4)
        done.add(key)
    return rows.with_columns(pl.Series("clip_key", keys, pl.Utf8), pl.Series("video", videos, pl.Utf8),
                             pl.Series("frames", frame_lists, pl.List(pl.Utf8)))
