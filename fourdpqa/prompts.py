"""Visual prompts burned into exported frames (paper Sec. 3.2 "visual region annotation"; R4D-Bench box marks).

Marks come from a QA record's typed ``marks`` column (``schemas.qa.MARK``; null fields are ignored):
``{"kind": "circle", "frame": k, "xy": [x, y], "radius": r, "label": "1"}`` (centre normalised as
((x+0.5)/W, (y+0.5)/H), radius as a fraction of max(W, H)) or ``{"kind": "box", "frame": k, "box": [x0, y0, x1, y1],
"label": "1"}`` (pixel-edge coordinates / W, H). Being normalised, they land on the same object at any export
resolution.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from schemas.qa import present

CIRCLE_COLOR = (255, 32, 32)  # RGB red, the colour of the "red circle" prompt
BOX_COLOR = (32, 255, 64)


def _thickness(h: int, w: int) -> int:
    return max(1, round(max(h, w) / 160))


def _label_box(text: str, x: int, y: int, h: int, w: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) pixel corners of a label's filled background anchored at (x, y) in an (h, w) image."""
    (tw, tht), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, _font_scale(h, w), _thickness(h, w))
    x = int(np.clip(x, 0, max(w - tw - 2, 0)))
    y = int(np.clip(y, tht + 2, h - 1))
    return x, y - tht - 2, x + tw + 2, y + base


def _font_scale(h: int, w: int) -> float:
    return max(0.3, max(h, w) / 640)


def _label(img: np.ndarray, text: str, x: int, y: int, color: tuple[int, int, int]) -> None:
    if not text:
        return
    h, w = img.shape[:2]
    x0, y0, x1, y1 = _label_box(text, x, y, h, w)
    (_, tht), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, _font_scale(h, w), _thickness(h, w))
    cv2.rectangle(img, (x0, y0), (x1, y1), (0, 0, 0), -1)
    cv2.putText(img, text, (x0 + 1, y0 + tht + 1), cv2.FONT_HERSHEY_SIMPLEX, _font_scale(h, w), color,
                _thickness(h, w), cv2.LINE_AA)


@dataclass(frozen=True)
class Footprint:
    """Where one mark lands in an exported (h, w) frame, in pixels: ``shape`` is ("circle", cx, cy, outer radius)
    or ("box", x0, y0, x1, y1) including the line width; ``label`` the label background box (or None)."""

    frame: int
    shape: tuple
    label: tuple[int, int, int, int] | None


def _geometry(mk: dict, h: int, w: int) -> tuple[tuple, tuple[int, int]]:
    """(drawn shape, label anchor) of a mark: ("circle", cx, cy, r) / ("box", x0, y0, x1, y1) in integer pixels."""
    if mk["kind"] == "circle":
        cx, cy = mk["xy"][0] * w - 0.5, mk["xy"][1] * h - 0.5
        r = max(3.0, float(mk.get("radius", 0.05)) * max(h, w))
        return ("circle", round(cx), round(cy), round(r)), (round(cx + r * 0.7), round(cy - r * 0.7))
    if mk["kind"] == "box":
        x0, y0, x1, y1 = mk["box"]
        p0 = (round(x0 * w), round(y0 * h))
        p1 = (max(round(x1 * w) - 1, p0[0]), max(round(y1 * h) - 1, p0[1]))
        return ("box", *p0, *p1), (p0[0], p0[1] - 1)
    raise ValueError(f"unknown mark kind {mk['kind']!r}")


def footprints(marks: Sequence[dict], width: int, height: int) -> list[Footprint]:
    """Footprints of ``marks`` drawn on a ``width`` x ``height`` frame (what :func:`draw_marks` paints)."""
    half = _thickness(height, width) / 2
    out = []
    for mk in marks:
        shape, (ax, ay) = _geometry(mk, height, width)
        if shape[0] == "circle":
            shape = ("circle", shape[1], shape[2], shape[3] + half)
        else:
            shape = ("box", shape[1] - half, shape[2] - half, shape[3] + half, shape[4] + half)
        text = mk.get("label", "")
        out.append(Footprint(int(mk["frame"]), shape, _label_box(text, ax, ay, height, width) if text else None))
    return out


def _rect_gap(a: Sequence[float], b: Sequence[float]) -> float:
    """Distance between two axis-aligned rectangles (x0, y0, x1, y1); 0 when they touch or overlap."""
    dx = max(a[0] - b[2], b[0] - a[2], 0.0)
    dy = max(a[1] - b[3], b[1] - a[3], 0.0)
    return float(np.hypot(dx, dy))


def _shape_gap(a: tuple, b: tuple) -> float:
    """Distance between two footprint shapes (filled discs / rectangles); <= 0 when they overlap."""
    if a[0] == "circle" and b[0] == "circle":
        return float(np.hypot(a[1] - b[1], a[2] - b[2]) - a[3] - b[3])
    if a[0] == "box" and b[0] == "box":
        return _rect_gap(a[1:], b[1:])
    c, r = (a, b) if a[0] == "circle" else (b, a)
    nx, ny = np.clip(c[1], r[1], r[3]), np.clip(c[2], r[2], r[4])
    return float(np.hypot(c[1] - nx, c[2] - ny) - c[3])


def marks_overlap(marks: Sequence[dict], width: int, height: int, gap: float = 2.0) -> bool:
    """True when two marks of the same frame (their discs / boxes or label boxes) come within ``gap`` pixels of
    each other when drawn at ``width`` x ``height``: nested circles, crossing boxes, a label on another mark."""
    fps = footprints(marks, width, height)
    for i, a in enumerate(fps):
        for b in fps[i + 1:]:
            if a.frame != b.frame:
                continue
            pieces_a = [a.shape] + ([("box", *a.label)] if a.label else [])
            pieces_b = [b.shape] + ([("box", *b.label)] if b.label else [])
            if any(_shape_gap(p, q) < gap for p in pieces_a for q in pieces_b):
                return True
    return False


def draw_marks(rgb: np.ndarray, marks: Sequence[dict], clip_index: int) -> np.ndarray:
    """Copy of ``rgb`` (H, W, 3) uint8 with the marks of clip frame ``clip_index`` drawn on it."""
    marks = present(list(marks))
    img = np.ascontiguousarray(rgb.copy())
    h, w = img.shape[:2]
    th = _thickness(h, w)
    for mk in marks:
        if int(mk["frame"]) != int(clip_index):
            continue
        shape, (ax, ay) = _geometry(mk, h, w)
        if shape[0] == "circle":
            cv2.circle(img, shape[1:3], shape[3], CIRCLE_COLOR, th, cv2.LINE_8)
            _label(img, mk.get("label", ""), ax, ay, CIRCLE_COLOR)
        else:
            cv2.rectangle(img, shape[1:3], shape[3:5], BOX_COLOR, th)
            _label(img, mk.get("label", ""), ax, ay, BOX_COLOR)
    return img


def sample_strip(rgb_clip: np.ndarray, marks: Sequence[dict], max_frames: int = 4) -> np.ndarray:
    """Frames of a clip (T, H, W, 3) side by side with their marks: the marked frames first, then the first and
    last frame, up to ``max_frames``, in clip order, each captioned with its clip index (for previews)."""
    marks = present(list(marks))
    t = len(rgb_clip)
    wanted = list(dict.fromkeys([int(m["frame"]) for m in marks] + [0, t - 1]))[:max_frames]
    tiles = []
    for k in sorted(wanted):
        tile = draw_marks(rgb_clip[k], marks, k)
        _label(tile, f"frame {k}", 2, tile.shape[0] - 2, (255, 255, 255))
        tiles.append(tile)
    return np.concatenate(tiles, axis=1)
