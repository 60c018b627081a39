"""Category IV, point tracking: (12) visual point tracking P2D and (13) true-motion point tracking M2D (paper
Eq. 1-2). The query names a pixel in a query frame and the target frames; the answer lists the targets in a
randomised order (no autoregressive extrapolation shortcut), coordinates normalised to [0, 1] with 3 decimals and
a per-frame flag: visible / occluded (point inside the image but hidden) / out of view."""

from __future__ import annotations

import cv2
import numpy as np

from fourdpqa import tracks as tr
from fourdpqa.qa_format import normalise_xy, serialise_trajectory
from fourdpqa.questions.base import Ctx, Draft, QuestionType, finish, template
from fourdpqa.sampling import Reference


def _entries(t: tr.Tracks, kind: str, order: list[int], width: int, height: int) -> list[tuple]:
    """Answer entries of query 0 at clip frames ``order``."""
    out = []
    for k in order:
        xy = (t.visual_xy if kind == "visual" else t.true_xy)[0, k]
        inside = bool(np.isfinite(xy).all() and -0.5 <= xy[0] <= width - 0.5 and -0.5 <= xy[1] <= height - 0.5)
        if kind == "true":
            inside = inside and bool(t.true_in_view[0, k])
        if not inside:
            out.append((k, None, None, "out of view"))
            continue
        x, y = normalise_xy(float(xy[0]), float(xy[1]), width, height)
        flag = "occluded" if kind == "visual" and bool(t.visual_occluded[0, k]) else "visible"
        out.append((k, min(max(x, 0.0), 1.0), min(max(y, 0.0), 1.0), flag))
    return out


def derive_track(scene, m, spec, th) -> str:
    """Serialised trajectory of the spec's query point (pixel ``xy`` in clip frame ``query_frame``)."""
    q = tr.Queries(frame=np.array([spec["query_frame"]], np.int64), xy=np.array([spec["xy"]], np.float64))
    t = tr.compute_tracks(scene, q, frames=m.frames, device="cpu", depth_tolerance=spec["depth_tolerance"])
    return serialise_trajectory(_entries(t, spec["kind"], spec["order"], scene.meta.width, scene.meta.height))


def _query_pixel(ctx: Ctx, k: int) -> tuple[int, int, int] | None:
    """(x, y, object id) of an interior pixel with valid depth in clip frame ``k``; moving objects preferred."""
    s, m = ctx.scene, ctx.motion
    f = int(m.frames[k])
    inst, depth = s.instances[f], s.depth[f]
    ids = [int(o) for o in np.unique(inst) if o]
    moving = [o for o in ids if np.isfinite(m.obj_pos[m.index(o)]).all() and np.ptp(m.obj_pos[m.index(o)], axis=0).max() > 0]
    pool = moving if moving and ctx.rng.random() < 0.7 else ids + [0]
    for oid in ctx.rng.permutation(pool).tolist():
        mask = cv2.erode((inst == oid).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & np.isfinite(depth) & (depth > 0)
        if oid and not np.isfinite(m.obj_pos[m.index(oid), k]).all():
            continue
        ys, xs = np.nonzero(mask)
        if len(xs) < ctx.th.min_object_pixels // 2 + 1:
            continue
        i = int(ctx.rng.integers(len(xs)))
        return int(xs[i]), int(ys[i]), int(oid)
    return None


VISUAL_T = {
    "a": "Track the point at ({x}, {y}) in frame {k}. Where is it in {f}?",
    "b": "Follow the point located at ({x}, {y}) in frame {k} through the video and give its image position in {f}.",
    "c": "A point is marked by its coordinates ({x}, {y}) in frame {k}. Report where this point appears in {f}, "
         "and whether it is visible.",
    "d": "Give the 2D track of the point at ({x}, {y}) in frame {k} for {f}.",
}
TRUE_T = {
    "a": "Project the 3D trajectory of the point at ({x}, {y}) in frame {k} onto the image plane of frame {k}. "
         "Where is it at {f}?",
    "b": "Keeping the camera fixed at its frame-{k} pose, where would the point at ({x}, {y}) in frame {k} appear in "
         "{f}?",
    "c": "Give the true-motion track of the point at ({x}, {y}) in frame {k}, seen from the camera of frame {k}, "
         "for {f}.",
    "d": "Ignoring camera motion, trace the point at ({x}, {y}) in frame {k} as seen by the frame-{k} camera in {f}.",
}


def _build(ctx: Ctx, fmt: str, kind: str) -> Draft | None:
    m = ctx.motion
    k = int(ctx.rng.integers(m.n_frames))
    got = _query_pixel(ctx, k)
    if got is None:
        return None
    x, y, oid = got
    lo, hi = ctx.qa.track_target_frames
    others = [i for i in range(m.n_frames) if i != k]
    n = int(ctx.rng.integers(lo, min(hi, len(others)) + 1))
    targets = sorted(int(i) for i in ctx.rng.choice(others, size=n, replace=False))
    order = [int(i) for i in ctx.rng.permutation(targets)]
    spec = {"kind": kind, "query_frame": k, "xy": [x, y], "order": order, "targets": targets,
            "depth_tolerance": ctx.depth_tolerance}
    answer = derive_track(ctx.scene, m, spec, ctx.th)
    xn, yn = normalise_xy(x, y, ctx.scene.meta.width, ctx.scene.meta.height)
    frames_text = f"frame {targets[0]}" if len(targets) == 1 else "frames " + ", ".join(str(i) for i in targets)
    tid, q = template(ctx.rng, VISUAL_T if kind == "visual" else TRUE_T, x=f"{xn:.3f}", y=f"{yn:.3f}", k=k, f=frames_text)
    ref = Reference(oid, "pixel", f"({xn:.3f}, {yn:.3f})", k)
    qt = VISUAL if kind == "visual" else TRUE
    return finish(qt, ctx, fmt, q, tid, spec, answer, {"object_id": oid}, [ref], str, (f"frame {k}", frames_text))


def build_visual(ctx: Ctx, fmt: str) -> Draft | None:
    return _build(ctx, fmt, "visual")


def build_true(ctx: Ctx, fmt: str) -> Draft | None:
    return _build(ctx, fmt, "true")


VISUAL = QuestionType(12, "visual_tracking", "point_tracking", ("trajectory",), build_visual, derive_track,
                      reference_system="screen")
TRUE = QuestionType(13, "true_motion_tracking", "point_tracking", ("trajectory",), build_true, derive_track,
                    reference_system="query_camera_screen")
