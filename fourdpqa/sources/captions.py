"""Object captions for sources that have none (paper Sec. 3.2: labels alone do not identify objects, so each object
is captioned from its box and label), made from what a viewer sees in a frame.

Offline default (no network). A caption describes one frame, the ``caption_frame`` (where the object shows the most
pixels): "the <colour> <category>", the colour named from the object's pixels that are not near-black (shadows carry
no colour), or the colour the dataset gives. When other objects visible in that frame fit the same words, the
caption adds the first attribute that singles the object out among them: its 3D box size ("the larger", "the
smallest"), its distance ("the nearer", "the farthest"), its side ("on the left" / "on the right": the leftmost /
rightmost of them) or its height in the image ("at the top" / "at the bottom"); an attribute counts only when the
object beats the others by a visible margin. An object that none singles out keeps the plain caption and
``caption_unique = false`` (the objects table's flag that question generation reads: such an object is never named by
caption alone, only by a mark or a pixel); so does a caption another object of the scene also has. Never an asset
name, an instance number or an ordinal.
Structural elements (room shell, floor, walls, ceiling: :data:`STRUCTURAL`) are not objects; adapters leave them in
the background.

Optional VLM (``caption_model`` option of an adapter): a crop of the object's best-visible frame plus its label goes
to a litellm model; the reply is accepted only if it is one short line of plain printable text (no control
characters, terminal escapes or bidi overrides) containing the label word (the "slot") and naming appearance only
(no motion, position or negation word: a caption claiming "that is not moving" would contradict the answers). It is
cached on disk under the hash of (model, prompt, crop) by :class:`fourdpqa.llm.CachedCompletion`, as question
phrasing is. Rejected, failed or duplicate replies fall back to the offline caption. One captioner (one time budget,
one circuit breaker) serves a whole stage run: :func:`captioner_from_options` hands out the run's.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import polars as pl

from fourdpqa.llm import CachedCompletion
from fourdpqa.params import LLMCallParams

# adapter options that configure captions (merged into each adapter's defaults by check_options)
# (``caption_calls``: the call bounds of fourdpqa.params.LLMCallParams, e.g. {timeout_s: 10, budget_s: 600})
CAPTION_OPTIONS: dict[str, Any] = {"caption_model": None, "caption_cache_dir": "data/cache/captions",
                                   "caption_calls": None}

# hue (degrees, upper bound) -> name, for saturated pixels
HUES = ((15, "red"), (40, "orange"), (68, "yellow"), (165, "green"), (195, "cyan"), (255, "blue"), (290, "purple"),
        (335, "pink"), (360, "red"))
MIN_SATURATION = 60  # of 255: below this a colour reads as black / grey / white
MAX_WORDS = 10
MAX_CHARS = 80
# words a VLM caption may not use: it names what an object looks like, never how it moves, where it is or what it
# is not (those are what the questions ask; the offline refinements "nearer", "on the left" are ours, not the VLM's)
NOT_APPEARANCE = frozenset("""
move moves moving moved motion still static stationary motionless parked stopped stopping rolling rolls rolled
sliding slides spinning spins rotating rotates turning turns driving drives walking walks running runs flying flies
falling falls approaching leaving passing speeding fast slow quickly slowly idle resting
left right above below behind front near nearer nearest far farther farthest further close closer closest top
bottom middle center centre foreground background next beside between toward towards away under over upward
downward forward backward forwards backwards ahead
not no never none nothing without""".split())
PROMPT = ("The image is a crop of one {label} from a video frame. Describe it in at most {n} words so that it can be "
          "told apart from other objects of its kind (colour, type, distinctive parts). Start with 'the' and include "
          "the word '{label}'. Reply with the description only.")


STRUCTURAL = frozenset({"shelter", "room", "floor", "wall", "walls", "ceiling", "building", "structure"})
DARK_MAX = 50  # a pixel whose brightest channel is below this is shadow: it names no colour
MIN_PIXELS = 12  # an object shows at least this many pixels in a frame for an attribute to be read there
SIZE_MARGIN, DEPTH_MARGIN, SIDE_MARGIN = 1.15, 1.1, 0.05  # the extreme beats the next by this (ratio / image share)


@dataclass(frozen=True)
class Seen:
    """What the captions are made from, for one object."""

    object_id: int
    category: str
    colour: str  # named colour ("" when never visible)
    size: float  # box volume in m^3 (size rank)
    frame: int  # frame with the most visible pixels, -1 = never visible
    box: tuple[int, int, int, int]  # (x0, y0, x1, y1) pixel box of the object in ``frame`` (x1, y1 exclusive)


def colour_name(pixels: np.ndarray) -> str:
    """Name of the dominant colour of RGB ``pixels`` (N, 3) uint8, from those that are not near-black (black when
    fewer than a quarter are): black/grey/white when unsaturated, else the circular-mean hue of the saturated
    pixels (brown for dark oranges)."""
    px = pixels.reshape(-1, 3).astype(np.uint8)
    lit = px.max(axis=1) >= DARK_MAX
    if lit.sum() < max(1, 0.25 * len(px)):
        return "black"
    hsv = cv2.cvtColor(px[lit].reshape(-1, 1, 3), cv2.COLOR_RGB2HSV).reshape(-1, 3).astype(np.float64)
    sat, val = np.median(hsv[:, 1]), np.median(hsv[:, 2])
    if sat < MIN_SATURATION:
        return "black" if val < 70 else "white" if val > 185 else "grey"
    chroma = hsv[hsv[:, 1] >= MIN_SATURATION]
    ang = np.radians(chroma[:, 0] * 2.0)  # OpenCV hue is degrees / 2
    hue = float(np.degrees(np.arctan2(np.sin(ang).mean(), np.cos(ang).mean())) % 360.0)
    name = next(n for bound, n in HUES if hue < bound)
    return "brown" if name in ("orange", "yellow") and val < 130 else name


def pixel_counts(instances: np.ndarray, top: int) -> np.ndarray:
    """(T, top) visible pixels of every id below ``top`` in every frame (one frame read at a time)."""
    return np.stack([np.bincount(np.asarray(instances[i]).ravel(), minlength=top)[:top] for i in range(len(instances))])


def observe(objects: pl.DataFrame, rgb: np.ndarray, counts: np.ndarray, instances: np.ndarray) -> list[Seen]:
    """One :class:`Seen` per row of ``objects`` (needs object_id, category, size_l/w/h) from ``rgb`` (T, H, W, 3)
    uint8 frames, ``counts`` (T, top) pixels per id and frame and ``instances`` (T, H, W) uint16 ids (frames may
    be read on demand: only each object's best frame is read)."""
    out = []
    for row in objects.iter_rows(named=True):
        oid = row["object_id"]
        size = float(row["size_l"] * row["size_w"] * row["size_h"])
        if not counts[:, oid].any():
            out.append(Seen(oid, row["category"], "", size, -1, (0, 0, 0, 0)))
            continue
        best = int(np.argmax(counts[:, oid]))
        ys, xs = np.nonzero(np.asarray(instances[best]) == oid)
        out.append(Seen(oid, row["category"], colour_name(np.asarray(rgb[best])[ys, xs]), size, best,
                        (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)))
    return out


# ------------------------------------------------------------------------------------------------ offline captions


def _extremes(values: dict[int, float], words: tuple[str, str], margin: float, ratio: bool) -> dict[int, str]:
    """{object: word} for the single largest (``words[0]``) and smallest (``words[1]``) of ``values`` when it beats
    the next one by ``margin`` (a ratio, or an absolute difference)."""
    if len(values) < 2:
        return {}
    order = sorted(values, key=values.get)
    lo, lo2, hi2, hi = values[order[0]], values[order[1]], values[order[-2]], values[order[-1]]
    beats = (lambda a, b: a >= b * margin) if ratio else (lambda a, b: a - b >= margin)
    out = {}
    if beats(hi, hi2):
        out[order[-1]] = words[0]
    if beats(lo2, lo) and order[0] not in out:
        out[order[0]] = words[1]
    return out


def in_frame(rgb: np.ndarray, instances: np.ndarray, depth: np.ndarray, frame: int,
             ids: list[int]) -> dict[int, tuple[str, float, float, float]]:
    """{object: (colour, median depth, centroid x, centroid y as image shares)} of those of ``ids`` that show at
    least :data:`MIN_PIXELS` pixels in ``frame``."""
    inst, d, img = np.asarray(instances[frame]), np.asarray(depth[frame]), np.asarray(rgb[frame])
    h, w = inst.shape
    out = {}
    for oid in ids:
        ys, xs = np.nonzero(inst == oid)
        if len(xs) < MIN_PIXELS:
            continue
        z = d[ys, xs]
        z = z[np.isfinite(z)]
        out[oid] = (colour_name(img[ys, xs]), float(np.median(z)) if len(z) else float("nan"),
                    float(xs.mean()) / w, float(ys.mean()) / h)
    return out


def refine(target: int, alike: list[int], sizes: dict[int, float], there: dict[int, tuple]) -> str | None:
    """The attribute phrase ("larger |", "| on the left", ...) that singles ``target`` out among the objects
    ``alike`` it shares its words with in its caption frame (``there``: :func:`in_frame`), or None."""
    two = len(alike) == 2
    for values, words, margin, ratio, prefix in (
            ({o: sizes[o] for o in alike}, ("larger", "smaller") if two else ("largest", "smallest"), SIZE_MARGIN, True, True),
            ({o: there[o][1] for o in alike}, ("farther", "nearer") if two else ("farthest", "nearest"), DEPTH_MARGIN, True, True),
            ({o: there[o][2] for o in alike}, ("on the right", "on the left"), SIDE_MARGIN, False, False),
            ({o: there[o][3] for o in alike}, ("at the bottom", "at the top"), SIDE_MARGIN, False, False)):
        if all(np.isfinite(list(values.values()))):
            word = _extremes(values, words, margin, ratio).get(target)
            if word:
                return f"{word} |" if prefix else f"| {word}"
    return None


def offline_captions(seen: list[Seen], rgb: np.ndarray, instances: np.ndarray, depth: np.ndarray,
                     colours: list[str] | None = None) -> tuple[list[str], list[int], list[bool]]:
    """(caption, caption frame, singles it out) of every object (module docstring). ``colours``: the dataset's own
    colour words where it has them (else the pixels' colour)."""
    given = {s.object_id: c for s, c in zip(seen, colours or [""] * len(seen)) if c}
    sizes = {s.object_id: s.size for s in seen}
    ids = [s.object_id for s in seen]
    frames: dict[int, dict] = {}
    caps, unique = [], []
    for s in seen:
        if s.frame < 0:
            caps.append(f"the {s.category}")
            unique.append(False)
            continue
        there = frames.setdefault(s.frame, in_frame(rgb, instances, depth, s.frame, ids))
        colour = {o: given.get(o, v[0]) for o, v in there.items()}
        words = colour.get(s.object_id, given.get(s.object_id, s.colour))
        alike = [o for o in there if seen[ids.index(o)].category == s.category and colour[o] == words]
        base = f"the {words} {s.category}"
        phrase = refine(s.object_id, alike, sizes, there) if s.object_id in there and len(alike) > 1 else None
        if phrase:
            before, after = (part.strip() for part in phrase.split("|"))
            base = (base.replace("the ", f"the {before} ", 1) if before else base) + (f" {after}" if after else "")
        caps.append(re.sub(r"\s+", " ", base.replace("_", " ")).strip().lower())
        unique.append(s.object_id in there and (len(alike) == 1 or phrase is not None))  # barely seen: never named
    for group in _duplicates(caps):  # the same words for two objects of the scene: neither is named by them
        for i in group:
            unique[i] = False
    return caps, [s.frame for s in seen], unique


def _duplicates(caps: list[str]) -> list[list[int]]:
    groups: dict[str, list[int]] = {}
    for i, c in enumerate(caps):
        groups.setdefault(c.lower(), []).append(i)
    return [g for g in groups.values() if len(g) > 1]


# --------------------------------------------------------------------------------------------------- VLM captions


def caption_ok(text: str, label: str, max_words: int = MAX_WORDS) -> bool:
    """The VLM reply is usable: one line of plain printable text (no control characters, escapes or bidi marks), at
    most ``max_words`` words and :data:`MAX_CHARS` characters, naming the object's label and no motion, position or
    negation word."""
    words = re.findall(r"[a-z]+", text.lower().replace("n't", " not"))
    return (bool(words) and text.isprintable() and len(text) <= MAX_CHARS and len(text.split()) <= max_words
            and not NOT_APPEARANCE.intersection(words)
            and re.search(rf"\b{re.escape(label.lower())}", text.lower()) is not None)


def _image_messages(prompt: str) -> list[dict]:
    req = json.loads(prompt)
    return [{"role": "user", "content": [{"type": "text", "text": req["text"]},
                                         {"type": "image_url", "image_url": {"url": req["image"]}}]}]


class VLMCaptioner:
    """Captions one object crop + label through litellm (:class:`fourdpqa.llm.CachedCompletion`: on-disk cache,
    one retry policy, rate limit, time budget and circuit breaker); ``stats`` counts accepted / rejected replies and
    cache hits, ``client.stats`` the calls."""

    def __init__(self, model: str, cache_dir: str, completion: Any = None, extra_kwargs: dict | None = None,
                 policy: LLMCallParams | None = None):
        self.generate = CachedCompletion(model, policy or LLMCallParams(), cache_dir, 0.0, completion,
                                         messages=_image_messages, **dict(extra_kwargs or {}))
        self.client = self.generate.client
        self.stats = self.generate.stats

    def caption(self, crop: np.ndarray, label: str) -> str | None:
        """Caption of ``crop`` (h, w, 3) uint8 RGB showing one ``label``; None when the reply fails the slot check."""
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
        if not ok:
            return None
        image = "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode()
        out = self.generate(json.dumps({"text": PROMPT.format(label=label, n=MAX_WORDS), "image": image}, sort_keys=True))
        text = (out or "").strip().strip('"').strip().rstrip(".")
        if not caption_ok(text, label):
            self.stats["rejected"] += 1
            return None
        self.stats["accepted"] += 1
        text = text[:1].lower() + text[1:]
        return text if text.startswith("the ") else f"the {text}"


_RUN_CAPTIONERS: dict[tuple[str, str, str], VLMCaptioner] = {}


def new_run() -> dict[tuple[str, str, str], VLMCaptioner]:
    """Start a stage run (or a pool worker's share of one): the next videos get fresh captioners, each with its own
    time budget and circuit breaker, shared by every video of the run. Returns the run's captioners."""
    _RUN_CAPTIONERS.clear()
    return _RUN_CAPTIONERS


def captioner_from_options(options: dict[str, Any]) -> VLMCaptioner | None:
    """The run's VLM captioner for an adapter's options (``caption_model``), or None for the offline default: one
    per model and cache folder, so an unreachable model trips one circuit breaker for the whole run, not one per
    video."""
    model = options.get("caption_model")
    if not model:
        return None
    policy = LLMCallParams.model_validate(options.get("caption_calls") or {})
    key = (str(model), str(options.get("caption_cache_dir") or CAPTION_OPTIONS["caption_cache_dir"]),
           policy.model_dump_json())
    if key not in _RUN_CAPTIONERS:
        _RUN_CAPTIONERS[key] = VLMCaptioner(*key[:2], policy=policy)
    return _RUN_CAPTIONERS[key]


def _crop(rgb: np.ndarray, s: Seen, pad: float = 0.15) -> np.ndarray:
    x0, y0, x1, y1 = s.box
    dx, dy = int((x1 - x0) * pad) + 1, int((y1 - y0) * pad) + 1
    h, w = rgb.shape[1:3]
    return np.asarray(rgb[s.frame])[max(0, y0 - dy):min(h, y1 + dy), max(0, x0 - dx):min(w, x1 + dx)]


def fill_captions(objects: pl.DataFrame, rgb: np.ndarray, instances: np.ndarray, depth: np.ndarray,
                  captioner: VLMCaptioner | None = None, counts: np.ndarray | None = None,
                  colours: list[str] | None = None) -> pl.DataFrame:
    """``objects`` with a ``caption`` per row, the frame it describes (``caption_frame``, -1 = never visible),
    whether it singles the object out (``caption_unique``) and ``color`` filled from the pixels where empty.

    Arrays (NumPy or frames read on demand): ``rgb`` (T, H, W, 3) uint8, ``instances`` (T, H, W) uint16 with
    object_id values, ``depth`` (T, H, W) float32 z depth in metres; ``counts`` (T, > max id) pixels per id and frame
    when the caller has them (else one pass over ``instances``); ``colours`` the dataset's colour words per row.
    """
    top = int(max(objects["object_id"].to_list(), default=0)) + 1
    counts = pixel_counts(instances, top) if counts is None else counts
    seen = observe(objects, rgb, counts, instances)
    caps, frames, unique = offline_captions(seen, rgb, instances, depth, colours)
    if captioner is not None:
        vlm = [captioner.caption(_crop(rgb, s), s.category) if s.frame >= 0 else None for s in seen]
        chosen = [v or c for v, c in zip(vlm, caps)]
        dup = {i for g in _duplicates(chosen) for i in g}
        unique = [u if i in dup or not vlm[i] else True for i, u in enumerate(unique)]
        caps = [caps[i] if i in dup else c for i, c in enumerate(chosen)]
    given = objects["color"].to_list() if "color" in objects.columns else [""] * len(seen)
    return objects.with_columns(pl.Series("caption", caps, pl.Utf8),
                                pl.Series("color", [g or s.colour for g, s in zip(given, seen)], pl.Utf8),
                                pl.Series("caption_frame", frames, pl.Int64),
                                pl.Series("caption_unique", unique, pl.Boolean))
