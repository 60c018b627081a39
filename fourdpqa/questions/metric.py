"""Beyond the paper: metric questions with numeric answers (scored by mean relative accuracy) — object speed in
m/s, displacement and path length in metres, camera travel distance — optionally with a timestamp cue
("between 0.5 s and 2 s", as 4D-RGPT does). question_type 0, category "metric"."""

from __future__ import annotations

import numpy as np

from fourdpqa import motion, sampling
from fourdpqa.questions.base import Ctx, Draft, QuestionType, finish, pick, template

KINDS = ("metric_speed", "metric_displacement", "metric_path_length", "metric_camera_travel")


def seconds(t: float) -> str:
    """0.5 -> "0.5 s", 2.0 -> "2 s", 1.25 -> "1.25 s"."""
    return f"{round(float(t), 2):g} s"


def derive_metric(scene, m, spec, th) -> float:
    a, b = spec["frames"]
    kind = spec["kind"]
    pts = m.cam_pos[a:b + 1] if kind == "metric_camera_travel" else m.obj_pos[m.index(spec["objects"][0]), a:b + 1]
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


def build_metric(ctx: Ctx, fmt: str) -> Draft | None:
    m, th = ctx.motion, ctx.th
    t = m.n_frames
    if ctx.qa.timestamp_cues and ctx.rng.random() < 0.5:
        span = int(ctx.rng.integers(max(1, t // 2), t))
        a = int(ctx.rng.integers(0, t - span))
        b = a + span
        when = f"between {seconds(m.times[a])} and {seconds(m.times[b])}"
    else:
        a, b, when = 0, t - 1, "during the video"
    kind = pick(ctx.rng, KINDS)
    refs = []
    if kind == "metric_camera_travel":
        spec = {"kind": kind, "frames": [a, b], "objects": []}
    else:
        cands = [o for o in m.object_ids if sampling.has_pose(m, o)
                 and sampling.visible_at(ctx.scene, m, o, a, th) and sampling.visible_at(ctx.scene, m, o, b, th)
                 and sampling.visible_frames(ctx.scene, m, o, th)[a:b + 1].mean() >= th.min_visible_frames_share]
        ctx.rng.shuffle(cands)
        spec = {}
        for oid in cands:
            spec = {"kind": kind, "frames": [a, b], "objects": [oid]}
            if _big_enough(derive_metric(ctx.scene, m, dict(spec, kind="metric_path_length"), th), th):
                refs = sampling.refer(ctx.scene, m, [oid], [None], ctx.rng, ctx.qa.reference_mode_mix, th) or []
                if refs:
                    break
        if not refs:
            return None
    value = derive_metric(ctx.scene, m, spec, th)
    if kind == "metric_camera_travel":
        length = value
    else:
        length = derive_metric(ctx.scene, m, dict(spec, kind="metric_path_length"), th)
    if not _big_enough(length, th) or (kind == "metric_displacement" and value < th.translation_some_m):
        return None
    o = refs[0].text if refs else ""
    tid, q = template(ctx.rng, TEMPLATES[kind], o=o, w=when, W=when[:1].upper() + when[1:])
    values = {"value": round(value, 6), "times_s": [round(float(m.times[a]), 4), round(float(m.times[b]), 4)]}
    draft = finish(METRIC, ctx, fmt, q, tid, spec, format_number(value), values, refs, str, (when,))
    draft.question_name = kind
    draft.template_id = f"{kind}/numeric/{tid}"
    return draft


def _big_enough(length: float, th) -> bool:
    """Metric answers on barely moving things are dominated by noise in relative accuracy: require clear motion."""
    return length >= th.translation_some_m


METRIC = QuestionType(0, "metric", "metric", ("numeric",), build_metric, derive_metric)
