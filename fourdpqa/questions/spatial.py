"""Category III, 3D spatial understanding: (8) depth, (9) object-object distance, (10) multi-view depth,
(11) multi-view object-object distance — table rows. All yes/no comparisons; every compared pair differs by a
relative margin (``distance_compare_margin_rel``), and depth orderings must agree with the depth of the objects'
visible pixels. A comparison is mirrored (sides swapped) to reach the wanted answer for a drawn query word."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from fourdpqa import labels, motion, sampling
from fourdpqa.questions import draws
from fourdpqa.questions.base import Ctx, QuestionType, comparison_fact
from fourdpqa.questions.specs import DepthSpec, PairsSpec, Spec
from fourdpqa.sampling import Reference


def _visible_ids(ctx: Ctx, k: int) -> list[int]:
    """Objects a comparison in clip frame ``k`` may be about: posed, visible, and not cut by the image border (a
    comparison of 3D centres must not rest on an object the picture shows only in part)."""
    m = ctx.motion
    return [o for o in m.object_ids if sampling.has_pose(m, o) and sampling.visible_at(ctx.scene, m, o, k, ctx.th)
            and sampling.uncut_at(m, o, k)]


def _at(ref: Reference, k: int) -> str:
    """A reference phrase anchored in clip frame ``k`` (pixel and circle references already name their frame)."""
    return ref.text if ref.mode in ("pixel", "circle") and ref.frame == k else f"{ref.text} in frame {k}"


def _in(ref: Reference, k: int) -> str:
    """A reference inside a question already set in clip frame ``k``: drop its own "in frame k" anchor."""
    return ref.text.removesuffix(f" in frame {k}") if ref.frame == k else ref.text


def _frame_pair(ctx: Ctx) -> tuple[int, int]:
    t = ctx.motion.n_frames
    gap = max(1, t // 4)
    i = int(ctx.rng.integers(0, t - gap))
    j = int(ctx.rng.integers(i + gap, t))
    return (i, j) if ctx.rng.integers(2) else (j, i)


COMPARISON = dict(queries=("less", "greater"), askable=lambda label, fmt, spec: label is not None,
                  fact=comparison_fact, redraws=True)  # each build draws its frames


# ------------------------------------------------------------------------------------------- (8)/(10) depth


def derive_depth(scene, m, spec, th) -> str | None:
    """compare_label of camera distance of object a in clip frame i vs object b in clip frame j ("less" = a is
    closer); None if within the margin or if the median depth of their pixels orders them the other way."""
    (a, b), (i, j) = spec.objects, spec.frames
    da = float(np.linalg.norm(m.obj_pos[m.index(a), i] - m.cam_pos[i]))
    db = float(np.linalg.norm(m.obj_pos[m.index(b), j] - m.cam_pos[j]))
    lab = labels.compare_label(da, db, th.distance_compare_margin_rel)
    pa = motion.instance_depth(scene, int(m.frames[i]), a)
    pb = motion.instance_depth(scene, int(m.frames[j]), b)
    if lab is None or not (np.isfinite(pa) and np.isfinite(pb)) or np.sign(pa - pb) != np.sign(da - db):
        return None
    return lab


def _depth_assets(ctx: Ctx, multiview: bool) -> Iterator[DepthSpec]:
    """Pairs of objects visible in their frames (one frame, or two frames far apart), drawn (:mod:`.draws`)."""
    i, j = _frame_pair(ctx) if multiview else (int(ctx.rng.integers(ctx.motion.n_frames)),) * 2
    vis_i = _visible_ids(ctx, i)
    pairs = draws.ordered_pairs(ctx.rng, vis_i, _visible_ids(ctx, j)) if multiview else draws.pairs(ctx.rng, vis_i)
    return (DepthSpec((a, b), frames=(i, j)) for a, b in pairs)


def _depth_values(ctx: Ctx, spec: DepthSpec) -> dict:
    m = ctx.motion
    sides = list(zip(spec.objects, spec.frames, strict=True))
    return {"camera_distance_m": [round(float(np.linalg.norm(m.obj_pos[m.index(o), f] - m.cam_pos[f])), 4)
                                  for o, f in sides],
            "pixel_depth_m": [round(motion.instance_depth(ctx.scene, int(m.frames[f]), o), 4) for o, f in sides]}


DEPTH_Q = {"less": "closer to the camera than", "greater": "farther from the camera than"}
TEMPLATES_T8 = {"yn": {
    "a": "In frame {k}, is {a} {q} {b}?",
    "b": "Looking at frame {k}: is {a} {q} {b}?",
    "c": "At frame {k} of the video, is {a} located {q} {b}?",
    "d": "Consider frame {k}. Is {a} {q} {b}?",
}}
TEMPLATES_T10 = {"yn": {
    "a": "Is {a} {q} {b}?",
    "b": "Comparing different moments of the video: is {a} {q} {b}?",
    "c": "Across the two frames, is {a} positioned {q} {b}?",
    "d": "Taking each object at its own frame, is {a} {q} {b}?",
}}
DEPTH_ROW = dict(spec_type=DepthSpec, derive=derive_depth, ref_frames=lambda spec: list(spec.frames),
                 mirror=lambda spec: spec.with_(objects=spec.objects[::-1], frames=spec.frames[::-1]),
                 phrase=lambda query, spec: {"q": DEPTH_Q[query]}, values=_depth_values, reference_system="camera",
                 **COMPARISON)

DEPTH = QuestionType(
    8, "depth", "spatial", ("yn",), assets=lambda ctx, fmt: _depth_assets(ctx, False), templates=TEMPLATES_T8,
    slots=lambda ctx, spec, refs: {"k": str(spec.frames[0]), "a": _in(refs[0], spec.frames[0]),
                                   "b": _in(refs[1], spec.frames[0])}, **DEPTH_ROW,
)
MV_DEPTH = QuestionType(
    10, "multiview_depth", "spatial", ("yn",), assets=lambda ctx, fmt: _depth_assets(ctx, True),
    templates=TEMPLATES_T10,
    slots=lambda ctx, spec, refs: {"a": _at(refs[0], spec.frames[0]), "b": _at(refs[1], spec.frames[1])},
    **DEPTH_ROW,
)


# --------------------------------------------------------------------------- (9)/(11) object-object distance


def derive_obj_dist(scene, m, spec, th) -> str | None:
    """compare_label of |pair0| in clip frame i vs |pair1| in clip frame j."""
    (p, q), (i, j) = spec.pairs, spec.frames
    d0 = float(np.linalg.norm(m.obj_pos[m.index(p[0]), i] - m.obj_pos[m.index(p[1]), i]))
    d1 = float(np.linalg.norm(m.obj_pos[m.index(q[0]), j] - m.obj_pos[m.index(q[1]), j]))
    return labels.compare_label(d0, d1, th.distance_compare_margin_rel)


def _pair_distances(ctx: Ctx, spec: PairsSpec) -> dict:
    m = ctx.motion
    return {"distance_m": [round(float(np.linalg.norm(m.obj_pos[m.index(x), f] - m.obj_pos[m.index(y), f])), 4)
                           for (x, y), f in zip(spec.pairs, spec.frames, strict=True)]}


def _mirror_pairs(spec: PairsSpec) -> PairsSpec:
    (p, q), (i, j) = spec.pairs, spec.frames
    out = spec.with_(pairs=(q, p), frames=(j, i))
    if spec.layout == "cross":
        return out.with_(objects=tuple(dict.fromkeys([*q, *p])))
    if spec.layout is None:  # type 9: reference r in the middle, compared objects a and b around it
        return out.with_(objects=(q[0], p[1], p[0]))
    return out


def _obj_dist_assets(ctx: Ctx, fmt: str) -> Iterator[PairsSpec]:
    """Triples (a, r, b) visible in one frame: is a closer to the centre r than b is? Drawn (:mod:`.draws`)."""
    k = int(ctx.rng.integers(ctx.motion.n_frames))
    return (PairsSpec((a, r, b), pairs=((a, r), (b, r)), frames=(k, k))
            for a, r, b in draws.centred_triples(ctx.rng, _visible_ids(ctx, k)))


OBJ_Q = {"less": "closer to", "greater": "farther from"}
DIST_Q = {"less": "smaller", "greater": "greater"}
PAIR_Q = {"less": "closer together", "greater": "farther apart"}
TEMPLATES_T9 = {"yn": {
    "a": "In frame {k}, is {a} {q} {r} than {b} is?",
    "b": "Looking at frame {k}: is {a} {q} {r} than {b} is?",
    "c": "At frame {k}, is the distance from {a} to {r} {q2} than the distance from {b} to {r}?",
    "d": "Consider frame {k}. In 3D, is {a} {q} {r} than {b} is?",
}}

OBJ_DIST = QuestionType(
    9, "object_object_distance", "spatial", ("yn",), assets=_obj_dist_assets, spec_type=PairsSpec, derive=derive_obj_dist,
    templates=TEMPLATES_T9, ref_frames=lambda spec: [spec.frames[0]] * 3, mirror=_mirror_pairs,
    slots=lambda ctx, spec, refs: {"k": str(spec.frames[0]),
                                   **{n: _in(r, spec.frames[0]) for n, r in zip("arb", refs, strict=True)}},
    phrase=lambda query, spec: {"q": OBJ_Q[query], "q2": DIST_Q[query]}, values=_pair_distances, **COMPARISON,
)


def _mv_obj_dist_assets(ctx: Ctx, fmt: str) -> Iterator[PairsSpec]:
    """The same pair at two frames ("are they closer together in frame i than in frame j?") or two different
    pairs, one per frame; one layout per build, drawn (:mod:`.draws`: the C(V, 2)^2 pairs of pairs of the
    "cross" layout are never listed)."""
    i, j = _frame_pair(ctx)
    vis_i, vis_j = _visible_ids(ctx, i), _visible_ids(ctx, j)
    if ctx.rng.integers(2):
        in_j = set(vis_j)
        both = [o for o in vis_i if o in in_j]
        return (PairsSpec((a, b), pairs=((a, b), (a, b)), frames=(i, j), layout="same")
                for a, b in draws.pairs(ctx.rng, both))
    return (PairsSpec(tuple(dict.fromkeys([*p, *q])), pairs=(p, q), frames=(i, j),
                      layout="cross") for p, q in draws.pairs_of_pairs(ctx.rng, vis_i, vis_j))


def _mv_ref_frames(spec: PairsSpec) -> list[int | None]:
    (p, _), (i, j) = spec.pairs, spec.frames
    if spec.layout == "same":
        return [i, i]
    return [i if o in p else j for o in spec.objects]


def _mv_slots(ctx: Ctx, spec: PairsSpec, refs) -> dict[str, str]:
    i, j = (str(f) for f in spec.frames)
    by_id = {r.object_id: r.text for r in refs}
    (a, b), (c, d) = spec.pairs
    return {"a": by_id[a], "b": by_id[b], "c": by_id[c], "d": by_id[d], "i": i, "j": j}


TEMPLATES_T11 = {
    "yn_same": {
        "a": "Are {a} and {b} {q} in frame {i} than in frame {j}?",
        "b": "Comparing frame {i} with frame {j}: are {a} and {b} {q} in frame {i}?",
        "c": "Are {a} and {b} {q} at frame {i} than they are at frame {j}?",
        "d": "Relative to frame {j}, are {a} and {b} {q} in frame {i}?",
    },
    "yn_cross": {
        "a": "Is the distance between {a} and {b} in frame {i} {q} than the distance between {c} and {d} in frame {j}?",
        "b": "Compare frame {i} with frame {j}: is {a} to {b} (frame {i}) a {q} distance than {c} to {d} (frame {j})?",
        "c": "Is the gap between {a} and {b} at frame {i} {q} than the gap between {c} and {d} at frame {j}?",
        "d": "In 3D, is the distance from {a} to {b} in frame {i} {q} than that from {c} to {d} in frame {j}?",
    },
}

MV_OBJ_DIST = QuestionType(
    11, "multiview_object_distance", "spatial", ("yn",), assets=_mv_obj_dist_assets, spec_type=PairsSpec,
    derive=derive_obj_dist,
    templates=TEMPLATES_T11, ref_frames=_mv_ref_frames, mirror=_mirror_pairs, slots=_mv_slots,
    variant=lambda fmt, spec: f"yn_{spec.layout}",
    # frame-anchored references (pixel, circle) would name one frame while the other pair is asked in another
    ref_modes=lambda ctx, spec: ctx.qa.reference_mode_mix if spec.layout == "same" else (
        {k: v for k, v in ctx.qa.reference_mode_mix.items() if k in ("caption", "box_mark")} or {"caption": 1.0}),
    phrase=lambda query, spec: {"q": (PAIR_Q if spec.layout == "same" else DIST_Q)[query]},
    values=_pair_distances, **COMPARISON,
)
