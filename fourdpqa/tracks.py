"""Point tracks from a standard scene: visual and true-motion 2D tracks, 3D tracks, occlusion (paper Eq. 1-2).

For a query (frame t_q, pixel p) the 3D point is ``X(t_q) = world_from_cam[t_q] @ unproject(K[t_q], p, depth)``.
A point on object o moves rigidly with it, ``X(t) = world_from_object[o, t] @ inv(world_from_object[o, t_q]) @ X(t_q)``;
a background point (instance 0) stays fixed in the world. Then

- visual track      ``P2D(t) = Pi(K_t,   T_t,   X(t))`` — where the point appears in frame t;
- true-motion track ``M2D(t) = Pi(K_t_q, T_t_q, X(t))`` — its own motion seen from the frozen query camera;
- visual occlusion (Kubric point-tracking recipe, z-depth instead of ray length): behind the camera, OR outside the
  image ``[-0.5, W-0.5] x [-0.5, H-0.5]``, OR the scene depth at the projected location (max over the 4 neighbouring
  pixel centres) ``< tolerance * z`` of the point, OR none of those 4 pixels carries the point's instance id.
  Invalid scene depth (NaN/inf: sky) counts as infinitely far, i.e. it never occludes. The 4 neighbours of (x, y)
  are the pixel centres at ``floor(x + SNAP_PX) + {0, 1}`` (same for y; ``track_kernels.SNAP_PX``), so a projection
  that lands on a pixel centre up to rounding noise always uses that pixel and the next one (deterministic across
  devices and implementations).

Float64 throughout. The points x frames loop lives in ``fourdpqa.track_kernels``: a compiled (Numba) kernel on CPU,
batched torch on CUDA; ``benchmarks/tracks.py`` compares it with plain vectorised NumPy.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fourdpqa import geometry
from fourdpqa.atomic import write_npz
from fourdpqa.errors import BadInput
from fourdpqa.params import TracksParams
from fourdpqa.scene import Scene

if TYPE_CHECKING:  # numba and torch load on the first compute_tracks call, not for every reader of stored tracks
    import torch

    from fourdpqa.track_kernels import TrackInputs


@dataclass
class Queries:
    frame: np.ndarray  # (N,) int64 query frame index INTO the `frames` given to compute_tracks (0-based in clip)
    xy: np.ndarray  # (N, 2) float64 pixel (x, y), OpenCV convention (pixel centres at integers)

    def __len__(self) -> int:
        return len(self.frame)


@dataclass
class Tracks:
    frames: np.ndarray  # (T,) int64 scene frame indices the tracks cover (the clip)
    queries: Queries
    object_id: np.ndarray  # (N,) int64, 0 = background point (static in world)
    visual_xy: np.ndarray  # (N, T, 2) float64 pixels (x, y), P2D(t) = Pi(K_t, T_t, X(t)); NaN where no pose
    visual_occluded: np.ndarray  # (N, T) bool (behind | outside | depth test | instance test | no pose)
    true_xy: np.ndarray  # (N, T, 2) float64 pixels (x, y), M2D(t) = Pi(K_tq, T_tq, X(t))
    true_in_view: np.ndarray  # (N, T) bool (in front of and inside the query camera)
    points_world: np.ndarray  # (N, T, 3) metres, world frame
    points_query_cam: np.ndarray  # (N, T, 3) metres, OpenCV frame of the query camera
    points_cam: np.ndarray  # (N, T, 3) metres, OpenCV frame of the camera at frame t

    def __len__(self) -> int:
        return len(self.object_id)


# ------------------------------------------------------------------------------------------------ query sampling


def allocate_per_segment(counts: np.ndarray, total: int, max_frac: float) -> np.ndarray:
    """Kubric's ``get_num_to_sample``: share ``total`` over segments, fairest first, capped per segment.

    Segments are visited from the fewest candidate points up; each takes ``min(round(remaining / segments_left),
    round(count * max_frac))``, so small objects get their fair share when they can and large ones absorb the rest.
    """
    counts = np.asarray(counts, np.int64)
    out = np.zeros(len(counts), np.int64)
    remaining = int(total)
    for rank, i in enumerate(np.argsort(counts, kind="stable")):
        want = int(np.round(remaining / (len(counts) - rank)))
        cap = int(np.round(counts[i] * max_frac))
        out[i] = min(want, cap)
        remaining -= out[i]
    return out


def sample_queries(
    scene: Scene, params: TracksParams, rng: np.random.Generator, frames: np.ndarray | None = None
) -> tuple[Queries, np.ndarray]:
    """Query points like Kubric's point-tracking challenge, on visible pixels only.

    Candidates lie on a (t, y, x) grid of step ``params.sampling_stride`` with a random offset (t = clip frame 0 only
    when ``params.query_frames == "first"``); a candidate is usable when its depth is valid and, for an object pixel,
    the object has a pose at that frame. ``background_share`` of ``queries_per_video`` go to the background, the rest
    is shared over objects by :func:`allocate_per_segment` (at most ``max_sampled_frac`` of a segment's candidates);
    what objects cannot take falls back to the background, within its own cap. Returns the queries sorted by
    (frame, y, x) and their object ids (0 = background).
    """
    frames = _clip_frames(scene, frames)
    s = params.sampling_stride
    h, w = scene.meta.height, scene.meta.width
    off_t, off_y, off_x = (int(v) for v in rng.integers(0, s, size=3))
    clip_t = np.array([0]) if params.query_frames == "first" else np.arange(min(off_t, len(frames) - 1), len(frames), s)
    ys, xs = np.arange(off_y % h, h, s), np.arange(off_x % w, w, s)
    tt, yy, xx = (a.ravel() for a in np.meshgrid(clip_t, ys, xs, indexing="ij"))
    scene_t = frames[tt]
    seg = scene.instances[scene_t, yy, xx].astype(np.int64)
    depth = scene.depth[scene_t, yy, xx]
    usable = np.isfinite(depth) & (depth > 0)
    posed = np.isfinite(scene.world_from_object[:, :, 0, 0])  # (O, T_scene)
    obj_index = {oid: i for i, oid in enumerate(scene.object_ids)}
    on_obj = seg > 0
    if on_obj.any():
        oi = np.array([obj_index[int(o)] for o in seg[on_obj]])
        usable[on_obj] &= posed[oi, scene_t[on_obj]]
    tt, yy, xx, seg = tt[usable], yy[usable], xx[usable], seg[usable]

    obj_ids = np.unique(seg[seg > 0])
    counts = np.array([(seg == o).sum() for o in obj_ids], np.int64)
    n_bg_pool = int((seg == 0).sum())
    n_total = params.queries_per_video
    n_obj_target = n_total - int(np.round(params.background_share * n_total)) if len(obj_ids) else 0
    per_obj = allocate_per_segment(counts, n_obj_target, params.max_sampled_frac)
    n_bg = min(n_total - int(per_obj.sum()), int(np.round(n_bg_pool * params.max_sampled_frac)))

    chosen = []
    for seg_id, n in [(0, n_bg), *zip(obj_ids.tolist(), per_obj.tolist())]:
        pool = np.flatnonzero(seg == seg_id)
        if n > 0:
            chosen.append(np.sort(rng.choice(pool, size=n, replace=False)))
    idx = np.concatenate(chosen) if chosen else np.zeros(0, np.int64)
    order = np.lexsort((xx[idx], yy[idx], tt[idx]))
    idx = idx[order]
    queries = Queries(frame=tt[idx].astype(np.int64), xy=np.stack([xx[idx], yy[idx]], -1).astype(np.float64))
    return queries, seg[idx].astype(np.int64)


# ------------------------------------------------------------------------------------------------ track computation


def compute_tracks(
    scene: Scene,
    queries: Queries,
    frames: np.ndarray | None = None,
    device: str | torch.device = "auto",
    chunk_points: int = 2048,
    depth_tolerance: float = 0.99,
) -> Tracks:
    """Visual / true-motion 2D tracks, 3D tracks and occlusion of every query over ``frames`` (module docstring).

    The query's 3D point comes from the scene z-depth at the nearest pixel of ``queries.xy`` in frame
    ``frames[queries.frame]``, and its object from the instance id there. Raises ``ValueError`` naming the video
    for a query outside the image, on invalid depth, or on an object without a pose at its query frame.
    On CPU a compiled kernel does the work (memory: the outputs only); on other devices batched torch does,
    ``chunk_points`` points at a time (memory O(chunk_points * T)). Results agree to rounding (~1e-13 px).
    """
    from fourdpqa import track_kernels
    from fourdpqa.device import resolve_device

    frames = _clip_frames(scene, frames)
    q_frame = np.asarray(queries.frame, np.int64)
    q_xy = np.asarray(queries.xy, np.float64).reshape(-1, 2)
    inputs = _track_inputs(scene, frames, q_frame, q_xy)
    dev = resolve_device(device) if isinstance(device, str) else device
    if dev.type == "cpu":
        out = track_kernels.cpu_samples(inputs, depth_tolerance)
    else:
        out = track_kernels.torch_samples(inputs, depth_tolerance, dev, chunk_points)
    return Tracks(frames=frames.astype(np.int64), queries=Queries(frame=q_frame, xy=q_xy), object_id=inputs.own, **out)


def compute_window_tracks(scene: Scene, queries: Queries, windows: list[np.ndarray], **kwargs: object) -> Tracks:
    """Tracks over the union of clip ``windows`` (sorted scene frames; ``queries.frame`` indexes that union),
    computed window by window: each query over the frames of every window holding its query frame, NaN / occluded /
    out of view at the other frames. Only one window's depth and ids are read at a time, and each query costs its
    windows' frames, so time and memory grow with the clips' frames, not with the video's length or the number of
    clips squared. ``kwargs`` go to :func:`compute_tracks`."""
    frames = np.unique(np.concatenate(windows)).astype(np.int64)
    n, n_t = len(queries), len(frames)
    q_frame = np.asarray(queries.frame, np.int64)
    q_xy = np.asarray(queries.xy, np.float64).reshape(-1, 2)
    out = {name: np.full((n, n_t, 3), np.nan) for name in ("points_world", "points_cam", "points_query_cam")}
    out |= {name: np.full((n, n_t, 2), np.nan) for name in ("visual_xy", "true_xy")}
    out |= {"visual_occluded": np.ones((n, n_t), bool), "true_in_view": np.zeros((n, n_t), bool)}
    object_id = np.zeros(n, np.int64)
    covered = np.zeros(n, bool)
    for w in windows:
        w = np.asarray(w, np.int64)
        cols = np.searchsorted(frames, w)
        sel = np.flatnonzero(np.isin(frames[q_frame], w))
        if not len(sel):
            continue
        local = np.searchsorted(w, frames[q_frame[sel]])  # windows are increasing scene frames
        tr = compute_tracks(scene, Queries(frame=local, xy=q_xy[sel]), frames=w, **kwargs)  # type: ignore[arg-type]
        for name, arr in out.items():
            arr[np.ix_(sel, cols)] = getattr(tr, name)
        object_id[sel], covered[sel] = tr.object_id, True
    if not covered.all():
        raise ValueError(f"video {scene.video_id!r}: queries {np.flatnonzero(~covered)[:10].tolist()} lie in no window")
    return Tracks(frames=frames, queries=Queries(frame=q_frame, xy=q_xy), object_id=object_id, **out)


def _track_inputs(scene: Scene, frames: np.ndarray, q_frame: np.ndarray, q_xy: np.ndarray) -> TrackInputs:
    """Validated queries -> the kernels' inputs: each query's 3D point in its object's frame (world frame for the
    background), its object (pose-table row and instance id) and the cameras of the clip and of its query frame."""
    n, n_t = len(q_frame), len(frames)
    h, w = scene.meta.height, scene.meta.width
    vid = scene.video_id
    if len(q_xy) != n:
        raise ValueError(f"video {vid!r}: queries.frame has {n} entries but queries.xy {len(q_xy)}")
    if n and (q_frame.min() < 0 or q_frame.max() >= n_t):
        raise ValueError(f"video {vid!r}: query frame index outside the clip of {n_t} frames")
    outside = ~np.isfinite(q_xy).all(1) | (q_xy[:, 0] < -0.5) | (q_xy[:, 0] > w - 0.5) | (q_xy[:, 1] < -0.5) | (q_xy[:, 1] > h - 0.5)
    if outside.any():
        raise ValueError(f"video {vid!r}: queries {np.flatnonzero(outside)[:10].tolist()} lie outside the {w}x{h} image")
    scene_qf = frames[q_frame]
    px = np.clip(np.floor(q_xy + 0.5).astype(np.int64), 0, [w - 1, h - 1])
    z_q = scene.depth[scene_qf, px[:, 1], px[:, 0]].astype(np.float64)
    bad = ~np.isfinite(z_q) | (z_q <= 0)
    if bad.any():
        raise BadInput(f"video {vid!r}: queries {np.flatnonzero(bad)[:10].tolist()} have no valid depth at their pixel")
    object_id = scene.instances[scene_qf, px[:, 1], px[:, 0]].astype(np.int64)
    index = np.zeros(int(max(scene.object_ids, default=0)) + 1, np.int64)
    index[scene.object_ids] = np.arange(1, len(scene.object_ids) + 1)
    row = index[object_id]
    query_pose = _poses(scene, row, scene_qf)  # (N, 4, 4) world_from_object at the query frame
    no_pose = ~np.isfinite(query_pose).all((1, 2))
    if no_pose.any():
        raise BadInput(f"video {vid!r}: queries {np.flatnonzero(no_pose)[:10].tolist()} lie on objects without a pose at their query frame")
    k_q, wfc_q = scene.intrinsics[scene_qf], scene.world_from_cam[scene_qf]
    x_world = geometry.transform_points(wfc_q, geometry.unproject(k_q, q_xy[:, None], z_q[:, None]))[:, 0]
    from fourdpqa.track_kernels import TrackInputs

    return TrackInputs(
        local=geometry.transform_points(geometry.invert_pose(query_pose), x_world[:, None])[:, 0], rows=row,
        own=object_id, poses=_poses(scene, np.arange(len(scene.object_ids) + 1)[:, None], frames[None]),
        cam_from_world=geometry.invert_pose(scene.world_from_cam[frames]), k=scene.intrinsics[frames],
        query_cam_from_world=geometry.invert_pose(wfc_q), query_k=k_q, frames=np.arange(n_t, dtype=np.int64),
        depth=scene.depth[frames], instances=scene.instances[frames],  # the clip's frames only, read on demand
    )


def _poses(scene: Scene, rows: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """world_from_object (..., 4, 4) of pose-table ``rows`` (0 = background: identity, static in the world; i + 1 =
    ``scene.object_ids[i]``) at scene ``frames``, the two broadcast against each other; NaN where no pose."""
    rows, frames = np.broadcast_arrays(rows, frames)
    out = np.broadcast_to(np.eye(4), (*rows.shape, 4, 4)).copy()
    obj = rows > 0
    out[obj] = scene.world_from_object[rows[obj] - 1, frames[obj]]
    return out


def _clip_frames(scene: Scene, frames: np.ndarray | None) -> np.ndarray:
    n = scene.meta.n_frames
    if frames is None:
        return np.arange(n, dtype=np.int64)
    frames = np.asarray(frames, np.int64).reshape(-1)
    if len(frames) == 0 or frames.min() < 0 or frames.max() >= n:
        raise ValueError(f"video {scene.video_id!r}: clip frames must be non-empty and within 0..{n - 1}")
    return frames


# ---------------------------------------------------------------------------------------------------------- files


def tracks_to_arrays(tracks: Tracks, video_id: str, width: int, height: int) -> dict[str, np.ndarray]:
    """Flat arrays for ``data/tracks/<video_id>.npz`` (layout checked by ``schemas.tracks``)."""
    arrays = {f.name: getattr(tracks, f.name) for f in fields(Tracks) if f.name != "queries"}
    arrays.update(query_frame=tracks.queries.frame, query_xy=tracks.queries.xy,
                  video_id=np.array(video_id), image_size=np.array([width, height], np.int64))
    return arrays


def save_tracks(path: str | Path, tracks: Tracks, video_id: str, width: int, height: int) -> Path:
    """Validate against the array schema, then write the npz atomically."""
    from schemas.tracks import validate_tracks_arrays

    arrays = tracks_to_arrays(tracks, video_id, width, height)
    validate_tracks_arrays(arrays, str(path))
    write_npz(path, **arrays)
    return Path(path)


def load_tracks(path: str | Path) -> tuple[Tracks, dict]:
    """Read and validate a tracks npz; returns the tracks and ``{"video_id", "width", "height"}``."""
    from schemas.tracks import validate_tracks_arrays

    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise BadInput(f"{path}: unreadable tracks file: {exc}") from exc
    validate_tracks_arrays(arrays, str(path))
    tracks = Tracks(
        queries=Queries(frame=arrays["query_frame"], xy=arrays["query_xy"]),
        **{f.name: arrays[f.name] for f in fields(Tracks) if f.name != "queries"},
    )
    width, height = (int(v) for v in arrays["image_size"])
    return tracks, {"video_id": str(arrays["video_id"]), "width": width, "height": height}
