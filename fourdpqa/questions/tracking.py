"""Category IV, point tracking: (12) visual point tracking P2D and (13) true-motion point tracking M2D (paper
Eq. 1-2) — table rows. The query names a pixel in a query frame and the target frames; the answer lists the
targets in a randomised order (no autoregressive extrapolation shortcut), coordinates normalised to [0, 1] with 3
decimals and a per-frame flag: visible / occluded (point inside the image but hidden) / out of view.

Generation reads the tracks the tracks stage stored (:mod:`fourdpqa.qa_tracks`); ``derive`` (the oracle's path)
recomputes the one queried track from the scene.
"""

from __future__ import annotations

import numpy as np

from fourdpqa import qa_tracks
from fourdpqa import tracks as tr
from fourdpqa.qa_format import normalise_xy, serialise_trajectory
from fourdpqa.questions.base import Ctx, QuestionType
from fourdpqa.questions.specs import TrackSpec
from fourdpqa.sampling import Reference

MOVING_SHARE = 0.7  # share of tracking questions asked about points on moving objects (when there are some)


def _entries(t: tr.Tracks, i: int, kind: str, columns: list[int], frames: list[int], width: int,
             height: int) -> list[tuple]:
    """Answer entries of query ``i`` of ``t``: for each clip frame ``frames[n]``, its track column ``columns[n]``."""
    out = []
    for k, c in zip(frames, columns, strict=True):
        xy = (t.visual_xy if kind == "visual" else t.true_xy)[i, c]
        inside = bool(np.isfinite(xy).all() and -0.5 <= xy[0] <= width - 0.5 and -0.5 <= xy[1] <= height - 0.5)
        if kind == "true":
            inside = inside and bool(t.true_in_view[i, c])
        if not inside:
            out.append((k, None, None, "out of view"))
            continue
        x, y = normalise_xy(float(xy[0]), float(xy[1]), width, height)
        flag = "occluded" if kind == "visual" and bool(t.visual_occluded[i, c]) else "visible"
        out.append((k, min(max(x, 0.0), 1.0), min(max(y, 0.0), 1.0), flag))
    return out


def derive_track(scene, m, spec, th) -> str:
    """Serialised trajectory of the spec's query point (pixel ``xy`` in clip frame ``query_frame``), recomputed
    from the scene for this one query (the oracle's path; generation reads the stored tracks)."""
    q = tr.Queries(frame=np.array([spec.query_frame], np.int64), xy=np.array([spec.xy], np.float64))
    t = tr.compute_tracks(scene, q, frames=m.frames, device="cpu", depth_tolerance=spec.depth_tolerance)
    order = spec.order
    return serialise_trajectory(_entries(t, 0, spec.kind, order, order, scene.meta.width, scene.meta.height))


def _stored_answer(ctx: Ctx, spec: TrackSpec) -> str | None:
    """The trajectory read from the stored tracks (query ``spec.track``)."""
    cols = qa_tracks.clip_columns(ctx.tracks, ctx.motion.frames)
    order = spec.order
    return serialise_trajectory(_entries(ctx.tracks, spec.track, spec.kind, [int(cols[k]) for k in order],
                                         order, ctx.scene.meta.width, ctx.scene.meta.height))


def _candidate(ctx: Ctx) -> tuple[int, int, int] | None:
    """(stored query index, clip frame, object id) of a stored query in the clip on an interior pixel, drawn in a
    random order: on a moving object with probability ``MOVING_SHARE`` (when there is one), else on a still object
    or the background (when there is one). The scan stops once it has one of each kind."""
    t, m, s = ctx.tracks, ctx.motion, ctx.scene
    if t is None or qa_tracks.clip_columns(t, m.frames) is None:
        return None
    clip_index = {int(f): k for k, f in enumerate(m.frames)}
    moves = np.ptp(m.obj_pos, axis=1).max(axis=-1) > 0  # (O,) objects that move during the clip (NaN: no)
    first: dict[bool, tuple[int, int, int]] = {}
    for i in ctx.rng.permutation(len(t)).tolist():
        f = int(t.frames[int(t.queries.frame[i])])
        if f not in clip_index:
            continue
        oid, k = int(t.object_id[i]), clip_index[f]
        if oid and not np.isfinite(m.obj_pos[m.index(oid), k]).all():
            continue
        is_moving = bool(oid) and bool(moves[m.index(oid)])
        if is_moving in first:
            continue
        x, y = (int(round(v)) for v in t.queries.xy[i])
        if qa_tracks.interior_at(s, f, oid, x, y):
            first[is_moving] = (i, k, oid)
            if len(first) == 2:
                break
    if True in first and ctx.rng.random() < MOVING_SHARE:
        return first[True]
    return first.get(False, first.get(True))


def _assets(ctx: Ctx, kind: str) -> list[TrackSpec]:
    m = ctx.motion
    lo, hi = ctx.qa.track_target_frames
    specs = []
    picked = _candidate(ctx)
    for i, k, oid in [picked] if picked else []:
        others = [f for f in range(m.n_frames) if f != k]
        n = int(ctx.rng.integers(lo, min(hi, len(others)) + 1))
        targets = sorted(int(f) for f in ctx.rng.choice(others, size=n, replace=False))
        xy = [int(v) if float(v).is_integer() else float(v) for v in ctx.tracks.queries.xy[i]]
        specs.append(TrackSpec((oid,), kind=kind, query_frame=k, xy=tuple(xy),
                               order=tuple(int(f) for f in ctx.rng.permutation(targets)), targets=tuple(targets),
                               depth_tolerance=ctx.depth_tolerance, track=i))
    return specs


def _reference(ctx: Ctx, spec: TrackSpec) -> list[Reference]:
    xn, yn = normalise_xy(spec.xy[0], spec.xy[1], ctx.scene.meta.width, ctx.scene.meta.height)
    return [Reference(spec.objects[0], "pixel", f"({xn:.3f}, {yn:.3f})", spec.query_frame)]


def _slots(ctx: Ctx, spec: TrackSpec, refs) -> dict[str, str]:
    targets = spec.targets
    frames_text = f"frame {targets[0]}" if len(targets) == 1 else "frames " + ", ".join(str(i) for i in targets)
    xn, yn = normalise_xy(spec.xy[0], spec.xy[1], ctx.scene.meta.width, ctx.scene.meta.height)
    return {"x": f"{xn:.3f}", "y": f"{yn:.3f}", "k": str(spec.query_frame), "f": frames_text}


TEMPLATES_T12 = {"trajectory": {
    "a": "Track the point at ({x}, {y}) in frame {k}. Where is it in {f}?",
    "b": "Follow the point located at ({x}, {y}) in frame {k} through the video and give its image position in {f}.",
    "c": "A point is marked by its coordinates ({x}, {y}) in frame {k}. Report where this point appears in {f}, "
         "and whether it is visible.",
    "d": "Give the 2D track of the point at ({x}, {y}) in frame {k} for {f}.",
}}
TEMPLATES_T13 = {"trajectory": {
    "a": "Project the 3D trajectory of the point at ({x}, {y}) in frame {k} onto the image plane of frame {k}. "
         "Where is it at {f}?",
    "b": "Keeping the camera fixed at its frame-{k} pose, where would the point at ({x}, {y}) in frame {k} appear in "
         "{f}?",
    "c": "Give the true-motion track of the point at ({x}, {y}) in frame {k}, seen from the camera of frame {k}, "
         "for {f}.",
    "d": "Ignoring camera motion, trace the point at ({x}, {y}) in frame {k} as seen by the frame-{k} camera in {f}.",
}}

TRACKING_ROW = dict(spec_type=TrackSpec, derive=derive_track, measure=_stored_answer, references=_reference, slots=_slots, redraws=True,
                    values=lambda ctx, spec: {"object_id": spec.objects[0]},
                    fact=lambda spec, label: (spec.kind, spec.query_frame, tuple(spec.xy)))
VISUAL = QuestionType(12, "visual_tracking", "point_tracking", ("trajectory",),
                      assets=lambda ctx, fmt: _assets(ctx, "visual"), templates=TEMPLATES_T12,
                      reference_system="screen", **TRACKING_ROW)
TRUE = QuestionType(13, "true_motion_tracking", "point_tracking", ("trajectory",),
                    assets=lambda ctx, fmt: _assets(ctx, "true"), templates=TEMPLATES_T13,
                    reference_system="query_camera_screen", **TRACKING_ROW)
