"""Asset sampling (paper Sec. 3.2): clip windows, object eligibility (motion, visibility) and how to refer to an
object — by caption, by a pixel coordinate in a given frame, by a circle drawn on a frame, or by a numbered box
in the first frame (R4D-Bench style). Every reference is checked against the pixels: the object is visible in the
referenced frame and a mark encloses little of any other object, so the reference is unambiguous.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import cv2
import numpy as np

from fourdpqa.motion import ClipMotion
from fourdpqa.params import REFERENCE_MODES, LabelThresholds
from fourdpqa.qa_format import normalise_xy
from fourdpqa.scene import Scene

# a circle/box may cover other objects' pixels up to this share of the target's own pixels inside it
MAX_FOREIGN_SHARE = 0.25


def stable_hash(text: str) -> int:
    """Process-independent 63-bit hash (Python's ``hash()`` is salted per process)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big") >> 1


def rng_for(seed: int, *keys: str) -> np.random.Generator:
    return np.random.default_rng([seed, *(stable_hash(k) for k in keys)])


def clip_windows(n_frames: int, clip_frames: int, stride: int, count: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Up to ``count`` distinct windows of ``clip_frames`` scene frames with ``stride`` (reduced if the video is
    too short for it), spread over the video; raises ValueError when the video has fewer than clip_frames frames."""
    if n_frames < clip_frames:
        raise ValueError(f"video has {n_frames} frames, fewer than qa.clip_frames={clip_frames}")
    stride = max(1, min(stride, (n_frames - 1) // max(clip_frames - 1, 1)))
    span = (clip_frames - 1) * stride + 1
    starts = np.arange(n_frames - span + 1)
    chosen = np.sort(rng.choice(starts, size=min(count, len(starts)), replace=False))
    return [s + stride * np.arange(clip_frames) for s in chosen.tolist()]


# ------------------------------------------------------------------------------------------------- visibility


def mask_pixels(scene: Scene, frame: int, object_id: int) -> int:
    return int((scene.instances[frame] == object_id).sum())


def visible_at(scene: Scene, m: ClipMotion, object_id: int, k: int, th: LabelThresholds) -> bool:
    """Object visible in clip frame ``k``: enough of its silhouette and enough pixels to be seen."""
    i = m.index(object_id)
    return bool(m.visible[i, k] >= th.min_visible_fraction and mask_pixels(scene, int(m.frames[k]), object_id) >= th.min_object_pixels)


def visible_frames(scene: Scene, m: ClipMotion, object_id: int, th: LabelThresholds) -> np.ndarray:
    """(T,) bool: clip frames in which the object is visible."""
    return np.array([visible_at(scene, m, object_id, k, th) for k in range(m.n_frames)])


def visible_throughout(scene: Scene, m: ClipMotion, object_id: int, th: LabelThresholds) -> bool:
    """For whole-clip questions: visible in the first and last frame and in most frames between."""
    v = visible_frames(scene, m, object_id, th)
    return bool(v[0] and v[-1] and v.mean() >= th.min_visible_frames_share)


def has_pose(m: ClipMotion, object_id: int) -> bool:
    return bool(np.isfinite(m.obj_pos[m.index(object_id)]).all())


# ------------------------------------------------------------------------------------------------- references


@dataclass
class Reference:
    """How an object is named in a question. ``frame`` is the clip frame a pixel/circle/box points into."""

    object_id: int
    mode: str
    text: str
    frame: int | None = None
    marks: list[dict] = field(default_factory=list)


def caption_unique(scene: Scene, object_id: int) -> bool:
    caps = [c.strip().lower() for c in scene.objects["caption"].to_list()]
    return caps.count(scene.object_row(object_id)["caption"].strip().lower()) == 1


def caption_text(caption: str) -> str:
    """Caption as a definite noun phrase ("red car" / "a red car" -> "the red car")."""
    c = caption.strip()
    for article in ("the ", "a ", "an "):
        if c.lower().startswith(article):
            c = c[len(article):]
            break
    return f"the {c}"


def interior_pixel(mask: np.ndarray) -> tuple[int, int]:
    """(x, y) of the mask pixel farthest from the mask boundary (robust to resizing and thin parts)."""
    dist = cv2.distanceTransform(np.pad(mask.astype(np.uint8), 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return int(x), int(y)


def make_reference(scene: Scene, m: ClipMotion, object_id: int, mode: str, k: int | None, number: int,
                   th: LabelThresholds, numbered: bool) -> Reference | None:
    """Build a reference of ``mode`` to ``object_id`` in clip frame ``k`` (ignored for caption; box marks use
    frame 0); ``None`` if the object cannot be referred to that way unambiguously."""
    if mode == "caption":
        if not caption_unique(scene, object_id):
            return None
        return Reference(object_id, mode, caption_text(scene.object_row(object_id)["caption"]))
    if mode == "box_mark":
        k = 0
    if k is None or not visible_at(scene, m, object_id, k, th):
        return None
    inst = scene.instances[int(m.frames[k])]
    mask = inst == object_id
    h, w = mask.shape
    if mode == "pixel":
        x, y = interior_pixel(mask)
        xn, yn = normalise_xy(x, y, w, h)
        return Reference(object_id, mode, f"the object at ({xn:.3f}, {yn:.3f}) in frame {k}", k)
    if mode == "circle":
        x, y = interior_pixel(mask)
        ys, xs = np.nonzero(mask)
        r = float(np.sqrt(((xs - x) ** 2 + (ys - y) ** 2).max())) + 1.5
        yy, xx = np.mgrid[:h, :w]
        inside = (xx - x) ** 2 + (yy - y) ** 2 <= r * r
        if not _exclusive(inst, inside, object_id):
            return None
        xn, yn = normalise_xy(x, y, w, h)
        mark = {"kind": "circle", "frame": k, "xy": [xn, yn], "radius": round(r / max(w, h), 3), "label": str(number) if numbered else ""}
        text = f"the object inside circle {number} in frame {k}" if numbered else f"the circled object in frame {k}"
        return Reference(object_id, mode, text, k, [mark])
    if mode == "box_mark":
        ys, xs = np.nonzero(mask)
        x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
        inside = np.zeros_like(mask)
        inside[y0:y1, x0:x1] = True
        if not _exclusive(inst, inside, object_id):
            return None
        box = [round(float(v), 3) for v in (x0 / w, y0 / h, x1 / w, y1 / h)]
        mark = {"kind": "box", "frame": 0, "box": box, "label": str(number)}
        return Reference(object_id, mode, f"object {number} (boxed in frame 0)", 0, [mark])
    raise ValueError(f"unknown reference mode {mode!r}")


def _exclusive(inst: np.ndarray, region: np.ndarray, object_id: int) -> bool:
    own = int((inst[region] == object_id).sum())
    foreign = int(((inst[region] != object_id) & (inst[region] != 0)).sum())
    return own > 0 and foreign <= MAX_FOREIGN_SHARE * own


def choose_mode(rng: np.random.Generator, mix: dict[str, float]) -> list[str]:
    """Reference modes in the order to try: the first drawn from ``mix``, the others after it as fallbacks."""
    modes = [m for m in REFERENCE_MODES if mix.get(m, 0) > 0]
    p = np.array([mix[m] for m in modes], dtype=np.float64)
    first = modes[int(rng.choice(len(modes), p=p / p.sum()))]
    return [first] + [m for m in modes if m != first]


def refer(scene: Scene, m: ClipMotion, object_ids: list[int], frames: list[int | None], rng: np.random.Generator,
          mix: dict[str, float], th: LabelThresholds) -> list[Reference] | None:
    """References to several objects with one shared mode (each in its own clip frame; ``None`` frame = pick
    one where it is visible). Tries the drawn mode first, then the others; ``None`` if none works."""
    numbered = len(object_ids) > 1
    for mode in choose_mode(rng, mix):
        refs = []
        for n, (oid, k) in enumerate(zip(object_ids, frames, strict=True), start=1):
            if k is None and mode in ("pixel", "circle"):
                vis = np.flatnonzero(visible_frames(scene, m, oid, th))
                k = int(rng.choice(vis)) if len(vis) else None
            ref = make_reference(scene, m, oid, mode, k, n, th, numbered)
            if ref is None:
                break
            refs.append(ref)
        else:
            if len({r.text for r in refs}) == len(refs):
                return refs
    return None
