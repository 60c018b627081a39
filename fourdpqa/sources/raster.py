"""Batched z-buffer rasteriser of posed triangle meshes in a pinhole camera (torch, CPU or CUDA).

Used where a dataset ships meshes and 6-DoF poses but no depth or instance images (HOT3D). For every triangle
the pixels whose centres can fall inside its projection (the bounding box of the triangle clipped to the near
plane) are enumerated as (triangle, pixel) pairs; each pair's camera ray (z = 1 direction, pixel centres at
integer coordinates as in :mod:`fourdpqa.geometry`) is intersected with the triangle (Moller-Trumbore), so the
hit parameter *is* the z depth, and the nearest hit per (frame, mesh, pixel) is kept by a scatter ``amin``.
Keeping one z-buffer per mesh gives, in one pass, the combined depth/instance image (nearest mesh per pixel,
ties to the lower mesh index) and each mesh's amodal footprint (its pixels as if alone). Triangles are two-sided
(meshes need not be closed); work is chunked to ``chunk_pairs`` pairs and ``buffer_elems`` z-buffer cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from fourdpqa.device import resolve_device


@dataclass(frozen=True)
class Mesh:
    """A triangle mesh in its object frame."""

    vertices: np.ndarray  # (V, 3) float64, metres
    faces: np.ndarray  # (F, 3) int64 vertex indices


@dataclass
class Raster:
    """Rendered frames: the nearest surface per pixel and per-mesh pixel counts."""

    depth: np.ndarray  # (T, H, W) float32 z depth of the nearest surface, NaN where no mesh is hit
    ids: np.ndarray  # (T, H, W) int64 index of the nearest mesh + 1, 0 where none
    visible: np.ndarray  # (T, O) int64 pixels of the image where mesh o is the nearest surface
    amodal: np.ndarray  # (T, O) int64 pixels mesh o covers alone, on the canvas widened by ``margin``


def rasterize(meshes: list[Mesh], cam_from_mesh: np.ndarray, k: np.ndarray, height: int, width: int, *,
              near: float = 0.01, margin: int = 0, device: str = "auto", chunk_pairs: int = 1 << 20,
              buffer_elems: int = 1 << 24) -> Raster:
    """Render ``meshes`` posed by ``cam_from_mesh`` (T, O, 4, 4) float64 (OpenCV camera axes, metres; a NaN pose
    leaves that mesh out of that frame) with intrinsics ``k`` (3, 3) into ``height`` x ``width`` images.

    ``margin`` pixels are added on every side for the amodal counts only (objects cut by the image border keep
    their full footprint, so visible / amodal also measures truncation)."""
    dev = resolve_device(device)
    t_all, n_obj = cam_from_mesh.shape[:2]
    if n_obj != len(meshes):
        raise ValueError(f"{len(meshes)} meshes but poses for {n_obj}")
    hh, ww = height + 2 * margin, width + 2 * margin
    kk = torch.as_tensor(k, dtype=torch.float64, device=dev).clone()
    kk[0, 2] += margin
    kk[1, 2] += margin
    verts = [torch.as_tensor(m.vertices, dtype=torch.float64, device=dev) for m in meshes]
    faces = [torch.as_tensor(m.faces, dtype=torch.int64, device=dev) for m in meshes]
    step = max(1, buffer_elems // max(1, n_obj * hh * ww))
    parts = [_resolve(_render_batch(verts, faces, torch.as_tensor(cam_from_mesh[t0:t0 + step], dtype=torch.float64,
                                                                  device=dev), kk, hh, ww, near, chunk_pairs),
                      margin, height, width) for t0 in range(0, t_all, step)]
    if not parts:
        raise ValueError("no frames to render")
    return Raster(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("depth", "ids", "visible", "amodal")))


def _render_batch(verts: list[torch.Tensor], faces: list[torch.Tensor], poses: torch.Tensor, k: torch.Tensor,
                  hh: int, ww: int, near: float, chunk_pairs: int) -> torch.Tensor:
    """(B, O, hh, ww) float64 z-buffers (inf = empty) of the meshes for B frames of poses (B, O, 4, 4)."""
    b, n_obj = poses.shape[:2]
    tris, slots = [], []
    for o in range(n_obj):
        ok = torch.isfinite(poses[:, o]).all(dim=(1, 2))
        if not ok.any():
            continue
        p = poses[ok, o]  # (b', 4, 4)
        cam = verts[o] @ p[:, :3, :3].transpose(1, 2) + p[:, None, :3, 3]  # (b', V, 3)
        tris.append(cam[:, faces[o]].reshape(-1, 3, 3))
        frames = torch.nonzero(ok).squeeze(1)
        slots.append((frames * n_obj + o).repeat_interleave(len(faces[o])))
    zbuf = torch.full((b * n_obj * hh * ww,), torch.inf, dtype=torch.float64, device=poses.device)
    if tris:
        tri, slot = torch.cat(tris), torch.cat(slots)
        x0, y0, nx, ny = _pixel_boxes(tri, k, hh, ww, near)
        n = nx * ny
        keep = n > 0
        tri, slot, x0, y0, nx, n = tri[keep], slot[keep], x0[keep], y0[keep], nx[keep], n[keep]
        cum = torch.cumsum(n, 0)
        start = 0
        while start < len(n):
            base = int(cum[start - 1]) if start else 0
            end = max(start + 1, int(torch.searchsorted(cum, base + chunk_pairs, right=True)))
            sel = slice(start, end)
            _splat(zbuf, tri[sel], slot[sel], x0[sel], y0[sel], nx[sel], n[sel], k, hh, ww, near)
            start = end
    return zbuf.reshape(b, n_obj, hh, ww)


def _pixel_boxes(tri: torch.Tensor, k: torch.Tensor, hh: int, ww: int, near: float) -> tuple[torch.Tensor, ...]:
    """Per triangle (N, 3, 3): first pixel column/row and the number of columns/rows whose centres lie in the
    bounding box of its projection after clipping it to z >= ``near`` (vertices in front plus edge crossings)."""
    z = tri[..., 2]
    nxt = tri.roll(-1, dims=1)
    za, zb = z, nxt[..., 2]
    cross = (za - near) * (zb - near) < 0
    s = torch.where(cross, (near - za) / torch.where(cross, zb - za, 1.0), 0.0)
    pts = torch.cat([tri, tri + s[..., None] * (nxt - tri)], 1)  # (N, 6, 3)
    ok = torch.cat([z >= near, cross], 1)
    pz = torch.where(ok, pts[..., 2], 1.0)
    u = k[0, 0] * pts[..., 0] / pz + k[0, 2]
    v = k[1, 1] * pts[..., 1] / pz + k[1, 2]
    inf = torch.tensor(torch.inf, dtype=u.dtype, device=u.device)
    lo_u, hi_u = torch.where(ok, u, inf).amin(1), torch.where(ok, u, -inf).amax(1)
    lo_v, hi_v = torch.where(ok, v, inf).amin(1), torch.where(ok, v, -inf).amax(1)
    x0 = torch.ceil(lo_u).clamp(0, ww).nan_to_num(ww).long()
    x1 = torch.floor(hi_u).clamp(-1, ww - 1).nan_to_num(-1).long()
    y0 = torch.ceil(lo_v).clamp(0, hh).nan_to_num(hh).long()
    y1 = torch.floor(hi_v).clamp(-1, hh - 1).nan_to_num(-1).long()
    return x0, y0, (x1 - x0 + 1).clamp(min=0), (y1 - y0 + 1).clamp(min=0)


def _splat(zbuf: torch.Tensor, tri: torch.Tensor, slot: torch.Tensor, x0: torch.Tensor, y0: torch.Tensor,
           nx: torch.Tensor, n: torch.Tensor, k: torch.Tensor, hh: int, ww: int, near: float) -> None:
    """Intersect every (triangle, candidate pixel) pair and keep the nearest z per buffer cell (in place)."""
    idx = torch.repeat_interleave(torch.arange(len(n), device=n.device), n)
    local = torch.arange(int(n.sum()), device=n.device) - (torch.cumsum(n, 0) - n)[idx]
    px, py = x0[idx] + local % nx[idx], y0[idx] + local // nx[idx]
    d = torch.stack([(px - k[0, 2]) / k[0, 0], (py - k[1, 2]) / k[1, 1], torch.ones_like(px, dtype=torch.float64)], -1)
    v0 = tri[idx, 0]
    e1, e2 = tri[idx, 1] - v0, tri[idx, 2] - v0
    pvec = torch.linalg.cross(d, e2)
    det = (e1 * pvec).sum(-1)
    good = det.abs() > 1e-18
    inv = 1.0 / torch.where(good, det, 1.0)
    tvec = -v0
    a = (tvec * pvec).sum(-1) * inv
    qvec = torch.linalg.cross(tvec, e1)
    bb = (d * qvec).sum(-1) * inv
    z = (e2 * qvec).sum(-1) * inv
    hit = good & (a >= 0) & (bb >= 0) & (a + bb <= 1) & (z >= near)
    cell = (slot[idx] * hh + py) * ww + px
    zbuf.scatter_reduce_(0, cell[hit], z[hit], reduce="amin")


def _resolve(zbuf: torch.Tensor, margin: int, height: int, width: int) -> Raster:
    """Per-mesh z-buffers (T, O, hh, ww) -> nearest surface inside the image and per-mesh pixel counts."""
    t, n_obj = zbuf.shape[:2]
    amodal = torch.isfinite(zbuf).sum((2, 3))
    inner = zbuf[:, :, margin:margin + height, margin:margin + width]
    if n_obj:
        zmin = inner.amin(1)
        first = ((inner == zmin[:, None]) & torch.isfinite(zmin[:, None])).to(torch.uint8).argmax(1)
        ids = torch.where(torch.isfinite(zmin), first + 1, 0)
    else:
        zmin = torch.full((t, height, width), torch.inf, dtype=torch.float64, device=zbuf.device)
        ids = torch.zeros((t, height, width), dtype=torch.int64, device=zbuf.device)
    visible = (ids[:, None] == torch.arange(1, n_obj + 1, device=ids.device)[None, :, None, None]).sum((2, 3))
    depth = torch.where(torch.isfinite(zmin), zmin, torch.nan).to(torch.float32)
    return Raster(depth.cpu().numpy(), ids.cpu().numpy(), visible.cpu().numpy(), amodal.cpu().numpy())
