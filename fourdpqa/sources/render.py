"""Torch ray caster for procedural scenes: analytic boxes, spheres and cylinders on a textured ground plane.

All rays of a frame are cast at once (in chunks of ``chunk_rays`` to bound memory) on CPU or CUDA. Each object
is first culled with its own 3D box, then all its parts of a kind are intersected in one batched tensor op.

Background: the ground plane z = 0 inside a sky dome (sphere of radius ``DOME_RADIUS_M`` centred on the world
origin), like Kubric's dome, so *every* pixel has a finite ray depth (sky pixels report the dome distance) and
instance id 0. Outputs per frame: RGB, exact ray-distance depth, instance id (object index + 1) and the AMODAL
pixel count of every object (its own hit mask, ignoring the others) so visible fraction = visible / amodal. The
amodal count covers the object's whole projection, also where it runs past the image border (rays cast on the
pixel grid extended over the projection of its bounding sphere), so pixels outside the frame count as hidden.

Same bits on every CPU: the ray arithmetic is elementwise only (each ``+ - * / sqrt`` is one correctly rounded
IEEE operation, whatever the SIMD width or thread count), dot products and 3x3 rotations are written out term by
term in a fixed order (:func:`_dot`, :func:`_rotate`), and the only reductions are exact ones (min / max / integer
counts). A ``@``, ``.sum(-1)`` or ``.norm()`` here would let BLAS or ATen's vectorised kernels choose the summation
order and fused multiply-adds by instruction set (AVX-512 vs AVX2 vs ``ATEN_CPU_CAPABILITY=default``), and a one-ulp
difference in a hit distance flips pixels at silhouette edges (``tests/test_determinism.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from fourdpqa.seeding import numbered_rng

if TYPE_CHECKING:  # procedural imports this module to render its specs
    from fourdpqa.sources.procedural import VideoSpec

DOME_RADIUS_M = 60.0  # sky dome around the world origin: sky pixels get this finite (ray) depth
AMBIENT, DIFFUSE = 0.35, 0.65
KIND_IDS = {"box": 0, "sphere": 1, "cylinder": 2}
GROUND_CELL_M, GROUND_GRID = 0.2, 256  # value-noise lattice spacing and size (wraps every 51.2 m)
_EPS = 1e-6
OUTSIDE_MAX = 2  # the pixel grid past the border reaches this many image sizes on each side (objects behind the camera)
GROUND_TINTS = ((0.55, 0.6, 0.5), (0.62, 0.56, 0.45), (0.5, 0.55, 0.62), (0.45, 0.6, 0.4), (0.6, 0.6, 0.6))


@dataclass
class Frame:
    rgb: np.ndarray  # (H, W, 3) uint8
    depth: np.ndarray  # (H, W) float32 ray distance from the camera centre, metres
    instances: np.ndarray  # (H, W) uint8, 0 = ground/sky, k = spec.objects[k-1]
    amodal: np.ndarray  # (O,) int64 pixels covered by each object alone, past the image border included
    outside: np.ndarray | None = None  # (O,) int64 of those pixels past the image border


@dataclass
class _ObjectGeometry:
    radius: float  # bounding-sphere radius of the object's 3D box (cull volume)
    kinds: dict[int, torch.Tensor]  # kind id -> (P_k,) indices into the object's parts
    center: torch.Tensor  # (P, 3) part centres, object frame
    part_half: torch.Tensor  # (P, 3) (see shapes.Part.half)
    axis: torch.Tensor  # (P,) long cylinder axis
    kind: torch.Tensor  # (P,) long kind id
    color: torch.Tensor  # (P, 3) float 0..1


class SceneRenderer:
    """Renders frames of one :class:`VideoSpec`; geometry tensors are built once per video."""

    def __init__(self, spec: VideoSpec, device: str | torch.device = "cpu", chunk_rays: int = 65536, dtype: torch.dtype = torch.float32):
        self.device, self.dtype, self.chunk = torch.device(device), dtype, int(chunk_rays)
        self.width, self.height = spec.width, spec.height
        f = dict(device=self.device, dtype=dtype)
        self.light = torch.tensor(spec.light_dir, **f)
        if len(spec.objects) > 255:
            raise ValueError(f"{spec.video_id}: {len(spec.objects)} objects do not fit 8-bit segmentation (max 255)")
        self.objects = []
        for o in spec.objects:
            kind = torch.tensor([KIND_IDS[p.kind] for p in o.parts], device=self.device)
            self.objects.append(_ObjectGeometry(
                radius=math.sqrt(sum(v * v for v in o.size)) / 2 + 1e-4,
                kinds={k: torch.nonzero(kind == k)[:, 0] for k in KIND_IDS.values() if (kind == k).any()},
                center=torch.tensor([p.center for p in o.parts], **f),
                part_half=torch.tensor([p.half for p in o.parts], **f),
                axis=torch.tensor([p.axis for p in o.parts], device=self.device),
                kind=kind,
                color=torch.tensor([p.color for p in o.parts], **f) / 255.0,
            ))
        rng = numbered_rng(spec.ground_seed)
        self.noise = torch.tensor(rng.random((GROUND_GRID, GROUND_GRID)), **f)
        tint = GROUND_TINTS[int(rng.integers(len(GROUND_TINTS)))]
        self.ground_tint = torch.tensor(np.asarray(tint) * rng.uniform(0.9, 1.1), **f)

    # ------------------------------------------------------------------------------------------------ frame

    def render(self, k: np.ndarray, world_from_cam: np.ndarray, world_from_objects: np.ndarray) -> Frame:
        """k: (3, 3) OpenCV intrinsics; world_from_cam: (4, 4) OpenCV axes; world_from_objects: (O, 4, 4)."""
        h, w = self.height, self.width
        f = dict(device=self.device, dtype=self.dtype)
        ys, xs = torch.meshgrid(torch.arange(h, **f), torch.arange(w, **f), indexing="ij")
        kt = torch.as_tensor(k, **f)
        d_cam = torch.stack([(xs - kt[0, 2]) / kt[0, 0], (ys - kt[1, 2]) / kt[1, 1], torch.ones_like(xs)], -1).reshape(-1, 3)
        d_cam = d_cam / torch.sqrt(_dot(d_cam, d_cam))[:, None]
        c2w = torch.as_tensor(world_from_cam, **f)
        dirs = _rotate(d_cam, c2w[:3, :3])
        origin = c2w[:3, 3]
        poses = torch.as_tensor(np.asarray(world_from_objects).reshape(-1, 4, 4), **f)
        rgb = torch.empty(h * w, 3, **f)
        depth = torch.empty(h * w, **f)
        inst = torch.empty(h * w, dtype=torch.uint8, device=self.device)
        amodal = torch.zeros(len(self.objects), dtype=torch.int64, device=self.device)
        for s in range(0, h * w, self.chunk):
            sl = slice(s, s + self.chunk)
            rgb[sl], depth[sl], inst[sl] = self._cast(origin, dirs[sl], poses, amodal)
        outside = self._amodal_outside(kt, c2w, poses)
        to_u8 = (rgb.clamp(0, 1) * 255 + 0.5).to(torch.uint8)
        return Frame(
            rgb=to_u8.reshape(h, w, 3).cpu().numpy(),
            depth=depth.reshape(h, w).cpu().numpy().astype(np.float32),
            instances=inst.reshape(h, w).cpu().numpy(),
            amodal=(amodal + outside).cpu().numpy(),
            outside=outside.cpu().numpy(),
        )

    def _cast(
        self, origin: torch.Tensor, dirs: torch.Tensor, poses: torch.Tensor, amodal: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Nearest hit of rays (N, 3) (unit directions from ``origin``); accumulates amodal counts in place."""
        best_t, color = self._background(origin, dirs)
        inst = torch.zeros(dirs.shape[0], dtype=torch.uint8, device=self.device)
        for i, geo in enumerate(self.objects):
            r, p = poses[i, :3, :3], poses[i, :3, 3]
            # cull with the bounding sphere in the world frame: one dot product per ray
            oc = origin - p
            b = _dot(dirs, oc)
            idx = torch.nonzero(b * b - (_dot(oc, oc) - geo.radius * geo.radius) >= 0)[:, 0]
            if idx.numel() == 0:
                continue
            rt = r.T.contiguous()
            o_obj = _rotate(oc[None], rt)[0]  # R^T (o - p)
            d_sub = _rotate(dirs[idx], rt)
            t, part = self._hit_object(geo, o_obj, d_sub)
            hit = torch.isfinite(t)
            amodal[i] += hit.sum()
            closer = hit & (t < best_t[idx])
            if not closer.any():
                continue
            sel, t_sel, part_sel = idx[closer], t[closer], part[closer]
            local = o_obj + t_sel[:, None] * d_sub[closer]
            normal = _rotate(_part_normal(geo, part_sel, local), r)
            best_t[sel] = t_sel
            inst[sel] = i + 1
            color[sel] = self._shade(geo.color[part_sel] * _checker(local, 0.08), normal, dirs[sel])
        return color, best_t, inst

    def _amodal_outside(self, kt: torch.Tensor, c2w: torch.Tensor, poses: torch.Tensor) -> torch.Tensor:
        """(O,) pixels of each object's own projection outside the image: rays through the pixel centres past the
        border, over a box that holds the projection of the object's bounding sphere (clamped to ``OUTSIDE_MAX``
        image sizes on each side)."""
        h, w = self.height, self.width
        f = dict(device=self.device, dtype=self.dtype)
        out = torch.zeros(len(self.objects), dtype=torch.int64, device=self.device)
        origin, rot = c2w[:3, 3], c2w[:3, :3]
        rot_t = rot.T.contiguous()
        for i, geo in enumerate(self.objects):
            box = _sphere_pixel_box(kt, _rotate((poses[i, :3, 3] - origin)[None], rot_t)[0], geo.radius, w, h)
            if box is None or (box[0] >= 0 and box[2] >= 0 and box[1] <= w - 1 and box[3] <= h - 1):
                continue  # wholly behind the camera, or its projection lies inside the image
            x0, x1, y0, y1 = box
            ys, xs = torch.meshgrid(torch.arange(y0, y1 + 1, **f), torch.arange(x0, x1 + 1, **f), indexing="ij")
            outside = (xs < 0) | (xs > w - 1) | (ys < 0) | (ys > h - 1)
            xs, ys = xs[outside], ys[outside]
            r, p = poses[i, :3, :3], poses[i, :3, 3]
            rt = r.T.contiguous()
            o_obj = _rotate((origin - p)[None], rt)[0]  # R^T (o - p), term by term as in _cast
            for s in range(0, xs.numel(), self.chunk):
                xc, yc = xs[s:s + self.chunk], ys[s:s + self.chunk]
                d = torch.stack([(xc - kt[0, 2]) / kt[0, 0], (yc - kt[1, 2]) / kt[1, 1], torch.ones_like(xc)], -1)
                d = _rotate(d / torch.sqrt(_dot(d, d))[:, None], rot)
                t, _ = self._hit_object(geo, o_obj, _rotate(d, rt))
                out[i] += torch.isfinite(t).sum()
        return out

    # ------------------------------------------------------------------------------------------- intersections

    def _hit_object(self, geo: _ObjectGeometry, o: torch.Tensor, d: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Nearest part hit (n,) distance (inf = miss) and part index for rays o + t d in the object frame."""
        n = d.shape[0]
        ts = torch.full((geo.center.shape[0], n), torch.inf, device=self.device, dtype=self.dtype)
        for kind, parts in geo.kinds.items():
            c, hf = geo.center[parts], geo.part_half[parts]
            if kind == 0:
                ts[parts] = _box_t(o - c[:, None], d, hf[:, None])
            elif kind == 1:
                ts[parts] = _sphere_t(o - c[:, None], d, hf[:, :1])
            else:
                ts[parts] = _cylinder_t(o - c[:, None], d, hf, geo.axis[parts])
        t, part = ts.min(0)
        return t, part

    def _background(self, origin: torch.Tensor, dirs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Ground plane (z = 0) inside the dome: distances (N,) and shaded colours (N, 3)."""
        dz = dirs[:, 2]
        t_ground = torch.where(dz < -_EPS, -origin[2] / dz.clamp(max=-_EPS), torch.inf)
        b = _dot(dirs, origin)
        t_dome = -b + torch.sqrt(b * b - (_dot(origin, origin) - DOME_RADIUS_M * DOME_RADIUS_M))
        ground = t_ground < t_dome
        t = torch.where(ground, t_ground, t_dome)
        p = origin + t[:, None] * dirs
        tex = (0.55 + 0.45 * self._noise(p[:, :2] / GROUND_CELL_M)) * _checker(p[:, :2], 1.0)[:, 0]
        ground_rgb = self.ground_tint * tex[:, None] * (AMBIENT + DIFFUSE * self.light[2].clamp(min=0))
        sky_rgb = torch.stack([0.55 + 0.2 * dz, 0.7 + 0.15 * dz, 0.95 + 0.0 * dz], -1)
        return t, torch.where(ground[:, None], ground_rgb, sky_rgb)

    def _noise(self, uv: torch.Tensor) -> torch.Tensor:
        """Bilinear value noise (N,) in [0, 1] on the wrapped lattice."""
        base = torch.floor(uv)
        fr = uv - base
        i = base.long() % GROUND_GRID
        j = (i + 1) % GROUND_GRID
        g = self.noise.view(-1)
        a, b = g.take(i[:, 0] * GROUND_GRID + i[:, 1]), g.take(j[:, 0] * GROUND_GRID + i[:, 1])
        c, d = g.take(i[:, 0] * GROUND_GRID + j[:, 1]), g.take(j[:, 0] * GROUND_GRID + j[:, 1])
        fx, fy = fr[:, 0], fr[:, 1]
        return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy

    def _shade(self, albedo: torch.Tensor, normal: torch.Tensor, dirs: torch.Tensor) -> torch.Tensor:
        """Lambert + ambient with normals (n, 3) flipped to face the viewer."""
        normal = torch.where((_dot(normal, dirs) > 0)[:, None], -normal, normal)
        lam = _dot(normal, self.light).clamp(min=0)
        return albedo * (AMBIENT + DIFFUSE * lam)[:, None]


def _sphere_pixel_box(kt: torch.Tensor, centre: torch.Tensor, radius: float, w: int,
                      h: int) -> tuple[int, int, int, int] | None:
    """Integer pixel bounds (x0, x1, y0, y1) holding the projection of a sphere (``centre`` in camera axes): every
    point of it has x/z and y/z between the extremes over z in [cz - r, cz + r]; a sphere reaching the camera plane
    gets the whole extended grid, one wholly behind the camera none."""
    cx, cy, cz = (float(v) for v in centre)
    if cz + radius <= 0:
        return None
    if cz - radius <= 1e-3:
        lo_u = lo_v = -math.inf
        hi_u = hi_v = math.inf
    else:
        zs = (cz - radius, cz + radius)
        lo_u, hi_u = min((cx - radius) / z for z in zs), max((cx + radius) / z for z in zs)
        lo_v, hi_v = min((cy - radius) / z for z in zs), max((cy + radius) / z for z in zs)
    fx, fy, px, py = (float(kt[0, 0]), float(kt[1, 1]), float(kt[0, 2]), float(kt[1, 2]))

    def clamp(v: float, size: int, edge) -> int:  # infinite bounds (a sphere at the camera plane) included
        return int(edge(min(max(v, -OUTSIDE_MAX * size), (OUTSIDE_MAX + 1) * size - 1)))

    return (clamp(fx * lo_u + px, w, math.floor), clamp(fx * hi_u + px, w, math.ceil),
            clamp(fy * lo_v + py, h, math.floor), clamp(fy * hi_v + py, h, math.ceil))
def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Dot products over the last axis (size 3) of broadcast ``a`` and ``b``, summed x, y, z in that order."""
    return a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1] + a[..., 2] * b[..., 2]


def _rotate(v: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """``m @ v`` for vectors v (n, 3) and one 3x3 matrix m, term by term (see the module docstring)."""
    return torch.stack([_dot(v, m[0]), _dot(v, m[1]), _dot(v, m[2])], -1)


def _checker(p: torch.Tensor, cell: float) -> torch.Tensor:
    """(n, 1) factor 1.0 / 0.88 of a 3D (or 2D) checker with ``cell``-metre cells: surface texture for tracking."""
    parity = torch.floor(p / cell).long().sum(-1) % 2
    return (1.0 - 0.12 * parity.to(p.dtype))[:, None]


def _slab_range(o: torch.Tensor, d: torch.Tensor, half: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    safe = torch.where(d.abs() < 1e-12, torch.full_like(d, 1e-12), d)
    inv = 1.0 / safe
    t1, t2 = (-half - o) * inv, (half - o) * inv
    return torch.minimum(t1, t2).amax(-1), torch.maximum(t1, t2).amin(-1)


def _box_t(o: torch.Tensor, d: torch.Tensor, half: torch.Tensor) -> torch.Tensor:
    """(P, n) entry distance into boxes centred at the origin of ``o`` (inf = miss)."""
    tmin, tmax = _slab_range(o, d, half)
    return torch.where((tmax >= tmin) & (tmin > 0), tmin, torch.inf)


def _sphere_t(o: torch.Tensor, d: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """(P, n) first positive hit of unit rays with spheres of radius r (P, 1) centred at the origin of ``o``."""
    b = _dot(o, d)
    disc = b * b - (_dot(o, o) - r * r)
    t = -b - torch.sqrt(disc.clamp(min=0))
    return torch.where((disc >= 0) & (t > 0), t, torch.inf)


def _cylinder_t(o: torch.Tensor, d: torch.Tensor, half: torch.Tensor, axis: torch.Tensor) -> torch.Tensor:
    """(P, n) first hit with capped cylinders (radius half[:, 0], half length half[:, 2] along ``axis``)."""
    perm = torch.stack([axis, (axis + 1) % 3, (axis + 2) % 3], -1)  # (P, 3): axial component first
    op = torch.gather(o, -1, perm[:, None].expand(o.shape))
    dp = torch.gather(d.expand(o.shape[0], -1, -1), -1, perm[:, None].expand(o.shape[0], d.shape[0], 3))
    r, hh = half[:, :1], half[:, 2:3]
    a = dp[..., 1] * dp[..., 1] + dp[..., 2] * dp[..., 2]
    b = op[..., 1] * dp[..., 1] + op[..., 2] * dp[..., 2]
    c = op[..., 1] * op[..., 1] + op[..., 2] * op[..., 2] - r * r
    disc = b * b - a * c
    t_side = (-b - torch.sqrt(disc.clamp(min=0))) / a.clamp(min=1e-12)
    side_ok = (disc >= 0) & (a > 1e-12) & (t_side > 0) & ((op[..., 0] + t_side * dp[..., 0]).abs() <= hh)
    t_side = torch.where(side_ok, t_side, torch.inf)
    safe = torch.where(dp[..., 0].abs() < 1e-12, torch.full_like(dp[..., 0], 1e-12), dp[..., 0])
    t_caps = torch.stack([(hh - op[..., 0]) / safe, (-hh - op[..., 0]) / safe], 0)
    cap_u, cap_v = op[None, ..., 1] + t_caps * dp[None, ..., 1], op[None, ..., 2] + t_caps * dp[None, ..., 2]
    radial = cap_u * cap_u + cap_v * cap_v
    t_caps = torch.where((t_caps > 0) & (radial <= r * r), t_caps, torch.inf).amin(0)
    return torch.minimum(t_side, t_caps)


def _part_normal(geo: _ObjectGeometry, part: torch.Tensor, local: torch.Tensor) -> torch.Tensor:
    """Outward unit normals (n, 3) in the object frame at hit points ``local`` on parts ``part``."""
    q = local - geo.center[part]
    half = geo.part_half[part]
    kind = geo.kind[part]
    eye = torch.eye(3, device=q.device, dtype=q.dtype)
    # box: the face whose normalised coordinate is largest
    rel = q / half
    ax = rel.abs().argmax(-1)
    n_box = eye[ax] * torch.sign(rel.gather(-1, ax[:, None]))
    # sphere
    n_sphere = q / torch.sqrt(_dot(q, q)).clamp(min=1e-12)[:, None]
    # cylinder: cap if the axial ratio dominates, else radial
    axis = geo.axis[part]
    u = q.gather(-1, axis[:, None])
    radial = q - u * eye[axis]
    radial_len = torch.sqrt(_dot(radial, radial))[:, None]
    cap = (u.abs() / half[:, 2:3]) >= radial_len / half[:, :1]
    n_cyl = torch.where(cap, eye[axis] * torch.sign(u), radial / radial_len.clamp(min=1e-12))
    out = torch.where((kind == 0)[:, None], n_box, torch.where((kind == 1)[:, None], n_sphere, n_cyl))
    return out


# ------------------------------------------------------------------------------------------ per-pixel reference


def reference_pixel(spec: VideoSpec, k: np.ndarray, world_from_cam: np.ndarray, world_from_objects: np.ndarray, x: int, y: int) -> tuple[float, int]:
    """Ray distance and instance id of pixel (x, y), one ray at a time in float64 plain Python.

    An independent, deliberately naive implementation (per part, per slab, no batching) used by the tests as an
    oracle for :class:`SceneRenderer` and by ``benchmarks/render.py`` as the per-pixel baseline.
    """
    d_cam = np.array([(x - k[0, 2]) / k[0, 0], (y - k[1, 2]) / k[1, 1], 1.0])
    d = world_from_cam[:3, :3] @ (d_cam / np.linalg.norm(d_cam))
    o = world_from_cam[:3, 3]
    b = float(o @ d)
    best = -b + math.sqrt(b * b - (float(o @ o) - DOME_RADIUS_M**2))
    if d[2] < -_EPS and -o[2] / d[2] < best:
        best = -o[2] / d[2]
    best_id = 0
    for i, obj in enumerate(spec.objects):
        pose = world_from_objects[i]
        ol = pose[:3, :3].T @ (o - pose[:3, 3])
        dl = pose[:3, :3].T @ d
        for part in obj.parts:
            t = _reference_part(part.kind, np.asarray(part.center), np.asarray(part.half), part.axis, ol, dl)
            if t < best:
                best, best_id = t, i + 1
    return best, best_id


def _reference_part(kind: str, c: np.ndarray, half: np.ndarray, axis: int, o: np.ndarray, d: np.ndarray) -> float:
    o = o - c
    if kind == "box":
        lo, hi = -math.inf, math.inf
        for a in range(3):
            if abs(d[a]) < 1e-12:
                if abs(o[a]) > half[a]:
                    return math.inf
                continue
            t1, t2 = sorted(((-half[a] - o[a]) / d[a], (half[a] - o[a]) / d[a]))
            lo, hi = max(lo, t1), min(hi, t2)
        return lo if lo <= hi and lo > 0 else math.inf
    if kind == "sphere":
        b = float(o @ d)
        disc = b * b - (float(o @ o) - half[0] ** 2)
        t = -b - math.sqrt(disc) if disc >= 0 else math.inf
        return t if t > 0 else math.inf
    r, hh = half[0], half[2]
    u, v = [a for a in range(3) if a != axis]
    best = math.inf
    qa = d[u] ** 2 + d[v] ** 2
    if qa > 1e-12:
        qb = o[u] * d[u] + o[v] * d[v]
        disc = qb * qb - qa * (o[u] ** 2 + o[v] ** 2 - r * r)
        if disc >= 0:
            t = (-qb - math.sqrt(disc)) / qa
            if t > 0 and abs(o[axis] + t * d[axis]) <= hh:
                best = t
    if abs(d[axis]) > 1e-12:
        for cap in (hh, -hh):
            t = (cap - o[axis]) / d[axis]
            if 0 < t < best and (o[u] + t * d[u]) ** 2 + (o[v] + t * d[v]) ** 2 <= r * r:
                best = t
    return best
