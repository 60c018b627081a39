"""Pixel-only camera-motion baseline: dense optical flow (OpenCV Farneback) -> camera motion -> an option.

Not learned and blind to the 4D ground truth, it shows that camera-movement questions are answerable from the
pixels. Per consecutive frame pair the flow, in units of the focal length f = ``focal_ratio`` * width, is fitted
with an affine field over normalised coordinates (x, y) = ((u - cx) / f, (v - cy) / f), y down:

    du = a1 + a2*x + a3*y        dv = a4 + a5*x + a6*y

Content moves against the camera: a pan right (or truck right) shifts it left (a1 < 0), a tilt up (or pedestal up)
shifts it down (a4 > 0), moving forward expands it (divergence (a2 + a6) / 2 > 0) and a clockwise roll turns it
anticlockwise on screen (du = y*w, dv = -x*w with w > 0). A sideways *translation* differs from a pan by parallax:
near content moves faster than far content, and in ground-plane scenes depth varies with the image row, so du then
changes with y (shear a3 beyond the rotational part) — pans do not. The same holds for pedestal vs tilt (stretch
a6 beyond the divergence). Summed over the clip, the estimate is matched against the motion each option describes.
Camera-object distance questions whose object is marked (circle, box) or given by a pixel are answered from the
object's apparent size (local flow divergence over the tracked region, size ~ 1 / distance); other questions use
the text-only prior.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from fourdpqa.answers import LETTERS
from fourdpqa.predictors.base import Predictor, Sample, load_frames
from fourdpqa.predictors.blind import BlindPredictor
from schemas.qa import present

AXES = ("right", "up", "forward", "pan_right", "tilt_up", "roll_cw")


@dataclass(frozen=True)
class CameraMotion:
    """Clip-level camera motion evidence; signs: + = right, up, forward, pan right, tilt up, roll clockwise.
    Values are summed per-pair flow parameters (focal-length units, i.e. ~radians for rotations)."""

    values: dict[str, float]

    def signs(self, thresholds: Mapping[str, float]) -> dict[str, int]:
        return {a: int(np.sign(v)) if abs(v) >= thresholds[a] else 0 for a, v in self.values.items()}


def pair_flow(a: np.ndarray, b: np.ndarray, size: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """Dense flow (H', W', 2) in pixels of a ``size``-wide copy, from RGB uint8 frame ``a`` to ``b``, and a
    (H', W') bool mask of pixels with enough texture for the flow to mean something (flat sky gives zero flow)."""
    h, w = a.shape[:2]
    dims = (size, max(8, round(h * size / w)))
    ga, gb = (cv2.resize(cv2.cvtColor(x, cv2.COLOR_RGB2GRAY), dims, interpolation=cv2.INTER_AREA) for x in (a, b))
    texture = cv2.cornerMinEigenVal(ga, 5)
    return cv2.calcOpticalFlowFarneback(ga, gb, None, 0.5, 3, 15, 3, 5, 1.2, 0), texture > 0.02 * texture.max() + 1e-9


PairFlow = Callable[[int, int, int], tuple[np.ndarray, np.ndarray]]  # (frame i, frame j, size) -> pair_flow


class FlowCache:
    """Decoded frames and pair flows of the clips being answered, kept for the next questions: the questions of a
    clip (its camera movement, the distance to each marked object) share its frames and most of their flows, and a
    marked variant of a clip shares every unmarked frame. Keys are frame paths; frames given as arrays are not
    kept. Bounded to the last ``max_frames`` frames and ``max_flows`` flows."""

    def __init__(self, max_frames: int = 96, max_flows: int = 256):
        self.max_frames, self.max_flows = max_frames, max_flows
        self._frames: OrderedDict[str, np.ndarray] = OrderedDict()
        self._flows: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()

    @staticmethod
    def _put(store: OrderedDict, key: object, value: object, limit: int) -> None:
        store[key] = value
        while len(store) > limit:
            store.popitem(last=False)

    def frames(self, frames: Sequence) -> list[np.ndarray]:
        out = []
        for f in frames:
            if not isinstance(f, str):
                out.append(load_frames([f])[0])
                continue
            if f not in self._frames:
                self._put(self._frames, f, load_frames([f])[0], self.max_frames)
            out.append(self._frames[f])
        return out

    def pair_flow(self, frames: Sequence, decoded: Sequence[np.ndarray]) -> PairFlow:
        """``pair_flow`` between frames of one clip (``frames``: their paths, ``decoded``: the arrays), cached by
        the two paths and the size."""
        def flow(i: int, j: int, size: int) -> tuple[np.ndarray, np.ndarray]:
            if not (isinstance(frames[i], str) and isinstance(frames[j], str)):
                return pair_flow(decoded[i], decoded[j], size)
            key = (frames[i], frames[j], size)
            if key not in self._flows:
                self._put(self._flows, key, pair_flow(decoded[i], decoded[j], size), self.max_flows)
            return self._flows[key]
        return flow


def fit_affine(flow: np.ndarray, focal_ratio: float, mask: np.ndarray | None = None,
               border: float = 0.1) -> tuple[np.ndarray, float]:
    """Least-squares (a1..a6) of one flow field (H, W, 2) in pixels over ``mask`` (default: all), refitted once
    without the worst 20% residuals (independently moving objects); also the half-height of the fitted region in
    normalised units. The outer ``border`` of the image is ignored (Farneback is poor there)."""
    h, w = flow.shape[:2]
    f = focal_ratio * w
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    keep = (xs >= border * w) & (xs < (1 - border) * w) & (ys >= border * h) & (ys < (1 - border) * h)
    if mask is not None and (keep & mask).sum() >= 12:
        keep &= mask
    keep = keep.ravel()
    x = ((xs - (w - 1) / 2) / f).ravel()[keep]
    y = ((ys - (h - 1) / 2) / f).ravel()[keep]
    du, dv = flow[..., 0].ravel()[keep] / f, flow[..., 1].ravel()[keep] / f
    design = np.stack([np.ones_like(x), x, y], axis=1)
    inliers = np.ones(len(x), bool)
    for _ in range(2):
        au, *_ = np.linalg.lstsq(design[inliers], du[inliers], rcond=None)
        av, *_ = np.linalg.lstsq(design[inliers], dv[inliers], rcond=None)
        residual = np.hypot(du - design @ au, dv - design @ av)
        inliers = residual <= np.quantile(residual, 0.8)
    return np.concatenate([au, av]), float(np.abs(y).max())


def _rotation_part(a3: float, minus_a5: float) -> float:
    """Roll is the part of the shear both components agree on (a rotation has a3 == -a5, parallax has a5 ~ 0)."""
    return float(np.sign(a3) * min(abs(a3), abs(minus_a5))) if np.sign(a3) == np.sign(minus_a5) else 0.0


def estimate_camera_motion(frames: Sequence[np.ndarray], focal_ratio: float = 0.9, parallax_ratio: float = 0.5,
                           flow_of: PairFlow | None = None) -> CameraMotion:
    """Clip camera motion from consecutive-frame flow (model and signs in the module doc). A pair's sideways
    (vertical) shift counts as translation when the row-dependent part of du (dv) across the image exceeds
    ``parallax_ratio`` times the shift itself, else as rotation. ``flow_of(i, j, size)``: the flow between two of
    ``frames`` (default: computed here)."""
    if len(frames) < 2:
        raise ValueError("camera motion needs at least two frames")
    flow_of = flow_of or (lambda i, j, size: pair_flow(frames[i], frames[j], size))
    totals = dict.fromkeys(AXES, 0.0)
    for i in range(len(frames) - 1):
        flow, textured = flow_of(i, i + 1, 128)
        (a1, a2, a3, a4, a5, a6), half = fit_affine(flow, focal_ratio, textured)
        roll = _rotation_part(a3, -a5)
        divergence = (a2 + a6) / 2
        sideways, vertical = -a1, a4
        sideways_parallax = abs(a3 - roll) * half > parallax_ratio * abs(a1)
        vertical_parallax = abs(a6 - divergence) * half > parallax_ratio * abs(a4)
        totals["right" if sideways_parallax else "pan_right"] += sideways
        totals["up" if vertical_parallax else "tilt_up"] += vertical
        totals["roll_cw"] += roll
        totals["forward"] += divergence
    return CameraMotion({k: float(v) for k, v in totals.items()})


# Option / question text -> claimed motion per axis (+1 / -1 / 0 = claimed still, absent = not mentioned).
_ROTATION_PATTERNS = [
    (re.compile(r"\b(?:pan|pans|panning|panned|turn|turns|turning|yaw|yaws|rotat\w*)\s+(?:to\s+the\s+)?(left|right)\b"),
     "pan_right", {"right": 1, "left": -1}),
    (re.compile(r"\b(?:tilt|tilts|tilting|tilted|pitch|pitches)\s+(up|upward|upwards|down|downward|downwards)\b"),
     "tilt_up", {"up": 1, "upward": 1, "upwards": 1, "down": -1, "downward": -1, "downwards": -1}),
    (re.compile(r"\b(?:roll|rolls|rolling|rolled)\s+(?:to\s+(?:the|its)\s+)?"
                r"(counter[- ]?clockwise|anti[- ]?clockwise|clockwise|left|right)\b"),
     "roll_cw", {"clockwise": 1, "right": 1, "left": -1}),
]
_TRANSLATION_WORDS = {
    "forward": ("forward", 1), "forwards": ("forward", 1), "backward": ("forward", -1),
    "backwards": ("forward", -1), "back": ("forward", -1), "left": ("right", -1), "right": ("right", 1),
    "up": ("up", 1), "upward": ("up", 1), "upwards": ("up", 1), "down": ("up", -1), "downward": ("up", -1),
    "downwards": ("up", -1),
}
_STILL = re.compile(r"\b(?:static|stationary|still|not\s+mov\w*|does\s+not\s+move|no\s+motion|none)\b")


def parse_claim(text: str) -> dict[str, int] | None:
    """Motion a phrase describes, e.g. "moves forward and pans left" -> {forward: 1, pan_right: -1}; a phrase
    saying the camera is still -> every axis 0; None when it names no camera motion."""
    text = text.lower().replace("_", " ")
    if _STILL.search(text):
        return dict.fromkeys(AXES, 0)
    claim: dict[str, int] = {}
    for pattern, axis, signs in _ROTATION_PATTERNS:
        for m in pattern.finditer(text):
            word = m.group(1).replace(" ", "-")
            claim[axis] = -1 if word.startswith(("counter", "anti")) else signs[word]
        text = pattern.sub(" ", text)
    for word in re.findall(r"[a-z]+", text):
        if word in _TRANSLATION_WORDS:
            axis, sign = _TRANSLATION_WORDS[word]
            claim[axis] = sign
    return claim or None


def agreement(claim: Mapping[str, int], estimate: Mapping[str, int], complete: bool) -> int:
    """How many axes the claim gets right; a ``complete`` claim (an MC option) also claims 0 on unnamed axes."""
    axes = AXES if complete else tuple(claim)
    return sum(int(claim.get(a, 0) == estimate[a]) for a in axes)


# ------------------------------------------------------------------ camera-object distance from apparent size
DISTANCE_LABELS = ("increasing", "decreasing", "constant", "increasing then decreasing", "decreasing then increasing")
_PIXEL_REF = re.compile(r"\((\d*\.\d+),\s*(\d*\.\d+)\)\s+in\s+frame\s+(\d+)")


@dataclass(frozen=True)
class Region:
    """Where the question points at the object: clip frame, centre and radius, normalised to the image size."""

    frame: int
    x: float
    y: float
    radius: float


def object_region(record: Mapping) -> Region | None:
    """The referenced object's image region from a circle / box mark or a pixel reference; None for captions."""
    for mark in present(record.get("marks") or []):
        if mark["kind"] == "circle":
            return Region(int(mark["frame"]), *mark["xy"], float(mark.get("radius", 0.05)))
        if mark["kind"] == "box":
            x0, y0, x1, y1 = mark["box"]
            return Region(int(mark["frame"]), (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0) / 2)
    m = _PIXEL_REF.search(record.get("question", ""))
    if m:
        return Region(int(m.group(3)), float(m.group(1)), float(m.group(2)), 0.06)
    return None


def _local_flow(flow: np.ndarray, cx: float, cy: float, r: float) -> tuple[float, float, float]:
    """(median du, median dv, divergence) of the flow inside the disc (cx, cy, r) (pixels of the flow field)."""
    h, w = flow.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    inside = (xs - cx) ** 2 + (ys - cy) ** 2 <= max(r, 3.0) ** 2
    if inside.sum() < 9:
        return 0.0, 0.0, 0.0
    du, dv = flow[..., 0][inside], flow[..., 1][inside]
    x, y = xs[inside] - cx, ys[inside] - cy
    design = np.stack([np.ones_like(x), x, y], axis=1)
    au, *_ = np.linalg.lstsq(design, du, rcond=None)
    av, *_ = np.linalg.lstsq(design, dv, rcond=None)
    return float(np.median(du)), float(np.median(dv)), float((au[1] + av[2]) / 2)


def distance_ratio(frames: Sequence[np.ndarray], region: Region, size: int = 128, marked: bool = False,
                   flow_of: PairFlow | None = None) -> np.ndarray:
    """(T,) camera-object distance relative to the first frame, d(t) / d(0) - 1, from the apparent size of the
    object: the region is followed with the flow from its frame forwards and backwards, and the local divergence
    of the flow over its inner 70% gives its scale change (apparent size ~ 1 / distance). With ``marked`` (a circle
    or box drawn on the region's frame, which corrupts the flow from and to that frame) the scale change of the two
    pairs touching the marked frame is taken from their neighbours (motion is smooth over a clip). ``flow_of``: as
    in :func:`estimate_camera_motion`."""
    flow_of = flow_of or (lambda i, j, size: pair_flow(frames[i], frames[j], size))
    t_n = len(frames)
    h, w = frames[0].shape[:2]
    scale = size / w
    steps = np.zeros(t_n - 1)  # log apparent-size change from frame t to t + 1
    for direction in (1, -1):
        cx, cy = (region.x * w - 0.5) * scale, (region.y * h - 0.5) * scale
        r = region.radius * max(h, w) * scale
        t = region.frame
        while 0 <= t + direction < t_n:
            flow, _ = flow_of(t, t + direction, size)
            du, dv, div = _local_flow(flow, cx, cy, 0.7 * r)
            step = float(np.log1p(np.clip(div, -0.5, 0.5)))
            steps[min(t, t + direction)] = step * direction
            cx, cy, r = cx + du, cy + dv, r * float(np.exp(step))
            t += direction
    if marked:
        bad = {region.frame - 1, region.frame} & set(range(t_n - 1))
        good = [i for i in range(t_n - 1) if i not in bad]
        if good:
            for i in bad:
                nearest = sorted(good, key=lambda g: abs(g - i))[:2]
                steps[i] = float(np.mean(steps[nearest]))
    log_size = np.concatenate([[0.0], np.cumsum(steps)])
    return np.exp(-log_size) - 1.0


def distance_label_of(ratio: np.ndarray, none: float = 0.1, some: float = 0.15) -> str:
    """The distance-change label closest to a (noisy) relative distance curve (always one of DISTANCE_LABELS)."""
    peak, trough, end = float(ratio.max()), float(ratio.min()), float(ratio[-1])
    if max(abs(peak), abs(trough)) <= none:
        return "constant"
    if peak >= some and peak - end >= some and trough >= -none:
        return "increasing then decreasing"
    if trough <= -some and end - trough >= some and peak <= none:
        return "decreasing then increasing"
    return "increasing" if end > 0 else "decreasing"


_UP = r"(?:increas\w*|grow\w*|farther|further away|larger|rises?)"
_DOWN = r"(?:decreas\w*|shrink\w*|closer|nearer|smaller|drops?)"


def parse_distance_label(text: str) -> str | None:
    """Distance-change label a phrase names ("It first increases, then decreases" -> that label)."""
    text = text.lower()
    ups = [m.start() for m in re.finditer(_UP, text)]
    downs = [m.start() for m in re.finditer(_DOWN, text)]
    if ups and downs:
        return "increasing then decreasing" if ups[0] < downs[0] else "decreasing then increasing"
    if ups:
        return "increasing"
    if downs:
        return "decreasing"
    if re.search(r"\b(?:same|constant|unchanged|steady|stable)\b", text):
        return "constant"
    return None


class FlowPredictor(Predictor):
    """Camera-movement and camera-object distance questions (the object given by a mark or pixel) from optical
    flow; all other questions from a fitted :class:`BlindPredictor`."""

    name = "flow"

    def __init__(self, fallback: BlindPredictor, focal_ratio: float = 0.9, parallax_ratio: float = 0.5,
                 thresholds: Mapping[str, float] | None = None, max_frames: int = 16):
        self.fallback = fallback
        self.focal_ratio = focal_ratio
        self.parallax_ratio = parallax_ratio
        # Clip totals below these count as "no motion" on that axis (rad for rotations, flow units otherwise).
        self.thresholds = dict(thresholds or {"right": 0.05, "up": 0.05, "forward": 0.05,
                                              "pan_right": 0.07, "tilt_up": 0.07, "roll_cw": 0.07})
        self.max_frames = max_frames
        self.cache = FlowCache()

    def predict(self, batch: list[Sample]) -> list[str]:
        return [self._answer(s) for s in batch]

    def _answer(self, sample: Sample) -> str:
        record = sample.record
        answer = None
        if record["answer_format"] in ("mc", "yn"):
            if record["question_name"] == "camera_movement":
                answer = self._camera_movement(sample)
            elif record["question_name"] == "camera_object_distance":
                answer = self._camera_object_distance(sample)
        return answer if answer is not None else self.fallback.predict([sample])[0]

    def _camera_object_distance(self, sample: Sample) -> str | None:
        record = sample.record
        region = object_region(record)
        if region is None:
            return None
        frames = self.cache.frames(sample.frames)
        if not 0 <= region.frame < len(frames) or len(frames) < 2:
            return None
        marked = bool(record.get("marks"))
        flow_of = self.cache.pair_flow(sample.frames, frames)
        estimate = distance_label_of(distance_ratio(frames, region, marked=marked, flow_of=flow_of))
        if record["answer_format"] == "yn":
            asked = parse_distance_label(record["question"])
            return None if asked is None else ("yes" if asked == estimate else "no")
        hits = [i for i, o in enumerate(record["options"]) if parse_distance_label(str(o)) == estimate]
        return LETTERS[hits[0]] if len(hits) == 1 else None

    def _camera_movement(self, sample: Sample) -> str | None:
        record = sample.record
        frames = self.cache.frames(sample.frames)
        step = max(1, (len(frames) - 1) // max(1, self.max_frames - 1))
        clip_flow = self.cache.pair_flow(sample.frames[::step], frames[::step])
        motion = estimate_camera_motion(frames[::step], self.focal_ratio, self.parallax_ratio, clip_flow)
        estimate = motion.signs(self.thresholds)
        if record["answer_format"] == "mc":
            return self._choose(record["options"], estimate, motion.values)
        claim = parse_claim(record["question"])
        if claim is None:
            return None
        return "yes" if agreement(claim, estimate, complete=False) == len(claim) else "no"

    @staticmethod
    def _choose(options: Sequence[str], estimate: Mapping[str, int], values: Mapping[str, float]) -> str | None:
        """Letter of the option that agrees on most axes; ties by how strongly the flow supports its claims."""
        scored = []
        for i, option in enumerate(options):
            claim = parse_claim(str(option))
            if claim is not None:
                support = sum(s * values[a] for a, s in claim.items())
                scored.append((agreement(claim, estimate, complete=True), support, -i))
        if not scored:
            return None
        return LETTERS[-max(scored)[2]]
