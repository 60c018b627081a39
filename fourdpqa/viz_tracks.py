"""Pictures of point tracks: a still overlay per video and a short animation (mp4 / gif) for the CLI.

Left panel: visual tracks P2D(t) over the query frame; right panel: true-motion tracks M2D(t) over the same frame.
Segments where the point is occluded in the video (either end) are dashed; the query point is a filled dot.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from fourdpqa.atomic import atomic_path
from fourdpqa.errors import BadInput
from fourdpqa.tracks import Tracks

MIN_PANEL_WIDTH = 384
TITLE_H = 22


def pick_tracks(tracks: Tracks, max_tracks: int = 64) -> tuple[int, np.ndarray]:
    """The clip frame holding the most queries (lowest on ties) and up to ``max_tracks`` of its tracks, evenly spread."""
    if len(tracks) == 0:
        return 0, np.zeros(0, np.int64)
    frame = int(np.bincount(tracks.queries.frame).argmax())
    idx = np.flatnonzero(tracks.queries.frame == frame)
    if len(idx) > max_tracks:
        idx = idx[np.linspace(0, len(idx) - 1, max_tracks).round().astype(np.int64)]
    return frame, idx


def _colours(n: int) -> np.ndarray:
    ramp = np.linspace(0, 255, max(n, 1)).astype(np.uint8)[:, None]
    return cv2.cvtColor(cv2.applyColorMap(ramp, cv2.COLORMAP_TURBO), cv2.COLOR_BGR2RGB)[:, 0]


def _panel(rgb: np.ndarray, scale: int, title: str) -> np.ndarray:
    h, w = rgb.shape[:2]
    img = cv2.resize(rgb, (w * scale, h * scale), interpolation=cv2.INTER_NEAREST)
    img = (img.astype(np.float32) * 0.65).astype(np.uint8)
    bar = np.full((TITLE_H, img.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, title, (4, TITLE_H - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return np.ascontiguousarray(np.concatenate([bar, img]))


def _to_canvas(xy: np.ndarray, scale: int) -> np.ndarray:
    """OpenCV pixel (x, y) -> canvas pixel of a panel upscaled by ``scale`` below its title bar."""
    return (xy + 0.5) * scale - 0.5 + np.array([0.0, TITLE_H])


def _segment(img: np.ndarray, a: np.ndarray, b: np.ndarray, colour: tuple, dashed: bool, dash: float) -> None:
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return
    length = float(np.linalg.norm(b - a))
    starts = np.arange(0.0, length, 2 * dash) if dashed and length > 0 else np.array([0.0])
    ends = np.minimum(starts + dash, length) if dashed else np.array([length])
    for s, e in zip(starts, ends):
        p = a + (b - a) * (s / length if length else 0.0)
        q = a + (b - a) * (e / length if length else 0.0)
        cv2.line(img, tuple(np.round(p).astype(int)), tuple(np.round(q).astype(int)), colour, 1, cv2.LINE_AA)


def _draw_tracks(img: np.ndarray, xy: np.ndarray, hidden: np.ndarray, in_front: np.ndarray, colours: np.ndarray,
                 scale: int, upto: int | None = None) -> None:
    """Polylines of tracks ``xy`` (n, T, 2) (image pixels) on a panel; a segment touching a hidden sample is dashed,
    one touching a point behind the camera (``in_front`` False: its projection is meaningless) is left out."""
    limit = xy.shape[1] if upto is None else upto + 1
    big = 1e5  # keep far-off projections from overflowing OpenCV's integer coordinates
    pts = np.clip(_to_canvas(xy, scale), -big, big)
    for i in range(len(xy)):
        colour = tuple(int(c) for c in colours[i])
        for t in range(limit - 1):
            if in_front[i, t] and in_front[i, t + 1]:
                _segment(img, pts[i, t], pts[i, t + 1], colour, bool(hidden[i, t] or hidden[i, t + 1]), 3.0)


def overlay_image(tracks: Tracks, rgb: np.ndarray, max_tracks: int = 64) -> np.ndarray:
    """(H', W', 3) uint8: visual (left) vs true-motion (right) tracks drawn over the query frame.

    ``rgb`` is the scene's (T_scene, H, W, 3) video; the frame shown is ``tracks.frames[f]`` for the clip frame f
    with the most queries, and only tracks queried there are drawn (their tracks start at the dots).
    """
    frame, idx = pick_tracks(tracks, max_tracks)
    base = rgb[tracks.frames[frame]]
    scale = max(1, int(np.ceil(MIN_PANEL_WIDTH / base.shape[1])))
    colours = _colours(len(idx))
    hidden = tracks.visual_occluded[idx]
    panels = []
    for title, xy, z in (("visual tracks P2D(t) (dashed: occluded)", tracks.visual_xy[idx], tracks.points_cam[idx, :, 2]),
                         ("true-motion tracks M2D(t), query camera", tracks.true_xy[idx], tracks.points_query_cam[idx, :, 2])):
        img = _panel(base, scale, f"{title}  frame {int(tracks.frames[frame])}")
        _draw_tracks(img, xy, hidden, z > 0, colours, scale)
        for c, q in zip(colours, _to_canvas(tracks.queries.xy[idx], scale)):
            cv2.circle(img, tuple(np.round(q).astype(int)), 3, tuple(int(v) for v in c), -1, cv2.LINE_AA)
        panels.append(img)
    gap = np.full((panels[0].shape[0], 6, 3), 255, np.uint8)
    return np.concatenate([panels[0], gap, panels[1]], 1)


def png_bytes(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError("PNG encoding failed")
    return buf.tobytes()


def read_png(path: str | Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB of a PNG written by :func:`write_png`."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise BadInput(f"{path}: unreadable PNG")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def write_png(path: str | Path, image: np.ndarray) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(png_bytes(image))
    return Path(path)


def animation_frames(tracks: Tracks, rgb: np.ndarray, max_tracks: int = 32, tail: int = 8) -> list[np.ndarray]:
    """One picture per clip frame t: the video frame with visual tracks up to t (left) and the query frame with the
    true-motion tracks up to t (right); current positions are dots (hollow when occluded)."""
    frame, idx = pick_tracks(tracks, max_tracks)
    scale = max(1, int(np.ceil(MIN_PANEL_WIDTH / rgb.shape[2])))
    colours = _colours(len(idx))
    hidden = tracks.visual_occluded[idx]
    out = []
    for t in range(len(tracks.frames)):
        lo = max(0, t - tail)
        panels = []
        for title, shown, xy, z in (("visual", tracks.frames[t], tracks.visual_xy[idx], tracks.points_cam[idx, :, 2]),
                                    ("true motion (query camera)", tracks.frames[frame], tracks.true_xy[idx],
                                     tracks.points_query_cam[idx, :, 2])):
            img = _panel(rgb[shown], scale, f"{title}  t={t}")
            _draw_tracks(img, xy[:, lo:], hidden[:, lo:], z[:, lo:] > 0, colours, scale, upto=t - lo)
            for c, p, h, front in zip(colours, _to_canvas(xy[:, t], scale), hidden[:, t], z[:, t] > 0):
                if front and np.isfinite(p).all() and np.abs(p).max() < 1e5:
                    cv2.circle(img, tuple(np.round(p).astype(int)), 3, tuple(int(v) for v in c), 1 if h else -1, cv2.LINE_AA)
            panels.append(img)
        out.append(np.concatenate([panels[0], np.full((panels[0].shape[0], 6, 3), 255, np.uint8), panels[1]], 1))
    return out


def write_animation(path: str | Path, frames: list[np.ndarray], fps: float) -> Path:
    """Write ``.gif`` (Pillow) or ``.mp4`` (OpenCV mp4v) atomically; the suffix picks the format."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".gif", ".mp4") or not frames:
        raise ValueError(f"{path}: animations need frames and a .gif or .mp4 name")
    with tempfile.TemporaryDirectory() as tmpdir:
        scratch = Path(tmpdir) / f"anim{suffix}"
        if suffix == ".gif":
            images = [Image.fromarray(f) for f in frames]
            images[0].save(scratch, save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
        else:
            h, w = frames[0].shape[:2]
            writer = cv2.VideoWriter(str(scratch), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
            if not writer.isOpened():
                raise RuntimeError(f"{path}: OpenCV cannot open an mp4v writer")
            for f in frames:
                writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
            writer.release()
        with atomic_path(path) as tmp:
            tmp.write_bytes(scratch.read_bytes())
    return path
