"""The points x frames loop of :func:`fourdpqa.tracks.compute_tracks`: a Numba kernel on CPU, chunked torch elsewhere.

Both implement the definitions of the ``fourdpqa.tracks`` docstring on the same prepared inputs
(:class:`TrackInputs`), in float64, and return the same fields. On CPU one compiled pass per (point, frame) sample
computes everything in registers and writes each output once: no temporaries, so memory is the outputs alone, and
it is several times faster than plain vectorised NumPy or batched torch there (``benchmarks/tracks.py``). On a GPU
the batched torch version (chunks of points, memory O(chunk_points * T)) is the fast one. Numba compiles the kernel
on first use and caches it on disk (``cache=True``), so later processes load it in a fraction of a second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
import torch

from fourdpqa import geometry

SNAP_PX = 1e-6  # projections within this of a pixel centre count as on it (see fourdpqa.tracks)
_MIN_Z = 1e-12  # |z| below this divides by 1e-12 instead (geometry.project); such samples are never visible


@dataclass
class TrackInputs:
    """Everything the loop needs; N points, T clip frames, O objects (float64 unless said otherwise)."""

    local: np.ndarray  # (N, 3) point in its object's frame at the query frame (world frame for the background)
    rows: np.ndarray  # (N,) int64 row of ``poses`` (0 = background)
    own: np.ndarray  # (N,) int64 instance id of the point (0 = background)
    poses: np.ndarray  # (O + 1, T, 4, 4) world_from_object per clip frame, row 0 identity; NaN where no pose
    cam_from_world: np.ndarray  # (T, 4, 4) per clip frame
    k: np.ndarray  # (T, 3, 3) intrinsics per clip frame
    query_cam_from_world: np.ndarray  # (N, 4, 4) camera of each point's query frame
    query_k: np.ndarray  # (N, 3, 3)
    frames: np.ndarray  # (T,) int64 index of each clip frame into ``depth`` / ``instances``
    depth: np.ndarray  # (T_depth, H, W) float32 z depth (NaN/inf invalid): the clip's frames
    instances: np.ndarray  # (T_depth, H, W) uint16 instance ids of the same frames


def empty_outputs(n: int, n_t: int) -> dict[str, np.ndarray]:
    """Uninitialised Tracks fields for N points x T frames."""
    out = {name: np.empty((n, n_t, 3)) for name in ("points_world", "points_cam", "points_query_cam")}
    out |= {name: np.empty((n, n_t, 2)) for name in ("visual_xy", "true_xy")}
    return out | {name: np.empty((n, n_t), bool) for name in ("visual_occluded", "true_in_view")}


# ------------------------------------------------------------------------------------------------------------- CPU


def cpu_samples(inp: TrackInputs, tol: float) -> dict[str, np.ndarray]:
    """All Tracks fields (N, T, ...) computed by the compiled kernel."""
    out = empty_outputs(len(inp.rows), len(inp.frames))
    c = np.ascontiguousarray
    _kernel(c(inp.local, np.float64), c(inp.rows, np.int64), c(inp.own, np.int64), c(inp.poses, np.float64),
            c(inp.cam_from_world, np.float64), c(inp.k, np.float64), c(inp.query_cam_from_world, np.float64),
            c(inp.query_k, np.float64), c(inp.frames, np.int64), c(inp.depth, np.float32).reshape(-1),
            c(inp.instances, np.uint16).reshape(-1), inp.depth.shape[1], inp.depth.shape[2], float(tol),
            out["points_world"], out["points_cam"], out["points_query_cam"], out["visual_xy"], out["true_xy"],
            out["visual_occluded"], out["true_in_view"])
    return out


_jit = numba.njit(cache=True, nogil=True, error_model="numpy")


@_jit
def _apply(m, x, y, z):
    """Rigid 4x4 pose ``m`` applied to the point (x, y, z)."""
    return (m[0, 0] * x + m[0, 1] * y + m[0, 2] * z + m[0, 3],
            m[1, 0] * x + m[1, 1] * y + m[1, 2] * z + m[1, 3],
            m[2, 0] * x + m[2, 1] * y + m[2, 2] * z + m[2, 3])


@_jit
def _project(k, x, y, z):
    """Pixel (x, y) of a camera-frame point, like ``geometry.project``."""
    safe = z if abs(z) >= _MIN_Z else _MIN_Z
    return k[0, 0] * x / safe + k[0, 2], k[1, 1] * y / safe + k[1, 2]


@_jit
def _inside(x, y, h, w):
    """Pixel (x, y) within the image ``[-0.5, w - 0.5] x [-0.5, h - 0.5]`` (False for NaN)."""
    return x >= -0.5 and x <= w - 0.5 and y >= -0.5 and y <= h - 0.5


@_jit
def _near(d, limit):
    """Scene depth ``d`` valid and nearer than ``limit`` (NaN and +-inf are invalid: infinitely far)."""
    return (d < limit) & (d > -math.inf)


@_jit
def _hidden(depth, inst, base, x, y, z, own, h, w, tol):
    """Kubric test on the 4 pixel centres around (x, y): all nearer than ``tol * z``, or none showing ``own``."""
    x0, y0 = int(math.floor(x + SNAP_PX)), int(math.floor(y + SNAP_PX))
    xa, xb = min(max(x0, 0), w - 1), min(max(x0 + 1, 0), w - 1)
    ra, rb = base + min(max(y0, 0), h - 1) * w, base + min(max(y0 + 1, 0), h - 1) * w
    limit = tol * z
    near = (_near(depth[ra + xa], limit) & _near(depth[ra + xb], limit)
            & _near(depth[rb + xa], limit) & _near(depth[rb + xb], limit))
    seen = (inst[ra + xa] == own) | (inst[ra + xb] == own) | (inst[rb + xa] == own) | (inst[rb + xb] == own)
    return near | (not seen)


@_jit
def _kernel(local, rows, own, poses, cfw, k, cfw_q, k_q, frames, depth, inst, h, w, tol,
            pw, pc, pq, vxy, txy, occluded, in_view):
    """Fill the output arrays (see ``cpu_samples``), one point at a time over all frames."""
    for i in range(local.shape[0]):
        lx, ly, lz = local[i, 0], local[i, 1], local[i, 2]
        for t in range(frames.shape[0]):
            wx, wy, wz = _apply(poses[rows[i], t], lx, ly, lz)
            cx, cy, cz = _apply(cfw[t], wx, wy, wz)
            qx, qy, qz = _apply(cfw_q[i], wx, wy, wz)
            vx, vy = _project(k[t], cx, cy, cz)
            tx, ty = _project(k_q[i], qx, qy, qz)
            pw[i, t, 0], pw[i, t, 1], pw[i, t, 2] = wx, wy, wz
            pc[i, t, 0], pc[i, t, 1], pc[i, t, 2] = cx, cy, cz
            pq[i, t, 0], pq[i, t, 1], pq[i, t, 2] = qx, qy, qz
            vxy[i, t, 0], vxy[i, t, 1] = vx, vy
            txy[i, t, 0], txy[i, t, 1] = tx, ty
            in_view[i, t] = qz > 0 and _inside(tx, ty, h, w)
            visible = cz > 0 and _inside(vx, vy, h, w)  # False for NaN (no pose)
            occluded[i, t] = not visible or _hidden(depth, inst, frames[t] * h * w, vx, vy, cz, own[i], h, w, tol)


# ----------------------------------------------------------------------------------------------------------- torch


def torch_samples(inp: TrackInputs, tol: float, dev: torch.device, chunk_points: int) -> dict[str, np.ndarray]:
    """All Tracks fields, ``chunk_points`` points at a time on ``dev`` (float64), copied back to host memory."""
    f64 = dict(dtype=torch.float64, device=dev)
    h, w = inp.depth.shape[1:]
    # Whole scene volumes, flat (float32 depth / int32 ids: uint16 indexing is only guaranteed on CPU).
    depth = torch.as_tensor(inp.depth, device=dev).reshape(-1)
    inst = torch.as_tensor(inp.instances, device=dev).reshape(-1).to(torch.int32)
    frame_offset = torch.as_tensor(inp.frames * (h * w), device=dev)
    shared = (torch.as_tensor(inp.poses, **f64), torch.as_tensor(inp.k, **f64),
              torch.as_tensor(inp.cam_from_world, **f64), depth, inst, frame_offset)
    per_point = (torch.as_tensor(inp.local, **f64), torch.as_tensor(inp.rows, device=dev),
                 torch.as_tensor(inp.own, device=dev), torch.as_tensor(inp.query_k, **f64),
                 torch.as_tensor(inp.query_cam_from_world, **f64))
    out = empty_outputs(len(inp.rows), len(inp.frames))
    for lo in range(0, len(inp.rows), max(1, chunk_points)):
        chunk = _torch_chunk(*(a[lo:lo + chunk_points] for a in per_point), *shared, h, w, tol)
        for name, value in chunk.items():
            out[name][lo:lo + chunk_points] = value.cpu().numpy()
    return out


def _torch_chunk(
    local: torch.Tensor, rows: torch.Tensor, own: torch.Tensor, k_q: torch.Tensor, cfw_q: torch.Tensor,
    obj_poses: torch.Tensor, k: torch.Tensor, cfw: torch.Tensor, depth: torch.Tensor, inst: torch.Tensor,
    frame_offset: torch.Tensor, h: int, w: int, tol: float,
) -> dict[str, torch.Tensor]:
    """One chunk of n points over T frames: world, camera and query-camera points, pixels and flags."""
    # einsum lets torch fold the shared per-frame rotations into one matmul (far faster than n*T tiny 3x3 products).
    pose = obj_poses[rows]  # (n, T, 4, 4)
    pw = torch.einsum("ntij,nj->nti", pose[..., :3, :3], local) + pose[..., :3, 3]  # (n, T, 3)
    pc = torch.einsum("tij,ntj->nti", cfw[:, :3, :3], pw) + cfw[None, :, :3, 3]
    pq = torch.einsum("nij,ntj->nti", cfw_q[:, :3, :3], pw) + cfw_q[:, None, :3, 3]
    vxy, vz = (a.transpose(0, 1) for a in geometry.project(k, pc.transpose(0, 1)))  # K per frame: (T, n, 3) layout
    txy, tz = geometry.project(k_q, pq)  # K of each point's query frame: (n, T, 3) layout

    finite = torch.isfinite(vxy).all(-1) & torch.isfinite(vz)
    # Kubric depth/segment tests on the 4 pixel centres around the projection (clamped into the image).
    safe = torch.where(finite[..., None], vxy, torch.zeros_like(vxy))
    x0 = torch.floor(safe[..., 0] + SNAP_PX).long()
    y0 = torch.floor(safe[..., 1] + SNAP_PX).long()
    d_max = torch.full_like(vz, -torch.inf)
    own_seen = torch.zeros_like(finite)
    for dy in (0, 1):
        for dx in (0, 1):
            flat = frame_offset[None] + (y0 + dy).clamp(0, h - 1) * w + (x0 + dx).clamp(0, w - 1)
            d = torch.nan_to_num(depth[flat].to(vz.dtype), nan=torch.inf, neginf=torch.inf)  # invalid = far
            d_max = torch.maximum(d_max, d)
            own_seen |= inst[flat] == own[:, None]
    visible = finite & (vz > 0) & _torch_inside(vxy, h, w) & ~(d_max < tol * vz) & own_seen
    in_view = torch.isfinite(tz) & (tz > 0) & _torch_inside(txy, h, w)
    return {"points_world": pw, "points_cam": pc, "points_query_cam": pq, "visual_xy": vxy, "true_xy": txy,
            "visual_occluded": ~visible, "true_in_view": in_view}


def _torch_inside(xy: torch.Tensor, h: int, w: int) -> torch.Tensor:
    x, y = xy[..., 0], xy[..., 1]
    return (x >= -0.5) & (x <= w - 0.5) & (y >= -0.5) & (y <= h - 0.5)
