"""Beyond the paper: metric questions with numeric answers (scored by mean relative accuracy) — object speed in
m/s, displacement and path length in metres, camera travel distance — optionally with a timestamp cue
("between 0.5 s and 2 s", as 4D-RGPT does). question_type 0, category "metric"."""

from __future__ import annotations

import numpy as np

from fourdpqa import motion, sampling
from fourdpqa.questions.base import Ctx, QuestionType, pick
from fourdpqa.questions.specs import MetricSpec

KINDS = ("metric_speed", "metric_displacement", "metric_path_length", "metric_camera_travel")


def seconds(t: float) -> str:
    """0.5 -> "0.5 s", 2.0 -> "2 s", 1.25 -> "1.25 s"."""
    return f"{round(float(t), 2):g} s"


def derive_metric(scene, m, spec, th) -> float:
    a, b = spec.frames
    kind = spec.kind
    pts = m.cam_pos[a:b + 1] if kind == "metric_camera_travel" else m.obj_pos[m.index(spec.objects[0]), a:b + 1]
    if kind == "metric_displacement":
        return float(np.linalg.norm(pts[-1] - pts[0]))
    length = motion.path_length(pts)
    if kind == "metric_speed":
        return length / max(float(m.times[b] - m.times[a]), 1e-9)
    return length


def format_number(v: float) -> str:
    return f"{v:.2f}"


TEMPLATES = {
    "metric_speed": {
        "a": "What is the average speed of {o} {w}, in metres per second?",
        "b": "How fast does {o} move on average {w}? Give the speed in m/s.",
        "c": "Estimate the mean speed (m/s) of {o} {w}.",
        "d": "{W}, at what average speed in metres per second does {o} travel?",
    },
    "metric_displacement": {
        "a": "How far, in metres, is {o} from where it started, measured {w}?",
        "b": "What is the straight-line displacement of {o} {w}, in metres?",
        "c": "Estimate in metres the net displacement of {o} {w}.",
        "d": "{W}, by how many metres does the position of {o} change in a straight line?",
    },
    "metric_path_length": {
        "a": "What total distance, in metres, does {o} travel {w}?",
        "b": "How long is the path followed by {o} {w}, in metres?",
        "c": "Estimate the length in metres of the path covered by {o} {w}.",
        "d": "{W}, how many metres does {o} cover along its path?",
    },
    "metric_camera_travel": {
        "a": "How many metres does the camera travel {w}?",
        "b": "What distance, in metres, does the camera cover {w}?",
        "c": "Estimate the length in metres of the camera's path {w}.",
        "d": "{W}, how far does the camera move along its path, in metres?",
    },
}


def _metric_assets(ctx: Ctx, fmt: str) -> list[MetricSpec]:
    """One time window (the whole clip, or with ``timestamp_cues`` half the time a sub-window) and one kind; the
    object kinds need an object visible at both ends and through most of the window, that clearly moves."""
    m, th = ctx.motion, ctx.th
    t = m.n_frames
    if ctx.qa.timestamp_cues and ctx.rng.random() < 0.5:
        span = int(ctx.rng.integers(max(1, t // 2), t))
        a = int(ctx.rng.integers(0, t - span))
        frames = [a, a + span]
    else:
        frames = [0, t - 1]
    kind = pick(ctx.rng, KINDS)
    if kind == "metric_camera_travel":
        return [MetricSpec(kind=kind, frames=tuple(frames))]
    a, b = frames
    cands = [o for o in m.object_ids if sampling.has_pose(m, o)
             and sampling.visible_at(ctx.scene, m, o, a, th) and sampling.visible_at(ctx.scene, m, o, b, th)
             and sampling.visible_frames(ctx.scene, m, o, th)[a:b + 1].mean() >= th.min_visible_frames_share]
    ctx.rng.shuffle(cands)
    return [MetricSpec((o,), kind=kind, frames=tuple(frames)) for o in cands]


def _measure(ctx: Ctx, spec: MetricSpec) -> str | None:
    """The answer text, or None when the motion is too small for a relative-accuracy score to mean anything."""
    m, th = ctx.motion, ctx.th
    value = derive_metric(ctx.scene, m, spec, th)
    path = spec.with_(kind="metric_path_length")
    length = value if spec.kind == "metric_camera_travel" else derive_metric(ctx.scene, m, path, th)
    if not _big_enough(length, th) or (spec.kind == "metric_displacement" and value < th.translation_some_m):
        return None
    return format_number(value)


def _when(ctx: Ctx, spec: MetricSpec) -> str:
    a, b = spec.frames
    if (a, b) == (0, ctx.motion.n_frames - 1):
        return "during the video"
    return f"between {seconds(ctx.motion.times[a])} and {seconds(ctx.motion.times[b])}"


def _slots(ctx: Ctx, spec: MetricSpec, refs) -> dict[str, str]:
    when = _when(ctx, spec)
    return {"o": refs[0].text if refs else "", "w": when, "W": when[:1].upper() + when[1:]}


def _values(ctx: Ctx, spec: MetricSpec) -> dict:
    a, b = spec.frames
    return {"value": round(derive_metric(ctx.scene, ctx.motion, spec, ctx.th), 6),
            "times_s": [round(float(ctx.motion.times[a]), 4), round(float(ctx.motion.times[b]), 4)]}


def _big_enough(length: float, th) -> bool:
    """Metric answers on barely moving things are dominated by noise in relative accuracy: require clear motion."""
    return length >= th.translation_some_m


METRIC = QuestionType(
    0, "metric", "metric", ("numeric",), assets=_metric_assets, spec_type=MetricSpec, derive=derive_metric,
    measure=_measure,
    templates=TEMPLATES, slots=_slots,
    variant=lambda fmt, spec: spec.kind, values=_values, name_of=lambda spec: spec.kind, redraws=True,
    fact=lambda spec, label: (spec.kind, tuple(spec.frames), tuple(spec.objects)),
)
