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
  are the pixel centres at ``floor(x + SNAP_PX) + {0, 1}`` (same for y), so a projection that lands on a pixel centre
  up to rounding noise always uses that pixel and the next one (deterministic across devices and implementations).

All points x frames of a chunk are computed at once with torch (float64 on every device, so CPU and CUDA agree
with the NumPy reference to ~1e-9 px); chunking over points bounds memory to O(chunk_points * T).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch

from fourdpqa import geometry
from fourdpqa.atomic import write_npz
from fourdpqa.device import resolve_device
from fourdpqa.params import TracksParams
from fourdpqa.scene import Scene

SNAP_PX = 1e-6  # projections within this of a pixel centre count as on it (see module docstring)


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

_BLOCKS = 5  # per group map: world, camera t, query camera (x, y, z per frame), then K-projected (u, v, z planes)


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
    ``chunk_points`` bounds the temporaries to O(chunk_points * T); the result does not depend on it. NumPy does
    the work on CPU (float64, faster there than torch), torch on any other device.
    """
    frames = _clip_frames(scene, frames)
    q_frame = np.asarray(queries.frame, np.int64)
    q_xy = np.asarray(queries.xy, np.float64).reshape(-1, 2)
    object_id, row, scene_qf, x_local = _query_points(scene, frames, q_frame, q_xy)
    xp = _Arrays(resolve_device(device) if isinstance(device, str) else device)
    out = _track_arrays(xp, scene, frames, row, scene_qf, x_local, object_id, max(1, chunk_points), depth_tolerance)
    return Tracks(frames=frames.astype(np.int64), queries=Queries(frame=q_frame, xy=q_xy), object_id=object_id, **out)


def _query_points(
    scene: Scene, frames: np.ndarray, q_frame: np.ndarray, q_xy: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validated queries -> object id (N,), pose-table row (N,) (0 = background, i + 1 = scene.object_ids[i]),
    scene query frame (N,) and the 3D point in its object's frame (N, 3) (world frame for the background)."""
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
        raise ValueError(f"video {vid!r}: queries {np.flatnonzero(bad)[:10].tolist()} have no valid depth at their pixel")
    object_id = scene.instances[scene_qf, px[:, 1], px[:, 0]].astype(np.int64)
    index = np.zeros(int(max(scene.object_ids, default=0)) + 1, np.int64)
    index[scene.object_ids] = np.arange(1, len(scene.object_ids) + 1)
    row = index[object_id]
    query_pose = _pose_table(scene)[row, scene_qf]  # (N, 4, 4) world_from_object at the query frame
    no_pose = ~np.isfinite(query_pose).all((1, 2))
    if no_pose.any():
        raise ValueError(f"video {vid!r}: queries {np.flatnonzero(no_pose)[:10].tolist()} lie on objects without a pose at their query frame")
    k, wfc = scene.intrinsics[scene_qf], scene.world_from_cam[scene_qf]
    x_world = geometry.transform_points(wfc, geometry.unproject(k, q_xy[:, None], z_q[:, None]))[:, 0]
    x_local = geometry.transform_points(geometry.invert_pose(query_pose), x_world[:, None])[:, 0]
    return object_id, row, scene_qf, x_local


def _pose_table(scene: Scene) -> np.ndarray:
    """(O + 1, T_scene, 4, 4) world_from_object: row 0 = background (identity: static in the world)."""
    eye = np.broadcast_to(np.eye(4), (1, scene.meta.n_frames, 4, 4))
    return np.concatenate([eye, scene.world_from_object])


@dataclass
class _MapTables:
    """Per-call tables the group maps are composed from (float64)."""

    poses: np.ndarray  # (O + 1, T, 3, 4) world_from_object over the clip frames (row 0 = background identity)
    cam_from_world: np.ndarray  # (T_scene, 4, 4) every scene frame (query frames index it)
    k: np.ndarray  # (T_scene, 3, 3) intrinsics of every scene frame
    frames: np.ndarray  # (T,) scene frame indices of the clip

    @classmethod
    def of(cls, scene: Scene, frames: np.ndarray) -> _MapTables:
        return cls(_pose_table(scene)[:, frames, :3, :], geometry.invert_pose(scene.world_from_cam), scene.intrinsics, frames)

    def maps(self, rows: np.ndarray, qfs: np.ndarray) -> np.ndarray:
        """(G, 5, 4, 3T) affine maps of G (pose row, scene query frame) groups, applied as ``[x, y, z, 1] @ map``.

        Blocks 0-2 give world, camera-t and query-camera points laid out (t, xyz); blocks 3-4 give ``K_t`` x camera-t
        and ``K_q`` x query-camera points laid out (uvz, t), i.e. planes of u, v and the z depth for the divisions.
        """
        poses = self.poses[rows]  # (G, T, 3, 4)
        cam = _then(self.cam_from_world[self.frames][None], poses)
        qcam = _then(self.cam_from_world[qfs][:, None], poses)
        g, n_t = len(rows), len(self.frames)
        out = np.empty((g, _BLOCKS, 4, 3 * n_t))
        xyz, proj = out[:, :3].reshape(g, 3, 4, n_t, 3), out[:, 3:].reshape(g, 2, 4, 3, n_t)
        for blk, m in enumerate((poses, cam, qcam)):
            xyz[:, blk] = m.transpose(0, 3, 1, 2)
        proj[:, 0] = (self.k[self.frames][None] @ cam).transpose(0, 3, 2, 1)
        proj[:, 1] = (self.k[qfs][:, None] @ qcam).transpose(0, 3, 2, 1)
        return out


def _then(a_from_b: np.ndarray, b_from_x: np.ndarray) -> np.ndarray:
    """Compose rigid 4x4 poses (..., 4, 4) with 3x4 maps (..., 3, 4) -> (..., 3, 4)."""
    out = a_from_b[..., :3, :3] @ b_from_x
    out[..., 3] += a_from_b[..., :3, 3]
    return out


def _track_arrays(
    xp: _Arrays, scene: Scene, frames: np.ndarray, row: np.ndarray, scene_qf: np.ndarray, x_local: np.ndarray,
    object_id: np.ndarray, chunk: int, tol: float,
) -> dict[str, np.ndarray]:
    """Tracks fields of N points over T frames, one chunk of points at a time (NumPy on CPU, torch elsewhere).

    Points are processed grouped by (object, query frame): within a group one matmul of the homogeneous local
    points (n_g, 4) with the group's maps gives every frame's 3D points and projections; float64 throughout.
    """
    n, n_t = len(row), len(frames)
    key = row * scene.meta.n_frames + scene_qf
    order = np.argsort(key, kind="stable")
    starts = np.flatnonzero(np.diff(key[order], prepend=-1))  # first point of each group (keys are >= 0)
    bounds = np.r_[starts, n]
    g_row, g_qf = row[order[starts]], scene_qf[order[starts]]
    tables = _MapTables.of(scene, frames)
    lhs = xp.put(np.concatenate([x_local, np.ones((n, 1))], 1)[order])
    volumes = xp.put(scene.depth.reshape(-1)), xp.put(scene.instances.reshape(-1), index_dtype=True)
    order_d, own = xp.put(order), xp.put(object_id.astype(scene.instances.dtype), index_dtype=True)
    base = xp.put(frames * (scene.meta.height * scene.meta.width))
    out = {name: xp.empty((n, n_t, d)) for name, d in _FLOAT_FIELDS.items()}
    out |= {name: xp.empty((n, n_t), bool) for name in ("visual_occluded", "true_in_view")}
    xyz, proj = xp.empty((3, min(chunk, n), n_t, 3)), xp.empty((2, min(chunk, n), 3, n_t))
    for lo in range(0, n, chunk):
        hi = min(lo + chunk, n)
        g0, g1 = np.searchsorted(starts, lo, "right") - 1, np.searchsorted(starts, hi, "left")
        maps = xp.put(tables.maps(g_row[g0:g1], g_qf[g0:g1]))
        for g in range(g0, g1):
            a, b = max(bounds[g], lo), min(bounds[g + 1], hi)
            for blk in range(_BLOCKS):
                dst = (xyz[blk] if blk < 3 else proj[blk - 3])[a - lo:b - lo].reshape(b - a, 3 * n_t)
                xp.ns.matmul(lhs[a:b], maps[g - g0, blk], out=dst)
        idx = order_d[lo:hi]
        for blk, name in enumerate(("points_world", "points_cam", "points_query_cam")):
            out[name][idx] = xyz[blk, :hi - lo]
        _project_and_flag(xp, proj[:, :hi - lo], own[idx], volumes, base, scene.meta.height, scene.meta.width, tol,
                          out, idx)
    return {name: xp.get(a) for name, a in out.items()}


_FLOAT_FIELDS = {"points_world": 3, "points_cam": 3, "points_query_cam": 3, "visual_xy": 2, "true_xy": 2}


def _project_and_flag(xp: _Arrays, proj, own, volumes: tuple, base, h: int, w: int, tol: float, out: dict, idx) -> None:
    """Pixels and flags of one chunk from its projected planes ``proj`` (2, n, 3, T) (visual, true) x (u, v, z).

    Writes rows ``idx`` of ``out``. Occlusion follows the module docstring: valid scene depth is >= 0
    (``validate_scene``), so the largest ``|d|`` of the 4 pixels (NaN if any is NaN) is ``< tol * z`` exactly when
    all 4 are valid and nearer than the point (invalid = infinitely far).
    """
    depth, inst = volumes
    with np.errstate(divide="ignore", invalid="ignore"):
        planes = proj[:, :, :2] / proj[:, :, 2:]  # (2, n, 2, T): (visual, true) x (x, y) pixel planes
        for k, name in enumerate(("visual_xy", "true_xy")):
            out[name][idx] = planes[k].swapaxes(1, 2)
        ok = (proj[:, :, 2] > 0) & _inside(planes[:, :, 0], planes[:, :, 1], h, w)  # (2, n, T)
        out["true_in_view"][idx] = ok[1]
        # 4 neighbour pixel centres, clamped into the image (garbage for non-finite pixels is clamped too: those
        # samples are occluded by ``ok[0]`` anyway)
        corner = xp.to_index(xp.ns.floor(planes[0] + SNAP_PX))  # (n, 2, T) x0, y0
        x0, y0 = corner[:, 0], corner[:, 1]
        cols = [x0.clip(0, w - 1), (x0 + 1).clip(0, w - 1)]
        rows = [y0.clip(0, h - 1) * w + base, (y0 + 1).clip(0, h - 1) * w + base]
        farthest, seen = None, None
        for r in rows:
            for c in cols:
                flat = r + c
                d = abs(xp.ns.take(depth, flat))
                own_px = xp.ns.take(inst, flat) == own[:, None]
                farthest = d if farthest is None else xp.ns.maximum(farthest, d)  # NaN propagates: never occludes
                seen = own_px if seen is None else seen | own_px
        hidden = farthest < tol * proj[0, :, 2]
        out["visual_occluded"][idx] = ~(ok[0] & ~hidden & seen)


def _inside(x, y, h: int, w: int):
    return (x >= -0.5) & (x <= w - 0.5) & (y >= -0.5) & (y <= h - 0.5)


class _Arrays:
    """The few array operations that differ between NumPy (CPU) and torch (other devices; CPU too when asked)."""

    def __init__(self, dev: torch.device, use_torch: bool | None = None):
        self.dev = dev
        self.ns = torch if (dev.type != "cpu" if use_torch is None else use_torch) else np

    def put(self, a: np.ndarray, index_dtype: bool = False):
        if self.ns is np:
            return a
        t = torch.as_tensor(a, device=self.dev)
        return t.to(torch.int32) if index_dtype else t  # uint16 gathers are only guaranteed on CPU

    def empty(self, shape: tuple, dtype: type = np.float64):
        if self.ns is np:
            return np.empty(shape, dtype)
        return torch.empty(shape, dtype=torch.bool if dtype is bool else torch.float64, device=self.dev)

    def to_index(self, a):
        return a.astype(np.int64) if self.ns is np else a.long()

    def get(self, a) -> np.ndarray:
        return a if self.ns is np else a.cpu().numpy()


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
        raise ValueError(f"{path}: unreadable tracks file: {exc}") from exc
    validate_tracks_arrays(arrays, str(path))
    tracks = Tracks(
        queries=Queries(frame=arrays["query_frame"], xy=arrays["query_xy"]),
        **{f.name: arrays[f.name] for f in fields(Tracks) if f.name != "queries"},
    )
    width, height = (int(v) for v in arrays["image_size"])
    return tracks, {"video_id": str(arrays["video_id"]), "width": width, "height": height}
