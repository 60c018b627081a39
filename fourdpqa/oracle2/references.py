"""Which objects a question talks about, worked out from what a reader is shown: the captions in its text, the
pixel coordinates it names, and the circles / boxes drawn on its frames — looked up in the scene's instance masks.

The record's ``object_ids`` / spec are *not* consulted here; the caller compares the two.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from fourdpqa.oracle2.evidence import Evidence

# An object is what a mark encloses when at least this share of its visible pixels lies inside the mark.
ENCLOSED_SHARE = 0.5

_CIRCLE_N = re.compile(r"\bcircle (\d+)\b")
_CIRCLED = re.compile(r"\bcircled object\b")
_OBJECT_N = re.compile(r"\bobject (\d+)\b")
_PIXEL = re.compile(r"\((\d*\.\d+), (\d*\.\d+)\)(?: in frame (\d+))?")
_FRAME = re.compile(r"\bframe (\d+)\b")


class Unresolved(ValueError):
    """A reference that names no object (``ambiguous`` False: the reference is wrong) or several (True)."""

    def __init__(self, message: str, ambiguous: bool):
        super().__init__(message)
        self.ambiguous = ambiguous


@dataclass(frozen=True)
class Mention:
    """A reference in the text at character ``start``: kind caption | mark | pixel, with what identifies it."""

    start: int
    kind: str
    key: object


def _strip_article(caption: str) -> str:
    c = caption.strip().lower()
    for article in ("the ", "a ", "an "):
        if c.startswith(article):
            return c[len(article):]
    return c


def mentions(text: str, marks: list[dict], captions: dict[int, str]) -> list[Mention]:
    """References in ``text`` in reading order. Captions claim the longest match first (so "small red car" is
    not read as "red car"); "object N" counts only when a box labelled N exists."""
    low = text.lower()
    found: list[Mention] = []
    taken = np.zeros(len(low) + 1, bool)
    for cap in sorted({_strip_article(c) for c in captions.values()}, key=len, reverse=True):
        for m in re.finditer(r"\b" + re.escape(cap) + r"\b", low):
            if not taken[m.start():m.end()].any():
                taken[m.start():m.end()] = True
                found.append(Mention(m.start(), "caption", cap))
    boxes = {str(mk.get("label", "")) for mk in marks if mk["kind"] == "box"}
    for m in _CIRCLE_N.finditer(low):
        found.append(Mention(m.start(), "mark", ("circle", m.group(1))))
    for m in _CIRCLED.finditer(low):
        found.append(Mention(m.start(), "mark", ("circle", None)))
    for m in _OBJECT_N.finditer(low):
        if m.group(1) in boxes and not taken[m.start()]:
            found.append(Mention(m.start(), "mark", ("box", m.group(1))))
    frames = sorted({int(f) for f in _FRAME.findall(low)})
    for m in _PIXEL.finditer(low):
        frame = int(m.group(3)) if m.group(3) else (frames[0] if len(frames) == 1 else None)
        found.append(Mention(m.start(), "pixel", (float(m.group(1)), float(m.group(2)), frame)))
    return sorted(found, key=lambda x: x.start)


def mark_region(mark: dict, h: int, w: int) -> np.ndarray:
    """(H, W) bool pixels inside a circle (centre normalised as ((x+0.5)/W, (y+0.5)/H), radius / max(W, H)) or
    a box (pixel-edge coordinates / W, H)."""
    ys, xs = np.mgrid[:h, :w]
    if mark["kind"] == "circle":
        cx, cy = mark["xy"][0] * w - 0.5, mark["xy"][1] * h - 0.5
        r = float(mark.get("radius", 0.05)) * max(h, w)
        return (xs - cx) ** 2 + (ys - cy) ** 2 <= r * r
    x0, y0, x1, y1 = mark["box"]
    return (xs + 0.5 >= x0 * w) & (xs + 0.5 <= x1 * w) & (ys + 0.5 >= y0 * h) & (ys + 0.5 <= y1 * h)


def enclosed_objects(instances: np.ndarray, region: np.ndarray) -> dict[int, float]:
    """Object id -> share of its visible pixels inside ``region``, for objects with any pixel there.
    instances: (H, W) uint16 ids (0 = background); region: (H, W) bool."""
    ids, inside = np.unique(instances[region], return_counts=True)
    out = {}
    for oid, n in zip(ids.tolist(), inside.tolist(), strict=True):
        if oid:
            out[int(oid)] = n / int((instances == oid).sum())
    return out


def _find_mark(marks: list[dict], kind: str, label: str | None) -> dict:
    hits = [mk for mk in marks if mk["kind"] == kind and (label is None or str(mk.get("label", "")) == label)]
    if len(hits) != 1:
        raise Unresolved(f"{kind} {label or ''} matches {len(hits)} marks".replace("  ", " "), len(hits) > 1)
    return hits[0]


def resolve(mention: Mention, ev: Evidence, clip_frames: list[int], marks: list[dict]) -> int:
    """The object id ``mention`` designates in scene ``ev``; raises :class:`Unresolved` when none or several."""
    if mention.kind == "caption":
        ids = [oid for oid, c in ev.captions.items() if _strip_article(c) == mention.key]
        if len(ids) != 1:
            raise Unresolved(f"caption {mention.key!r} fits {len(ids)} objects", len(ids) > 1)
        return ids[0]
    if mention.kind == "pixel":
        x, y, k = mention.key
        if k is None or not 0 <= k < len(clip_frames):
            raise Unresolved(f"pixel ({x}, {y}) names no clip frame", True)
        inst = np.asarray(ev.instances[clip_frames[k]])
        h, w = inst.shape
        col, row = int(round(x * w - 0.5)), int(round(y * h - 0.5))
        oid = int(inst[min(max(row, 0), h - 1), min(max(col, 0), w - 1)])
        if oid == 0:
            raise Unresolved(f"pixel ({x}, {y}) in frame {k} is background", False)
        return oid
    kind, label = mention.key
    mark = _find_mark(marks, kind, label)
    inst = np.asarray(ev.instances[clip_frames[int(mark["frame"])]])
    shares = enclosed_objects(inst, mark_region(mark, *inst.shape))
    inside = sorted(oid for oid, s in shares.items() if s >= ENCLOSED_SHARE)
    if len(inside) != 1:
        detail = ", ".join(f"{oid}: {shares[oid]:.2f}" for oid in sorted(shares))
        raise Unresolved(f"{kind} {label or ''} in frame {mark['frame']} encloses {len(inside)} objects ({detail})",
                         len(inside) > 1)
    return inside[0]


def resolve_all(text: str, ev: Evidence, clip_frames: list[int], marks: list[dict]) -> list[int]:
    """Object ids referred to in ``text``, in order of first mention."""
    ids = [resolve(m, ev, clip_frames, marks) for m in mentions(text, marks, ev.captions)]
    return list(dict.fromkeys(ids))
