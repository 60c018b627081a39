"""Which frames of a raw video become the standard scene, chosen from its timestamps before any image is decoded.

Every adapter takes the same options (``standardize.sources[].options``). Their defaults come from the source's
``qa`` settings (:func:`selection_defaults`: ``clip_frames``, ``clip_max_overlap``, ``sample_fps`` and
``clips_per_video`` of ``qa`` / ``qa.sources.<name>``), so the clips decoded are the clips asked about; recorded
sources get :data:`REAL_SOURCE_CLIPS` clips per video unless ``qa.sources.<name>.clips_per_video`` says otherwise,
generated ones (``kubric``) are kept whole:

- ``start_s`` / ``end_s``: time window, seconds from the first frame (``end_s: null`` = to the end);
- ``sample_fps``: keep about this many frames per second (stride = round(native fps / sample_fps)); or ``stride``;
- ``clips``: ``0`` = keep the window as one run (capped at ``max_frames``); ``k`` = cut up to ``k`` clips of
  ``clip_frames`` sampled frames, spread evenly over the window, any two sharing at most ``clip_max_overlap`` of
  their frames, and keep only those (the paper samples clips from long videos); a window shorter than one clip
  gives one clip of all its frames (too short for QA, which then quarantines the video as before);
- ``max_frames``: at most this many frames per video (clips beyond it are dropped; ``null`` = no cap).

The scene records the source frame of each of its frames (``extra.source_frames``) and, when cut into clips, the
``[start, stop)`` range of each clip (``extra.clips``): the QA and tracks stages draw their windows inside those
(``fourdpqa.scene_clips``), never across the gap between two clips.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from fourdpqa.errors import BadInput

if TYPE_CHECKING:
    from fourdpqa.params import Params, SourceSpec

SELECTION_OPTIONS: dict[str, Any] = {"start_s": 0.0, "end_s": None, "sample_fps": None, "stride": 1, "clips": 0,
                                     "clip_frames": 32, "clip_max_overlap": 0.0, "max_frames": None}
REAL_SOURCE_CLIPS = 4  # clips per video for recorded sources (every kind but kubric) unless configured


@dataclass(frozen=True)
class FramePlan:
    """Source frame indices to decode (increasing) and the clips as ``[start, stop)`` ranges of the scene frames."""

    frames: np.ndarray
    clips: list[tuple[int, int]]
    stride: int  # source frames per kept frame (the kept frames play at the native rate / stride)

    def extra(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source_frames": self.frames.tolist()}
        if self.clips:
            out["clips"] = [list(c) for c in self.clips]
        return out


def selection_options(kind: str) -> dict[str, Any]:
    """The frame-selection options every adapter accepts, with their defaults for a source of ``kind`` when no
    params are at hand (direct calls, tests)."""
    return {**SELECTION_OPTIONS, "clips": 0 if kind == "kubric" else REAL_SOURCE_CLIPS}


def selection_defaults(params: Params, spec: SourceSpec) -> dict[str, Any]:
    """The frame-selection defaults of one configured source, from its ``qa`` settings (module docstring)."""
    qa, own = params.qa_for(spec.name), params.qa.sources.get(spec.name)
    per_source = own.clips_per_video if own is not None else None
    clips = per_source or (0 if spec.kind == "kubric" else max(REAL_SOURCE_CLIPS, params.qa.clips_per_video))
    return {**SELECTION_OPTIONS, "clips": clips, "clip_frames": qa.clip_frames, "clip_max_overlap": qa.clip_max_overlap,
            "sample_fps": own.sample_fps if own is not None else None}


def with_defaults(params: Params, spec: SourceSpec) -> SourceSpec:
    """``spec`` with the frame-selection defaults under its own options (what its adapter is called with)."""
    return spec.model_copy(update={"options": {**selection_defaults(params, spec), **spec.options}})


def _number(video_id: str, opts: dict[str, Any], key: str, low: float, integer: bool = False,
            none_ok: bool = False) -> Any:
    """A numeric option, checked (a configuration mistake is reported against the video it stops)."""
    v = opts.get(key)
    if v is None and none_ok:
        return None
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= low
    if not ok or (integer and int(v) != v):
        raise BadInput(f"video {video_id!r}: params.yaml: option {key}={v!r} must be a finite "
                         f"{'integer' if integer else 'number'} >= {low}")
    return int(v) if integer else float(v)


def plan_frames(video_id: str, times_s: np.ndarray, opts: dict[str, Any]) -> FramePlan:
    """The :class:`FramePlan` of a video whose frames are at ``times_s`` (seconds, increasing) under ``opts``."""
    times = np.asarray(times_s, np.float64)
    if not len(times):
        raise BadInput(f"video {video_id!r}: timestamps: the video has no frames")
    if not np.isfinite(times).all() or (np.diff(times) <= 0).any():
        raise BadInput(f"video {video_id!r}: timestamps: frame times must be finite and strictly increasing")
    start, end = _number(video_id, opts, "start_s", 0.0), _number(video_id, opts, "end_s", 0.0, none_ok=True)
    clips, clip_frames = _number(video_id, opts, "clips", 0, True), _number(video_id, opts, "clip_frames", 1, True)
    overlap = _number(video_id, opts, "clip_max_overlap", 0.0)
    cap = _number(video_id, opts, "max_frames", 1, True, none_ok=True)
    if overlap > 1:
        raise BadInput(f"video {video_id!r}: params.yaml: option clip_max_overlap={overlap} must lie in [0, 1]")
    rel = times - times[0]
    window = np.flatnonzero((rel >= start - 1e-9) & (rel <= (np.inf if end is None else end) + 1e-9))
    if not len(window):
        raise BadInput(f"video {video_id!r}: params.yaml: no frame in the window start_s={start}, end_s={end} "
                         f"(the video lasts {rel[-1]:.3f} s)")
    native = (len(times) - 1) / rel[-1] if len(times) > 1 and rel[-1] > 0 else 1.0
    fps = _number(video_id, opts, "sample_fps", 1e-9, none_ok=True)
    stride = max(1, round(native / fps)) if fps else _number(video_id, opts, "stride", 1, True)
    kept = window[::stride]
    if not clips:
        return FramePlan(kept[:cap], [], stride)
    span = min(clip_frames, len(kept), cap or len(kept))
    gap = max(1, math.ceil(span * (1.0 - overlap) - 1e-9))  # smallest start difference allowed
    for count in range(max(1, min(clips, (len(kept) - span) // gap + 1)), 0, -1):  # fewest dropped to fit the cap
        starts = np.round(np.linspace(0, len(kept) - span, count)).astype(np.int64) if count > 1 else np.array([0])
        chosen = np.unique(np.concatenate([np.arange(s, s + span) for s in starts]))
        if cap is None or len(chosen) <= cap:
            break
    position = {int(p): i for i, p in enumerate(chosen)}
    ranges = [(position[int(s)], position[int(s)] + span) for s in starts]
    return FramePlan(kept[chosen], ranges, stride)
