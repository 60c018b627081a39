"""The clip windows of a scene: which frames the QA stage asks about and the tracks stage covers (one function,
so the two stages always agree).

A scene cut by its adapter into clips (``scene.json`` ``extra.clips``: ``[start, stop)`` frame ranges of a long
video, see ``fourdpqa.sources.frame_plan``) gets one window per clip, drawn inside it; the adapter already chose
how many clips and how much they may overlap, from the same ``qa`` settings. Any other scene gets ``qa.clips_per_video`` windows drawn over the
whole video by :func:`fourdpqa.sampling.clip_windows`.
"""

from __future__ import annotations

import numpy as np

from fourdpqa.params import Params
from fourdpqa.sampling import clip_windows
from fourdpqa.scene import SceneError, SceneMeta
from fourdpqa.seeding import rng


def adapter_clips(meta: SceneMeta) -> list[tuple[int, int]]:
    """The ``[start, stop)`` clips an adapter cut the scene into (``[]`` when it did not), checked against the
    scene's frames."""
    raw = meta.extra.get("clips")
    if not raw:
        return []
    try:
        clips = [(int(a), int(b)) for a, b in raw]
    except (TypeError, ValueError) as exc:
        raise SceneError(meta.video_id, "scene.json", f"extra.clips must be [start, stop) pairs, got {raw!r}") from exc
    if any(not 0 <= a < b <= meta.n_frames for a, b in clips):
        raise SceneError(meta.video_id, "scene.json", f"extra.clips {clips} must lie within 0..{meta.n_frames}")
    return clips


def scene_windows(params: Params, meta: SceneMeta) -> list[np.ndarray]:
    """The clip windows (scene frame indices) of one scene, seeded by the video id."""
    qa = params.qa_for(meta.source, meta.fps)
    draw = rng(params.base.seed, "qa-clips", meta.video_id)
    clips = adapter_clips(meta)
    if not clips:
        return clip_windows(meta.n_frames, qa.clip_frames, qa.clip_stride, qa.clips_per_video, draw,
                            qa.clip_max_overlap)
    return [a + clip_windows(b - a, qa.clip_frames, qa.clip_stride, 1, draw)[0] for a, b in clips]


def track_windows(params: Params, meta: SceneMeta) -> list[np.ndarray]:
    """The windows the tracks stage covers: the QA windows, or all frames where the QA stage makes none (a video
    shorter than a clip: its tracks stay usable whatever the QA settings become)."""
    try:
        return scene_windows(params, meta)
    except ValueError:
        return [np.arange(meta.n_frames, dtype=np.int64)]
