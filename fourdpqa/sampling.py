"""Asset sampling (paper Sec. 3.2): clip windows, object eligibility (motion, visibility) and how to refer to an
object — by caption, by a pixel coordinate in a given frame, by a circle drawn on a frame, or by a numbered box
in the first frame (R4D-Bench style). Every reference is checked against the pixels: the object is visible in the
referenced frame, a mark encloses at most a small share of any other object's visible pixels, and the marks of one
question do not overlap where they are drawn (discs, boxes, number labels), so the reference is unambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from fourdpqa.errors import BadInput
from fourdpqa.framing import MIN_IN_FRAME
from fourdpqa.motion import ClipMotion
from fourdpqa.params import REFERENCE_MODES
from fourdpqa.prompts import marks_overlap
from fourdpqa.qa_format import normalise_xy
from fourdpqa.scene import Scene
from fourdpqa.thresholds import LabelThresholds

CIRCLE_PAD_PX = 1.5  # the circle runs this far outside the object's enclosing circle
BOX_PAD_PX = 1  # a box runs this far outside the object's tight box, so its drawn line leaves the object visible
MARK_MARGIN_PX = 1  # pixels just outside a mark count as inside it (drawn lines, resizing)
MARK_GAP_PX = 4.0  # marks of one question stay at least this far apart where drawn (export pixels)
FRAME_TRIES = 3  # frames tried per object for circle / pixel references before giving up a mode


def clip_windows(n_frames: int, clip_frames: int, stride: int, count: int, rng: np.random.Generator,
                 max_overlap: float = 1.0) -> list[np.ndarray]:
    """Up to ``count`` windows of ``clip_frames`` scene frames with ``stride`` (reduced if the video is too short
    for it), spread over the video, any two sharing at most ``max_overlap`` of their time span (0 = disjoint).
    A video with fewer than ``clip_frames`` frames is one clip of all of them (issue 23.6: the questions a short
    clip can carry are asked, the others skipped with their reason, :func:`fourdpqa.questions.skipped_types`)."""
    if n_frames < 1:
        raise BadInput(f"a video needs at least one frame to be clipped, got {n_frames}")
    if n_frames < clip_frames:
        return [np.arange(n_frames)]
    stride = max(1, min(stride, (n_frames - 1) // max(clip_frames - 1, 1)))
    span = (clip_frames - 1) * stride + 1
    gap = max(1, int(np.ceil(span * (1.0 - max_overlap) - 1e-9)))  # smallest start difference allowed
    slack = n_frames - span
    count = min(count, slack // gap + 1)
    # distribute the free frames over the count + 1 spaces around the windows (uniformly over compositions)
    cuts = np.sort(rng.choice(slack - (count - 1) * gap + count, size=count, replace=False))
    starts = cuts - np.arange(count) + gap * np.arange(count)
    return [int(s) + stride * np.arange(clip_frames) for s in starts]


# ------------------------------------------------------------------------------------------------- visibility


def visible_at(scene: Scene, m: ClipMotion, object_id: int, k: int, th: LabelThresholds) -> bool:
    """Object visible in clip frame ``k``: enough of its silhouette and enough pixels to be seen."""
    return bool(visible_frames(scene, m, object_id, th)[k])


def visible_frames(scene: Scene, m: ClipMotion, object_id: int, th: LabelThresholds) -> np.ndarray:
    """(T,) bool: clip frames in which the object is visible (reads the clip's pixel counts, ``m.pixels``): enough
    of its silhouette (pixels outside the image count as hidden), enough pixels, and at least
    :data:`~fourdpqa.framing.MIN_IN_FRAME` of its projected box inside the image."""
    i = m.index(object_id)
    seen = (m.visible[i] >= th.min_visible_fraction) & (m.pixels[i] >= th.min_object_pixels)
    return seen if m.in_frame is None else seen & (m.in_frame[i] >= MIN_IN_FRAME)


def uncut_at(m: ClipMotion, object_id: int, k: int) -> bool:
    """The object's pixels stay off the image border in clip frame ``k`` (it can anchor a spatial comparison)."""
    return m.at_border is None or not bool(m.at_border[m.index(object_id), k])


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
    """The caption names this object alone: unique in the scene and, where the adapter says (``caption_unique``
    column, fourdpqa.sources.captions), singling it out among the objects that look alike."""
    caps = [c.strip().lower() for c in scene.objects["caption"].to_list()]
    row = scene.object_row(object_id)
    return caps.count(row["caption"].strip().lower()) == 1 and row.get("caption_unique", True) is not False


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
                   th: LabelThresholds, numbered: bool, max_other_share: float = 0.1) -> Reference | None:
    """Build a reference of ``mode`` to ``object_id`` in clip frame ``k`` (ignored for caption; box marks use
    frame 0); ``None`` if the object cannot be referred to that way unambiguously: a circle or box must hold the
    whole object and at most ``max_other_share`` of any other object's visible pixels."""
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
    ys, xs = np.nonzero(mask)
    if mode == "circle":
        (x, y), r = cv2.minEnclosingCircle(np.stack([xs, ys], 1).astype(np.float32))
        r = float(r) + CIRCLE_PAD_PX
        if not unambiguous(inst, disc(h, w, x, y, r + MARK_MARGIN_PX), object_id, max_other_share):
            return None
        xn, yn = normalise_xy(x, y, w, h)
        mark = {"kind": "circle", "frame": k, "xy": [xn, yn], "radius": round(r / max(w, h), 3), "label": str(number) if numbered else ""}
        text = f"the object inside circle {number} in frame {k}" if numbered else f"the circled object in frame {k}"
        return Reference(object_id, mode, text, k, [mark])
    if mode == "box_mark":
        x0, x1 = max(xs.min() - BOX_PAD_PX, 0), min(xs.max() + 1 + BOX_PAD_PX, w)
        y0, y1 = max(ys.min() - BOX_PAD_PX, 0), min(ys.max() + 1 + BOX_PAD_PX, h)
        region = np.zeros((h, w), bool)
        region[max(y0 - MARK_MARGIN_PX, 0):y1 + MARK_MARGIN_PX, max(x0 - MARK_MARGIN_PX, 0):x1 + MARK_MARGIN_PX] = True
        if not unambiguous(inst, region, object_id, max_other_share):
            return None
        box = [round(float(v), 3) for v in (x0 / w, y0 / h, x1 / w, y1 / h)]
        mark = {"kind": "box", "frame": 0, "box": box, "label": str(number)}
        return Reference(object_id, mode, f"object {number} (boxed in frame 0)", 0, [mark])
    raise ValueError(f"unknown reference mode {mode!r}")


def disc(h: int, w: int, x: float, y: float, radius: float) -> np.ndarray:
    """(H, W) bool: pixels whose centre (integer x, y) lies within ``radius`` of (``x``, ``y``); evaluated on the
    disc's bounding window only."""
    x0, x1 = max(int(np.floor(x - radius)), 0), min(int(np.ceil(x + radius)) + 1, w)
    y0, y1 = max(int(np.floor(y - radius)), 0), min(int(np.ceil(y + radius)) + 1, h)
    out = np.zeros((h, w), bool)
    if x0 < x1 and y0 < y1:
        yy, xx = np.ogrid[y0:y1, x0:x1]
        out[y0:y1, x0:x1] = (xx - x) ** 2 + (yy - y) ** 2 <= radius ** 2
    return out


def unambiguous(inst: np.ndarray, region: np.ndarray, object_id: int, max_other_share: float) -> bool:
    """The mark ``region`` (H, W) bool holds mostly its target: more of the target's pixels than of any other
    object's, and of every other object visible in ``inst`` (H, W) instance ids at most ``max_other_share`` of its
    visible pixels (issue 24.5: a small share of a big neighbour can still outnumber a small target)."""
    total = np.bincount(inst.ravel())
    inside = np.bincount(inst[region].ravel(), minlength=len(total))
    for oid in np.flatnonzero(total).tolist():
        if oid in (0, object_id):
            continue
        if inside[oid] > max_other_share * total[oid] or inside[oid] >= inside[object_id]:
            return False
    return bool(inside[object_id] > 0)


def choose_mode(rng: np.random.Generator, mix: dict[str, float]) -> list[str]:
    """Reference modes in the order to try: the first drawn from ``mix``, the others after it as fallbacks."""
    modes = [m for m in REFERENCE_MODES if mix.get(m, 0) > 0]
    p = np.array([mix[m] for m in modes], dtype=np.float64)
    first = modes[int(rng.choice(len(modes), p=p / p.sum()))]
    return [first] + [m for m in modes if m != first]


def refer(scene: Scene, m: ClipMotion, object_ids: list[int], frames: list[int | None], rng: np.random.Generator,
          mix: dict[str, float], th: LabelThresholds, export_size: tuple[int, int] = (448, 448),
          max_other_share: float = 0.1) -> list[Reference] | None:
    """References to several objects with one shared mode (each in its own clip frame; ``None`` frame = pick
    one where it is visible). Tries the drawn mode first, then the others; within a mode, a few frame draws for
    objects without a fixed frame. The references must read differently and their marks must not overlap when
    drawn at ``export_size`` (width, height). ``None`` if no mode works."""
    numbered = len(object_ids) > 1
    for mode in choose_mode(rng, mix):
        tries = FRAME_TRIES if mode in ("pixel", "circle") and None in frames else 1
        for _ in range(tries):
            refs = _refs_in_mode(scene, m, object_ids, frames, rng, mode, th, numbered, max_other_share)
            if refs is None:
                continue
            marks = [mk for r in refs for mk in r.marks]
            if len({r.text for r in refs}) == len(refs) and not marks_overlap(marks, *export_size, gap=MARK_GAP_PX):
                return refs
    return None


def _refs_in_mode(scene: Scene, m: ClipMotion, object_ids: list[int], frames: list[int | None],
                  rng: np.random.Generator, mode: str, th: LabelThresholds, numbered: bool,
                  max_other_share: float) -> list[Reference] | None:
    refs = []
    for n, (oid, k) in enumerate(zip(object_ids, frames, strict=True), start=1):
        if k is None and mode in ("pixel", "circle"):
            vis = np.flatnonzero(visible_frames(scene, m, oid, th))
            k = int(rng.choice(vis)) if len(vis) else None
        ref = make_reference(scene, m, oid, mode, k, n, th, numbered, max_other_share)
        if ref is None:
            return None
        refs.append(ref)
    return refs
