"""Category III, 3D spatial understanding: (8) depth, (9) object-object distance, (10) multi-view depth,
(11) multi-view object-object distance. All yes/no; every compared pair differs by a relative margin
(``distance_compare_margin_rel``), and depth orderings must agree with the depth of the objects' visible pixels."""

from __future__ import annotations

from itertools import permutations

import numpy as np

from fourdpqa import labels, motion, sampling
from fourdpqa.questions.base import Ctx, Draft, QuestionType, finish, template, want_yes
from fourdpqa.sampling import Reference


def _visible_ids(ctx: Ctx, k: int) -> list[int]:
    m = ctx.motion
    out = [o for o in m.object_ids if sampling.has_pose(m, o) and sampling.visible_at(ctx.scene, m, o, k, ctx.th)]
    ctx.rng.shuffle(out)
    return out


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


def _orient(ctx: Ctx, lab: str, query_pool: tuple[str, str]) -> tuple[str, bool]:
    """(query, swap): the query label and whether to swap the compared sides so the answer is the drawn yes/no."""
    query = query_pool[int(ctx.rng.integers(2))]
    return query, (lab == query) != want_yes(ctx.rng)


# ------------------------------------------------------------------------------------------- (8)/(10) depth


def derive_depth(scene, m, spec, th) -> str | None:
    """compare_label of camera distance of object a in clip frame i vs object b in clip frame j ("less" = a is
    closer); None if within the margin or if the median depth of their pixels orders them the other way."""
    (a, b), (i, j) = spec["objects"], spec["frames"]
    da = float(np.linalg.norm(m.obj_pos[m.index(a), i] - m.cam_pos[i]))
    db = float(np.linalg.norm(m.obj_pos[m.index(b), j] - m.cam_pos[j]))
    lab = labels.compare_label(da, db, th.distance_compare_margin_rel)
    pa = motion.instance_depth(scene, int(m.frames[i]), a)
    pb = motion.instance_depth(scene, int(m.frames[j]), b)
    if lab is None or not (np.isfinite(pa) and np.isfinite(pb)) or np.sign(pa - pb) != np.sign(da - db):
        return None
    return lab


DEPTH_Q = {"less": "closer to the camera than", "greater": "farther from the camera than"}
YN_T8 = {
    "a": "In frame {k}, is {a} {q} {b}?",
    "b": "Looking at frame {k}: is {a} {q} {b}?",
    "c": "At frame {k} of the video, is {a} located {q} {b}?",
    "d": "Consider frame {k}. Is {a} {q} {b}?",
}
YN_T10 = {
    "a": "Is {a} {q} {b}?",
    "b": "Comparing different moments of the video: is {a} {q} {b}?",
    "c": "Across the two frames, is {a} positioned {q} {b}?",
    "d": "Taking each object at its own frame, is {a} {q} {b}?",
}


def _build_depth(ctx: Ctx, fmt: str, multiview: bool) -> Draft | None:
    m = ctx.motion
    i, j = _frame_pair(ctx) if multiview else (int(ctx.rng.integers(m.n_frames)),) * 2
    vis_i, vis_j = _visible_ids(ctx, i), set(_visible_ids(ctx, j))
    for a, b in permutations(vis_i, 2):
        if b not in vis_j:
            continue
        lab = derive_depth(ctx.scene, m, {"objects": [a, b], "frames": [i, j]}, ctx.th)
        if lab is None:
            continue
        query, swap = _orient(ctx, lab, ("less", "greater"))
        if swap:
            a, b, i, j = b, a, j, i
        spec = {"objects": [a, b], "frames": [i, j], "query": query}
        label = derive_depth(ctx.scene, m, spec, ctx.th)
        refs = sampling.refer(ctx.scene, m, [a, b], [i, j], ctx.rng, ctx.qa.reference_mode_mix, ctx.th)
        if refs is None or label is None:
            continue
        if multiview:
            tid, q = template(ctx.rng, YN_T10, a=_at(refs[0], i), b=_at(refs[1], j), q=DEPTH_Q[query])
        else:
            tid, q = template(ctx.rng, YN_T8, k=i, a=_in(refs[0], i), b=_in(refs[1], i), q=DEPTH_Q[query])
        values = {"camera_distance_m": [round(float(np.linalg.norm(m.obj_pos[m.index(o), f] - m.cam_pos[f])), 4)
                                        for o, f in ((a, i), (b, j))],
                  "pixel_depth_m": [round(motion.instance_depth(ctx.scene, int(m.frames[f]), o), 4) for o, f in ((a, i), (b, j))]}
        qt = MV_DEPTH if multiview else DEPTH
        return finish(qt, ctx, fmt, q, tid, spec, label, values, refs, str,
                      (DEPTH_Q[query], f"frame {i}", f"frame {j}"))
    return None


def build_depth(ctx: Ctx, fmt: str) -> Draft | None:
    return _build_depth(ctx, fmt, multiview=False)


def build_mv_depth(ctx: Ctx, fmt: str) -> Draft | None:
    return _build_depth(ctx, fmt, multiview=True)


# --------------------------------------------------------------------------- (9)/(11) object-object distance


def derive_obj_dist(scene, m, spec, th) -> str | None:
    """compare_label of |pair0| in clip frame i vs |pair1| in clip frame j."""
    (p, q), (i, j) = spec["pairs"], spec["frames"]
    d0 = float(np.linalg.norm(m.obj_pos[m.index(p[0]), i] - m.obj_pos[m.index(p[1]), i]))
    d1 = float(np.linalg.norm(m.obj_pos[m.index(q[0]), j] - m.obj_pos[m.index(q[1]), j]))
    return labels.compare_label(d0, d1, th.distance_compare_margin_rel)


OBJ_Q = {"less": "closer to", "greater": "farther from"}
YN_T9 = {
    "a": "In frame {k}, is {a} {q} {r} than {b} is?",
    "b": "Looking at frame {k}: is {a} {q} {r} than {b} is?",
    "c": "At frame {k}, is the distance from {a} to {r} {q2} than the distance from {b} to {r}?",
    "d": "Consider frame {k}. In 3D, is {a} {q} {r} than {b} is?",
}
DIST_Q = {"less": "smaller", "greater": "greater"}
PAIR_Q = {"less": "closer together", "greater": "farther apart"}
YN_T11_SAME = {
    "a": "Are {a} and {b} {q} in frame {i} than in frame {j}?",
    "b": "Comparing frame {i} with frame {j}: are {a} and {b} {q} in frame {i}?",
    "c": "Are {a} and {b} {q} at frame {i} than they are at frame {j}?",
    "d": "Relative to frame {j}, are {a} and {b} {q} in frame {i}?",
}
YN_T11_CROSS = {
    "a": "Is the distance between {a} and {b} in frame {i} {q} than the distance between {c} and {d} in frame {j}?",
    "b": "Compare frame {i} with frame {j}: is {a} to {b} (frame {i}) a {q} distance than {c} to {d} (frame {j})?",
    "c": "Is the gap between {a} and {b} at frame {i} {q} than the gap between {c} and {d} at frame {j}?",
    "d": "In 3D, is the distance from {a} to {b} in frame {i} {q} than that from {c} to {d} in frame {j}?",
}


def build_obj_dist(ctx: Ctx, fmt: str) -> Draft | None:
    m = ctx.motion
    k = int(ctx.rng.integers(m.n_frames))
    for r, a, b in permutations(_visible_ids(ctx, k), 3):
        lab = derive_obj_dist(ctx.scene, m, {"pairs": [[a, r], [b, r]], "frames": [k, k]}, ctx.th)
        if lab is None:
            continue
        query, swap = _orient(ctx, lab, ("less", "greater"))
        if swap:
            a, b = b, a
        spec = {"objects": [a, r, b], "pairs": [[a, r], [b, r]], "frames": [k, k], "query": query}
        refs = sampling.refer(ctx.scene, m, [a, r, b], [k, k, k], ctx.rng, ctx.qa.reference_mode_mix, ctx.th)
        if refs is None:
            continue
        label = derive_obj_dist(ctx.scene, m, spec, ctx.th)
        tid, q = template(ctx.rng, YN_T9, k=k, a=_in(refs[0], k), r=_in(refs[1], k), b=_in(refs[2], k), q=OBJ_Q[query],
                          q2=DIST_Q[query])
        values = {"distance_m": [round(float(np.linalg.norm(m.obj_pos[m.index(x), k] - m.obj_pos[m.index(r), k])), 4) for x in (a, b)]}
        slot = DIST_Q[query] if tid == "c" else OBJ_Q[query]
        return finish(OBJ_DIST, ctx, fmt, q, tid, spec, label, values, refs, str, (slot, f"frame {k}"))
    return None


def build_mv_obj_dist(ctx: Ctx, fmt: str) -> Draft | None:
    m = ctx.motion
    i, j = _frame_pair(ctx)
    vis_i, vis_j = _visible_ids(ctx, i), set(_visible_ids(ctx, j))
    same = bool(ctx.rng.integers(2))
    both = [o for o in vis_i if o in vis_j]
    groups = ([(a, b, a, b) for a, b in permutations(both, 2) if a < b] if same else
              [(a, b, c, d) for a, b in permutations(vis_i, 2) for c, d in permutations(vis_j, 2)
               if a < b and c < d and {a, b} != {c, d}])
    for a, b, c, d in groups:
        lab = derive_obj_dist(ctx.scene, m, {"pairs": [[a, b], [c, d]], "frames": [i, j]}, ctx.th)
        if lab is None:
            continue
        query, swap = _orient(ctx, lab, ("less", "greater"))
        if swap:
            a, b, c, d, i, j = c, d, a, b, j, i
        spec = {"pairs": [[a, b], [c, d]], "frames": [i, j], "query": query}
        label = derive_obj_dist(ctx.scene, m, spec, ctx.th)
        if same:
            spec["objects"] = [a, b]
            refs = sampling.refer(ctx.scene, m, [a, b], [i, i], ctx.rng, ctx.qa.reference_mode_mix, ctx.th)
            if refs is None:
                continue
            tid, q = template(ctx.rng, YN_T11_SAME, a=refs[0].text, b=refs[1].text, i=i, j=j, q=PAIR_Q[query])
            tid, slot = "same-" + tid, PAIR_Q[query]
        else:
            ids = list(dict.fromkeys([a, b, c, d]))
            spec["objects"] = ids
            frames = [i if o in (a, b) else j for o in ids]
            # frame-anchored references (pixel, circle) would name one frame while the pair is asked in another
            mix = {k: v for k, v in ctx.qa.reference_mode_mix.items() if k in ("caption", "box_mark")}
            refs = sampling.refer(ctx.scene, m, ids, frames, ctx.rng, mix or {"caption": 1.0}, ctx.th)
            if refs is None:
                continue
            by_id = {r.object_id: r.text for r in refs}
            tid, q = template(ctx.rng, YN_T11_CROSS, a=by_id[a], b=by_id[b], c=by_id[c], d=by_id[d], i=i, j=j, q=DIST_Q[query])
            tid, slot = "cross-" + tid, DIST_Q[query]
        values = {"distance_m": [round(float(np.linalg.norm(m.obj_pos[m.index(x), f] - m.obj_pos[m.index(y), f])), 4)
                                 for (x, y), f in (((a, b), i), ((c, d), j))]}
        return finish(MV_OBJ_DIST, ctx, fmt, q, tid, spec, label, values, refs, str, (slot, f"frame {i}", f"frame {j}"))
    return None


DEPTH = QuestionType(8, "depth", "spatial", ("yn",), build_depth, derive_depth, reference_system="camera")
OBJ_DIST = QuestionType(9, "object_object_distance", "spatial", ("yn",), build_obj_dist, derive_obj_dist)
MV_DEPTH = QuestionType(10, "multiview_depth", "spatial", ("yn",), build_mv_depth, derive_depth, reference_system="camera")
MV_OBJ_DIST = QuestionType(11, "multiview_object_distance", "spatial", ("yn",), build_mv_obj_dist, derive_obj_dist)
