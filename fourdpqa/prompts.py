"""Visual prompts burned into exported frames (paper Sec. 3.2 "visual region annotation"; R4D-Bench box marks).

Marks come from a QA record's ``marks`` JSON: ``{"kind": "circle", "frame": k, "xy": [x, y], "radius": r,
"label": "1"}`` (centre normalised as ((x+0.5)/W, (y+0.5)/H), radius as a fraction of max(W, H)) or
``{"kind": "box", "frame": k, "box": [x0, y0, x1, y1], "label": "1"}`` (pixel-edge coordinates / W, H). Being
normalised, they land on the same object at any export resolution.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import cv2
import numpy as np

CIRCLE_COLOR = (255, 32, 32)  # RGB red, the colour of the "red circle" prompt
BOX_COLOR = (32, 255, 64)


def _thickness(h: int, w: int) -> int:
    return max(1, round(max(h, w) / 160))


def _label(img: np.ndarray, text: str, x: int, y: int, color: tuple[int, int, int]) -> None:
    if not text:
        return
    h, w = img.shape[:2]
    scale = max(0.3, max(h, w) / 640)
    th = _thickness(h, w)
    (tw, tht), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, th)
    x = int(np.clip(x, 0, max(w - tw - 2, 0)))
    y = int(np.clip(y, tht + 2, h - 1))
    cv2.rectangle(img, (x, y - tht - 2), (x + tw + 2, y + base), (0, 0, 0), -1)
    cv2.putText(img, text, (x + 1, y - 1), cv2.FONT_HERSHEY_SIMPLEX, scale, color, th, cv2.LINE_AA)


def draw_marks(rgb: np.ndarray, marks: Sequence[dict] | str, clip_index: int) -> np.ndarray:
    """Copy of ``rgb`` (H, W, 3) uint8 with the marks of clip frame ``clip_index`` drawn on it."""
    if isinstance(marks, str):
        marks = json.loads(marks or "[]")
    img = np.ascontiguousarray(rgb.copy())
    h, w = img.shape[:2]
    th = _thickness(h, w)
    for mk in marks:
        if int(mk["frame"]) != int(clip_index):
            continue
        if mk["kind"] == "circle":
            cx, cy = mk["xy"][0] * w - 0.5, mk["xy"][1] * h - 0.5
            r = max(3.0, float(mk.get("radius", 0.05)) * max(h, w))
            cv2.circle(img, (round(cx), round(cy)), round(r), CIRCLE_COLOR, th, cv2.LINE_8)
            _label(img, mk.get("label", ""), round(cx + r * 0.7), round(cy - r * 0.7), CIRCLE_COLOR)
        elif mk["kind"] == "box":
            x0, y0, x1, y1 = mk["box"]
            p0 = (round(x0 * w), round(y0 * h))
            p1 = (max(round(x1 * w) - 1, p0[0]), max(round(y1 * h) - 1, p0[1]))
            cv2.rectangle(img, p0, p1, BOX_COLOR, th)
            _label(img, mk.get("label", ""), p0[0], p0[1] - 1, BOX_COLOR)
        else:
            raise ValueError(f"unknown mark kind {mk['kind']!r}")
    return img


def sample_strip(rgb_clip: np.ndarray, marks: Sequence[dict] | str, max_frames: int = 4) -> np.ndarray:
    """Frames of a clip (T, H, W, 3) side by side with their marks: the marked frames first, then the first and
    last frame, up to ``max_frames``, in clip order, each captioned with its clip index (for previews)."""
    if isinstance(marks, str):
        marks = json.loads(marks or "[]")
    t = len(rgb_clip)
    wanted = list(dict.fromkeys([int(m["frame"]) for m in marks] + [0, t - 1]))[:max_frames]
    tiles = []
    for k in sorted(wanted):
        tile = draw_marks(rgb_clip[k], marks, k)
        _label(tile, f"frame {k}", 2, tile.shape[0] - 2, (255, 255, 255))
        tiles.append(tile)
    return np.concatenate(tiles, axis=1)
