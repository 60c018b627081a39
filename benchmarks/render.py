"""Procedural renderer: ``fourdpqa.sources.render.SceneRenderer`` vs the vectorised NumPy ray caster a peer would write.

The baseline (``numpy_render`` below) casts every pixel's ray against the ground plane, the sky dome and every part
of every object (one vectorised intersection per part over the rays that meet the object's bounding sphere, float32
like the renderer's default),
keeps the nearest hit and shades it with the same texture and Lambert terms; it also counts each object's amodal
pixels. Both render the same frames of a procedural scene; the script prints CPU seconds per frame (process time,
so other load on a shared machine counts less), the speed-up and the largest differences (depth, instance ids, RGB).
CUDA (torch) is timed too when present.

    python benchmarks/render.py [--size 448] [--frames 4] [--objects 5]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from fourdpqa.params import GenerateParams  # noqa: E402
from fourdpqa.sources import procedural as P  # noqa: E402
from fourdpqa.sources.render import AMBIENT, DIFFUSE, DOME_RADIUS_M, GROUND_CELL_M, GROUND_GRID, Frame, SceneRenderer  # noqa: E402
from timing import cpu_seconds, cuda_seconds  # noqa: E402

EPS = 1e-6


def numpy_render(spec: P.VideoSpec, k: np.ndarray, c2w: np.ndarray, poses: np.ndarray, noise: np.ndarray,
                 tint: np.ndarray) -> Frame:
    """One frame: k (3, 3), c2w (4, 4) OpenCV camera, poses (O, 4, 4) world_from_object; the ground's value-noise
    lattice ``noise`` (G, G) and ``tint`` (3,) are the scene's (``SceneRenderer.noise`` / ``.ground_tint``)."""
    f32 = np.float32
    ys, xs = np.mgrid[0:spec.height, 0:spec.width].astype(f32)
    d = np.stack([(xs - k[0, 2]) / k[0, 0], (ys - k[1, 2]) / k[1, 1], np.ones_like(xs)], -1).reshape(-1, 3)
    d = (d / np.linalg.norm(d, axis=1, keepdims=True)) @ c2w[:3, :3].T.astype(f32)
    o = c2w[:3, 3].astype(f32)
    light = np.asarray(spec.light_dir, f32)
    best, rgb = _background(o, d, noise, tint, light)
    inst = np.zeros(len(d), np.uint8)
    amodal = np.zeros(len(spec.objects), np.int64)
    for i, obj in enumerate(spec.objects):
        r, p = poses[i, :3, :3].astype(f32), poses[i, :3, 3].astype(f32)
        b = d @ (o - p)  # only rays that meet the object's bounding sphere
        rays = np.flatnonzero(b * b - ((o - p) @ (o - p) - (np.linalg.norm(obj.size) / 2 + 1e-4) ** 2) >= 0)
        ol, dl = (o - p) @ r, d[rays] @ r  # rays in the object frame
        t = np.full(len(rays), np.inf, f32)
        part = np.zeros(len(rays), np.int64)
        for j, pt in enumerate(obj.parts):
            tj = _hit(pt, ol - np.asarray(pt.center, f32), dl)
            part = np.where(tj < t, j, part)
            t = np.minimum(t, tj)
        hit = np.isfinite(t)
        amodal[i] = hit.sum()
        closer = np.flatnonzero(hit & (t < best[rays]))
        sel, part, t = rays[closer], part[closer], t[closer]
        local = ol + t[:, None] * dl[closer]
        normal, albedo = np.empty_like(local), np.empty_like(local)
        for j, pt in enumerate(obj.parts):
            on = part == j
            normal[on] = _normals(pt, local[on] - np.asarray(pt.center, f32))
            albedo[on] = np.asarray(pt.color, f32) / 255
        normal = normal @ r.T
        normal = np.where((normal * d[sel]).sum(1, keepdims=True) > 0, -normal, normal)  # face the viewer
        shade = AMBIENT + DIFFUSE * np.clip(normal @ light, 0, None)
        rgb[sel] = albedo * _checker(local, 0.08) * shade[:, None]
        best[sel], inst[sel] = t, i + 1
    u8 = (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)
    shape = (spec.height, spec.width)
    return Frame(rgb=u8.reshape(*shape, 3), depth=best.reshape(shape), instances=inst.reshape(shape), amodal=amodal)


def _background(o: np.ndarray, d: np.ndarray, noise: np.ndarray, tint: np.ndarray, light: np.ndarray):
    """Ground plane z = 0 inside the sky dome: ray distances (N,) and colours (N, 3)."""
    dz = d[:, 2]
    t_ground = np.where(dz < -EPS, -o[2] / np.minimum(dz, -EPS), np.inf).astype(np.float32)
    b = d @ o
    t_dome = -b + np.sqrt(b * b - (o @ o - DOME_RADIUS_M**2))
    ground = t_ground < t_dome
    t = np.where(ground, t_ground, t_dome)
    p = o[:2] + t[:, None] * d[:, :2]
    uv = p / GROUND_CELL_M
    base = np.floor(uv)
    fx, fy = (uv - base).T
    i = base.astype(np.int64) % GROUND_GRID
    j = (i + 1) % GROUND_GRID
    a, b2, c, e = noise[i[:, 0], i[:, 1]], noise[j[:, 0], i[:, 1]], noise[i[:, 0], j[:, 1]], noise[j[:, 0], j[:, 1]]
    value = (a * (1 - fx) + b2 * fx) * (1 - fy) + (c * (1 - fx) + e * fx) * fy
    tex = (0.55 + 0.45 * value) * _checker(p, 1.0)[:, 0]
    ground_rgb = tint * tex[:, None] * (AMBIENT + DIFFUSE * max(light[2], 0))
    sky_rgb = np.stack([0.55 + 0.2 * dz, 0.7 + 0.15 * dz, 0.95 + 0.0 * dz], -1)
    return t.astype(np.float32), np.where(ground[:, None], ground_rgb, sky_rgb).astype(np.float32)


def _checker(p: np.ndarray, cell: float) -> np.ndarray:
    return (1.0 - 0.12 * (np.floor(p / cell).astype(np.int64).sum(1) % 2))[:, None].astype(np.float32)


def _hit(part: P.Part, o: np.ndarray, d: np.ndarray) -> np.ndarray:
    """First positive hit distance (N,) of rays o + t d (part frame, origin at the part centre) with one part."""
    half = np.asarray(part.half, np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        if part.kind == "box":
            safe = np.where(np.abs(d) < 1e-12, 1e-12, d)
            t1, t2 = (-half - o) / safe, (half - o) / safe
            near, far = np.minimum(t1, t2).max(1), np.maximum(t1, t2).min(1)
            return np.where((far >= near) & (near > 0), near, np.inf)
        if part.kind == "sphere":
            b = d @ o
            disc = b * b - (o @ o - half[0] ** 2)
            t = -b - np.sqrt(np.maximum(disc, 0))
            return np.where((disc >= 0) & (t > 0), t, np.inf)
        ax, (u, v) = part.axis, [a for a in range(3) if a != part.axis]
        r, hh = half[0], half[2]
        a = d[:, u] ** 2 + d[:, v] ** 2
        b = o[u] * d[:, u] + o[v] * d[:, v]
        disc = b * b - a * (o[u] ** 2 + o[v] ** 2 - r * r)
        side = (-b - np.sqrt(np.maximum(disc, 0))) / np.maximum(a, 1e-12)
        ok = (disc >= 0) & (a > 1e-12) & (side > 0) & (np.abs(o[ax] + side * d[:, ax]) <= hh)
        best = np.where(ok, side, np.inf)
        safe = np.where(np.abs(d[:, ax]) < 1e-12, 1e-12, d[:, ax])
        for cap in (hh, -hh):
            t = (cap - o[ax]) / safe
            inside = (o[u] + t * d[:, u]) ** 2 + (o[v] + t * d[:, v]) ** 2 <= r * r
            best = np.where((t > 0) & inside & (t < best), t, best)
        return best


def _normals(part: P.Part, q: np.ndarray) -> np.ndarray:
    """Outward unit normals (n, 3) at hit points ``q`` (n, 3) on ``part``, relative to its centre (object axes)."""
    half = np.asarray(part.half, np.float32)
    if part.kind == "sphere":
        return q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    eye = np.eye(3, dtype=np.float32)
    if part.kind == "box":
        rel = q / half
        face = np.abs(rel).argmax(1)
        return eye[face] * np.sign(np.take_along_axis(rel, face[:, None], 1))
    along = q[:, part.axis:part.axis + 1]
    radial = q - along * eye[part.axis]
    length = np.linalg.norm(radial, axis=1, keepdims=True)
    cap = np.abs(along) / half[2] >= length / half[0]
    return np.where(cap, eye[part.axis] * np.sign(along), radial / np.maximum(length, 1e-12))


# ---------------------------------------------------------------------------------------------------------- timing


def differences(a: Frame, b: Frame) -> dict[str, float]:
    """Where the two frames disagree: share of instance ids, max depth and RGB difference where ids agree, amodal."""
    same = a.instances == b.instances
    rgb = np.abs(a.rgb.astype(np.int16) - b.rgb).max(-1)[same]
    return {"instances_differing": float(1 - same.mean()),
            "max_depth_rel": float((np.abs(a.depth.astype(np.float64) - b.depth) / b.depth)[same].max()),
            "max_rgb": int(rgb.max()), "rgb_differing": float((rgb > 1).mean()),
            "max_amodal_px": int(np.abs(_inside(a) - _inside(b)).max(initial=0))}


def _inside(frame: Frame) -> np.ndarray:
    """Amodal pixels inside the image (the renderer also counts those past the border, in ``outside``)."""
    return frame.amodal - (frame.outside if frame.outside is not None else 0)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=448)
    ap.add_argument("--frames", type=int, default=4)
    ap.add_argument("--objects", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    gen = GenerateParams(width=a.size, height=a.size, n_frames=a.frames, min_objects=a.objects, max_objects=a.objects)
    spec = P.sample_video(gen, 1234, 0)
    k, c2w = P.intrinsics(spec), P.camera_poses(spec.camera, a.frames)
    poses = np.stack([P.object_poses(o, P.frame_times(a.frames, spec.fps)) for o in spec.objects], 1)  # (T, O, 4, 4)
    renderer = SceneRenderer(spec, device="cpu")
    noise, tint = renderer.noise.numpy(), renderer.ground_tint.numpy()
    times = cpu_seconds({
        "numpy": lambda: [numpy_render(spec, k, c2w[t], poses[t], noise, tint) for t in range(a.frames)],
        "library": lambda: [renderer.render(k, c2w[t], poses[t]) for t in range(a.frames)]}, a.repeats)
    t_base, t_lib = times["numpy"] / a.frames, times["library"] / a.frames
    diffs = [differences(renderer.render(k, c2w[t], poses[t]), numpy_render(spec, k, c2w[t], poses[t], noise, tint))
             for t in range(a.frames)]
    worst = {key: max(d[key] for d in diffs) for key in diffs[0]}
    print(f"render: {a.size}x{a.size}, {len(spec.objects)} objects, {sum(len(o.parts) for o in spec.objects)} parts, "
          f"{a.frames} frames; CPU seconds per frame, {a.threads} thread(s); load average {os.getloadavg()[0]:.1f}")
    print(f"  numpy ray caster : {t_base * 1e3:9.1f} ms/frame")
    print(f"  SceneRenderer    : {t_lib * 1e3:9.1f} ms/frame  speed-up {t_base / t_lib:.2f}x")
    print(f"  max |difference| : instance ids on {100 * worst['instances_differing']:.3f}% of pixels; where they agree "
          f"depth {worst['max_depth_rel']:.1e} relative, RGB {worst['max_rgb']}/255 (> 1 on "
          f"{100 * worst['rgb_differing']:.3f}% of pixels: float32 rounding at texture edges); amodal "
          f"{worst['max_amodal_px']} px")
    out = {"numpy_s": t_base, "library_s": t_lib, "ratio": t_base / t_lib, **worst}
    if torch.cuda.is_available():
        gpu = SceneRenderer(spec, device="cuda")
        t_cuda = cuda_seconds(lambda: [gpu.render(k, c2w[t], poses[t]) for t in range(a.frames)], a.repeats) / a.frames
        print(f"  SceneRenderer CUDA ({torch.cuda.get_device_name()}): {t_cuda * 1e3:.2f} ms/frame wall, "
              f"{t_base / t_cuda:.0f}x the CPU numpy baseline")
        out["cuda_s"] = t_cuda
    return out


if __name__ == "__main__":
    main()
