"""Object captions for sources that have none (paper Sec. 3.2: labels alone do not identify objects, so each object
is captioned from its box and label).

Offline default (no network): "the <colour> <label>" with the colour named from the object's own pixels, then — only
for objects whose caption is still shared within the scene — a size rank ("larger", "smallest"), a distance rank where
first seen ("nearer", "farthest"), the image side where first seen ("on the left"), and as a last resort an ordinal
("number 2"). Every caption of a scene is therefore unique, which is what lets a question name an object by caption.

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


@dataclass(frozen=True)
class Seen:
    """What the captions are made from, for one object."""

    object_id: int
    category: str
    colour: str  # named colour ("" when never visible)
    size: float  # box volume in m^3 (size rank)
    frame: int  # frame with the most visible pixels, -1 = never visible
    distance: float  # median depth (m) of the object's pixels in the first frame it is visible (nan = never)
    box: tuple[int, int, int, int]  # (x0, y0, x1, y1) pixel box of the object in ``frame`` (x1, y1 exclusive)
    first_x: float  # mask centroid x / width in the first frame the object is visible (nan = never visible)


def colour_name(pixels: np.ndarray) -> str:
    """Name of the dominant colour of RGB ``pixels`` (N, 3) uint8: black/grey/white when unsaturated, else the
    circular-mean hue of the saturated pixels (brown for dark oranges)."""
    hsv = cv2.cvtColor(pixels.reshape(-1, 1, 3).astype(np.uint8), cv2.COLOR_RGB2HSV).reshape(-1, 3).astype(np.float64)
    sat, val = np.median(hsv[:, 1]), np.median(hsv[:, 2])
    if sat < MIN_SATURATION:
        return "black" if val < 70 else "white" if val > 185 else "grey"
    chroma = hsv[hsv[:, 1] >= MIN_SATURATION]
    ang = np.radians(chroma[:, 0] * 2.0)  # OpenCV hue is degrees / 2
    hue = float(np.degrees(np.arctan2(np.sin(ang).mean(), np.cos(ang).mean())) % 360.0)
    name = next(n for bound, n in HUES if hue < bound)
    return "brown" if name in ("orange", "yellow") and val < 130 else name


def observe(objects: pl.DataFrame, rgb: np.ndarray, instances: np.ndarray, depth: np.ndarray) -> list[Seen]:
    """One :class:`Seen` per row of ``objects`` (needs object_id, category, size_l/w/h) from ``rgb`` (T, H, W, 3)
    uint8, ``instances`` (T, H, W) uint16 (value = object_id) and ``depth`` (T, H, W) float32 metres."""
    t, h, w = instances.shape
    ids = objects["object_id"].to_list()
    top = max(ids, default=0) + 1
    counts = np.stack([np.bincount(instances[i].ravel(), minlength=top)[:top] for i in range(t)])  # (T, top)
    out = []
    for row in objects.iter_rows(named=True):
        oid = row["object_id"]
        visible = np.flatnonzero(counts[:, oid])
        size = float(row["size_l"] * row["size_w"] * row["size_h"])
        if not visible.size:
            out.append(Seen(oid, row["category"], "", size, -1, float("nan"), (0, 0, 0, 0), float("nan")))
            continue
        best = int(np.argmax(counts[:, oid]))
        ys, xs = np.nonzero(instances[best] == oid)
        first = instances[visible[0]] == oid
        d = depth[visible[0]][first]
        dist = float(np.median(d[np.isfinite(d)])) if np.isfinite(d).any() else float("nan")
        out.append(Seen(oid, row["category"], colour_name(rgb[best][ys, xs]), size, best, dist,
                        (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1),
                        float(np.nonzero(first)[1].mean() / w)))
    return out


# ------------------------------------------------------------------------------------------------ offline captions


def _rank_words(values: list[float], two: tuple[str, str], many: tuple[str, str]) -> list[str]:
    """Words for the single largest / smallest of ``values`` ("larger"/"smaller" for two); none for tied or NaN."""
    if not np.isfinite(values).all():
        return [""] * len(values)
    hi, lo = max(values), min(values)
    words = two if len(values) == 2 else many
    unique_hi, unique_lo = values.count(hi) == 1, values.count(lo) == 1
    return [words[0] if v == hi and unique_hi else words[1] if v == lo and unique_lo else "" for v in values]


RANKS = (("size", ("larger", "smaller"), ("largest", "smallest")),
         ("distance", ("farther", "nearer"), ("farthest", "nearest")))


def _side_word(x: float) -> str:
    if not np.isfinite(x):
        return ""
    return "on the left" if x < 1 / 3 else "on the right" if x > 2 / 3 else "in the middle"


def _duplicates(caps: list[str]) -> list[list[int]]:
    groups: dict[str, list[int]] = {}
    for i, c in enumerate(caps):
        groups.setdefault(c.lower(), []).append(i)
    return [g for g in groups.values() if len(g) > 1]


def unique_captions(caps: list[str], seen: list[Seen]) -> list[str]:
    """Make ``caps`` unique within the scene by refining only the shared ones: size rank, distance rank, the side
    of the image where the object is first seen, then an ordinal."""
    caps = list(caps)
    for attr, two, many in RANKS:
        for group in _duplicates(caps):
            for i, word in zip(group, _rank_words([getattr(seen[i], attr) for i in group], two, many)):
                caps[i] = caps[i].replace("the ", f"the {word} ", 1) if word else caps[i]
    for group in _duplicates(caps):
        for i in group:
            side = _side_word(seen[i].first_x)
            caps[i] = f"{caps[i]} {side}" if side else caps[i]
    for group in _duplicates(caps):
        for k, i in enumerate(sorted(group, key=lambda j: seen[j].object_id), start=1):
            caps[i] = f"{caps[i]} number {k}"
    return caps


def offline_captions(seen: list[Seen]) -> list[str]:
    """'the red car', refined where needed so that every caption of the scene is unique."""
    base = [f"the {s.colour} {s.category}" if s.colour else f"the {s.category}" for s in seen]
    return unique_captions([re.sub(r"\s+", " ", b.replace("_", " ")).strip().lower() for b in base], seen)


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
    return rgb[s.frame, max(0, y0 - dy):min(h, y1 + dy), max(0, x0 - dx):min(w, x1 + dx)]


def fill_captions(objects: pl.DataFrame, rgb: np.ndarray, instances: np.ndarray, depth: np.ndarray,
                  captioner: VLMCaptioner | None = None) -> pl.DataFrame:
    """``objects`` with a scene-unique ``caption`` per row and ``color`` filled from the pixels where empty.

    Arrays: ``rgb`` (T, H, W, 3) uint8, ``instances`` (T, H, W) uint16 with object_id values, ``depth`` (T, H, W)
    float32 z depth in metres.
    """
    seen = observe(objects, rgb, instances, depth)
    caps = offline_captions(seen)
    if captioner is not None:
        vlm = [captioner.caption(_crop(rgb, s), s.category) if s.frame >= 0 else None for s in seen]
        chosen = [v or c for v, c in zip(vlm, caps)]
        dup = {i for g in _duplicates(chosen) for i in g}
        caps = unique_captions([caps[i] if i in dup else c for i, c in enumerate(chosen)], seen)
    colours = [s.colour for s in seen]
    given = objects["color"].to_list() if "color" in objects.columns else [""] * len(seen)
    return objects.with_columns(pl.Series("caption", caps, pl.Utf8),
                                pl.Series("color", [g or c for g, c in zip(given, colours)], pl.Utf8))
