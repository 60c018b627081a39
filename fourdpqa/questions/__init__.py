"""The 13 question types of the paper (Table 1 numbering) plus metric questions (type 0) as one table
(:data:`TYPES`), the per-clip generator that runs every row through the one builder, and the record format."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np

from fourdpqa.atomic import json_default
from fourdpqa.questions.base import Ctx, Draft, QuestionType
from fourdpqa.questions.builder import build
from fourdpqa.questions.camera import CAM_OBJ_DISTANCE, CAMERA_MOVEMENT
from fourdpqa.questions.metric import METRIC
from fourdpqa.questions.object_motion import AGENT, DIRECTION, MOVED, OBJ_OBJ_CHANGE, ROTATION
from fourdpqa.questions.spatial import DEPTH, MV_DEPTH, MV_OBJ_DIST, OBJ_DIST
from fourdpqa.questions.tracking import TRUE, VISUAL
from schemas.qa import TYPED_COLUMNS, present, unknown_fields

TYPES: dict[int, QuestionType] = {qt.qtype: qt for qt in (
    METRIC, CAMERA_MOVEMENT, CAM_OBJ_DISTANCE, ROTATION, DIRECTION, AGENT, MOVED, OBJ_OBJ_CHANGE, DEPTH, OBJ_DIST,
    MV_DEPTH, MV_OBJ_DIST, VISUAL, TRUE,
)}
ATTEMPTS = 3  # builds tried per question slot (each draws new assets) before the slot is left empty
SINGLE_FRAME_TYPES = frozenset({8, 9})  # depth and object-object distance: one frame is enough
MOTION_TYPES = frozenset({0, 1, 2, 3, 4, 5, 6, 7})  # labels of motion over the clip (metric questions included)
MIN_MOTION_S = 1.0  # a shorter clip in which nothing clearly moves cannot tell standing still from slow motion
# Measured values are stored to 1e-6 (micrometres, micro-degrees): the last bits of arctan2 / arcsin differ between
# NumPy's AVX-512 and AVX2 kernels, and a record must have the same bytes on every CPU (tests/test_determinism.py).
MEASUREMENT_DECIMALS = 6


def enabled_types(ctx: Ctx) -> list[int]:
    if ctx.qa.question_types:
        return [t for t in ctx.qa.question_types if t in TYPES]
    return [t for t in sorted(TYPES) if t != 0 or ctx.qa.metric_questions]


def skipped_types(ctx: Ctx) -> dict[int, str]:
    """Enabled types this clip cannot carry, with the reason (issue 23.6): every type but depth and
    object-object distance needs two frames; the motion types need a clip long enough, or motion large enough,
    to reach the label thresholds ("static" of a head-mounted camera over 33 ms would be a guess)."""
    enabled = enabled_types(ctx)
    m = ctx.motion
    if m.n_frames < 2:
        return {t: "single-frame clip" for t in enabled if t not in SINGLE_FRAME_TYPES}
    if m.duration_s >= MIN_MOTION_S:
        return {}
    posed = [o for o in m.object_ids if np.isfinite(m.obj_pos[m.index(o)]).all()]
    if any(ctx.translates(o) or ctx.rotates(o) for o in [None, *posed]):
        return {}
    reason = (f"clip of {m.duration_s:.2f} s < {MIN_MOTION_S:g} s in which nothing moves "
              f"{ctx.metres.translation_some_m:g} m or turns {ctx.th.rotation_some_deg:g} deg")
    return {t: reason for t in enabled if t in MOTION_TYPES}


def choose_format(ctx: Ctx, qt: QuestionType, used: Counter, exhausted: set[str]) -> str | None:
    """A format of ``qt`` drawn from ``qa.answer_format_mix`` among those this clip has asked least so far for the
    type (and that still have an unasked fact), so a clip's few slots of a type cover its formats before repeating
    one; None when every format is exhausted."""
    weights = np.array([ctx.qa.answer_format_mix.get(f, 1.0 if f in ("trajectory", "numeric") else 0.0) for f in qt.formats])
    if weights.sum() <= 0:
        weights = np.ones(len(qt.formats))
    weights = np.where([f in exhausted for f in qt.formats], 0.0, weights)
    if weights.sum() <= 0:
        return None
    fewest = min(used[f] for f, w in zip(qt.formats, weights, strict=True) if w > 0)
    weights = np.where([used[f] == fewest for f in qt.formats], weights, 0.0)
    return qt.formats[int(ctx.rng.choice(len(qt.formats), p=weights / weights.sum()))]


def generate_clip(ctx: Ctx) -> list[Draft]:
    """``qa.questions_per_clip`` question slots cycling over the enabled types (in a fresh random order each
    round, so every type gets its turn); each slot asks a fact not yet asked in its format in this clip (a yes/no
    slot yields every query of its fact, in both polarities); duplicates are dropped."""
    skipped = skipped_types(ctx)
    types = [t for t in enabled_types(ctx) if t not in skipped]
    drafts: list[Draft] = []
    seen: set[tuple] = set()
    asked: set[tuple] = set()
    used: dict[int, Counter] = {t: Counter() for t in types}
    exhausted: dict[int, set[str]] = {t: set() for t in types}
    order: list[int] = []
    for _ in range(ctx.qa.questions_per_clip if types else 0):
        if not order:
            order = [int(t) for t in ctx.rng.permutation(types)]
        qt = TYPES[order.pop()]
        for _attempt in range(ATTEMPTS):
            fmt = choose_format(ctx, qt, used[qt.qtype], exhausted[qt.qtype])
            if fmt is None:
                break
            built = build(qt, ctx, fmt, asked)
            if not built:
                if not qt.redraws:  # a type whose assets are all tried each build has no fact left in fmt
                    exhausted[qt.qtype].add(fmt)
                continue
            used[qt.qtype][fmt] += 1
            for d in built:
                asked.add((qt.qtype, fmt, qt.fact(d.spec, d.label)))
                key = draft_key(qt, d)
                if key not in seen:
                    seen.add(key)
                    drafts.append(d)
            break
    return drafts


def draft_key(qt: QuestionType, d: Draft) -> tuple:
    """What makes two drafts of a clip the same question: MC and free-form ask a fact once, yes/no once per query
    word and orientation; trajectories and numbers once per question text (templates are mere rewordings)."""
    if d.answer_format in ("mc", "free"):
        return (d.question_type, d.answer_format, qt.fact(d.spec, d.label))
    if d.answer_format == "yn":
        return (d.question_type, "yn", dumps(d.spec.as_dict()))
    return (d.question, d.answer)


def fact_key(record: dict) -> tuple:
    """The independent fact a QA record asks, within its video: (video, type, the type's canonical fact of the
    record's spec and label). Coarser than (video, type, label, objects), never finer, so keeping one record per
    fact keeps at most one per (video, type, label, objects)."""
    qt = TYPES[int(record["question_type"])]
    stored = present(record["measurement"] or {}).get("spec") or {"objects": list(record["object_ids"])}
    return (record["video_id"], int(record["question_type"]), *qt.fact(qt.spec_type.from_dict(stored), record["label"]))


def to_record(d: Draft, *, rid: str, video_id: str, source: str, clip_id: str, clip_frames: list[int], fps: float,
              seed: int) -> dict:
    """A QA record (``schemas.qa.QASchema`` row) from a draft."""
    continuous = d.answer_format in ("trajectory", "numeric")
    return {
        "id": rid, "video_id": video_id, "source": source, "clip_id": clip_id,
        "clip_frames": [int(f) for f in clip_frames], "fps": float(fps),
        "question_type": d.question_type, "question_name": d.question_name, "category": d.category,
        "reference_mode": d.reference_mode, "answer_format": d.answer_format, "question": d.question,
        "options": list(d.options), "answer": d.answer, "answer_text": d.answer_text,
        "label": "" if continuous else d.label,
        "measurement": typed_value("measurement", {"spec": d.spec.as_dict(), "values": rounded(d.values),
                                                    "slots": d.slots}),
        "threshold": typed_value("threshold", d.threshold), "marks": typed_value("marks", d.marks),
        "object_ids": [int(o) for o in d.object_ids],
        "template_id": d.template_id, "seed": int(seed), "phrased": False,
    }


def rounded(value, decimals: int = MEASUREMENT_DECIMALS):
    """``value`` (plain JSON types after :func:`dumps`) with every float rounded to ``decimals``."""
    if isinstance(value, dict):
        return {k: rounded(v, decimals) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v, decimals) for v in value]
    if isinstance(value, float | np.floating):
        return round(float(value), decimals)
    if isinstance(value, np.ndarray):
        return rounded(value.tolist(), decimals)
    return value


def typed_value(column: str, value: dict | list) -> dict | list:
    """``value`` as the plain JSON types (numpy scalars / arrays and tuples become ints, floats and lists, as the
    JSON text column had them) for typed column ``column`` of ``schemas.qa``; a key the column's struct has no
    field for is an error (building the frame would drop it silently)."""
    plain = json.loads(dumps(value))
    unknown = unknown_fields(plain, TYPED_COLUMNS[column])
    if unknown:
        raise ValueError(f"QA record {column} has fields {unknown} that schemas.qa.TYPED_COLUMNS does not declare")
    return plain


def dumps(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=json_default)
