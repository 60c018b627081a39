"""Array schema of ``data/tracks/<video_id>.npz`` (written by ``fourdpqa.tracks.save_tracks``).

N queries over a clip of T frames::

    frames           (T,)      int64   scene frame indices, >= 0
    query_frame      (N,)      int64   index into frames, 0 <= . < T
    query_xy         (N, 2)    float64 pixel (x, y) inside [-0.5, W-0.5] x [-0.5, H-0.5]
    object_id        (N,)      int64   >= 0 (0 = background)
    visual_xy        (N, T, 2) float64 finite wherever not visual_occluded
    visual_occluded  (N, T)    bool    False at each query's own frame
    true_xy          (N, T, 2) float64 finite wherever true_in_view
    true_in_view     (N, T)    bool
    points_world, points_query_cam, points_cam  (N, T, 3) float64
    video_id         ()        str
    image_size       (2,)      int64   (W, H), > 0
"""

from __future__ import annotations

import numpy as np

from fourdpqa.errors import BadInput


class TracksSchemaError(BadInput):
    """A tracks file whose arrays do not match the schema; the message names the file, the array and the problem."""


# name -> (shape with symbols N/T or ints, numpy dtype kind)
FIELDS: dict[str, tuple[tuple, str]] = {
    "frames": (("T",), "i"),
    "query_frame": (("N",), "i"),
    "query_xy": (("N", 2), "f"),
    "object_id": (("N",), "i"),
    "visual_xy": (("N", "T", 2), "f"),
    "visual_occluded": (("N", "T"), "b"),
    "true_xy": (("N", "T", 2), "f"),
    "true_in_view": (("N", "T"), "b"),
    "points_world": (("N", "T", 3), "f"),
    "points_query_cam": (("N", "T", 3), "f"),
    "points_cam": (("N", "T", 3), "f"),
    "video_id": ((), "U"),
    "image_size": ((2,), "i"),
}


def validate_tracks_arrays(arrays: dict[str, np.ndarray], name: str) -> None:
    """Raise :class:`TracksSchemaError` on the first missing array, wrong dtype/shape or out-of-range value."""

    def fail(field: str, problem: str) -> None:
        raise TracksSchemaError(f"{name}: {field}: {problem}")

    missing = sorted(set(FIELDS) - set(arrays))
    if missing:
        fail(missing[0], f"missing array (also missing: {missing[1:]})" if len(missing) > 1 else "missing array")
    dims = {"N": arrays["object_id"].shape[0] if arrays["object_id"].ndim else -1,
            "T": arrays["frames"].shape[0] if arrays["frames"].ndim else -1}
    for field, (shape, kind) in FIELDS.items():
        a = arrays[field]
        if a.dtype.kind != kind:
            fail(field, f"dtype {a.dtype}, expected kind {kind!r}")
        want = tuple(dims.get(s, s) for s in shape)
        if a.shape != want:
            fail(field, f"shape {a.shape}, expected {want} (N={dims['N']} queries, T={dims['T']} frames)")
    n_t = dims["T"]
    w, h = (int(v) for v in arrays["image_size"])
    if w <= 0 or h <= 0:
        fail("image_size", f"non-positive size {(w, h)}")
    if n_t < 1 or arrays["frames"].min() < 0:
        fail("frames", "empty clip or negative frame index")
    qf = arrays["query_frame"]
    if len(qf) and (qf.min() < 0 or qf.max() >= n_t):
        fail("query_frame", f"values must lie in [0, {n_t})")
    qxy = arrays["query_xy"]
    if not np.isfinite(qxy).all() or (qxy < -0.5).any() or (qxy[:, 0] > w - 0.5).any() or (qxy[:, 1] > h - 0.5).any():
        fail("query_xy", f"non-finite or outside the {w}x{h} image")
    if (arrays["object_id"] < 0).any():
        fail("object_id", "negative object id")
    occ, in_view = arrays["visual_occluded"], arrays["true_in_view"]
    if not np.isfinite(arrays["visual_xy"][~occ]).all():
        fail("visual_xy", "non-finite position on a visible sample")
    if not np.isfinite(arrays["true_xy"][in_view]).all():
        fail("true_xy", "non-finite position on an in-view sample")
    if len(qf) and occ[np.arange(len(qf)), qf].any():
        fail("visual_occluded", "a query is occluded at its own query frame")
