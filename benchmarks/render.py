"""Renderer throughput: frames/s at 448x448 with 5 objects, batched torch (CPU, CUDA when present) versus the
naive per-pixel Python reference (``render.reference_pixel``) timed on a 16x16 crop and normalised per pixel.

    python benchmarks/render.py [--frames 8] [--size 448] [--crop 16] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from fourdpqa.params import GenerateParams
from fourdpqa.sources import procedural as P
from fourdpqa.sources.render import SceneRenderer, reference_pixel


def _scene(size: int, frames: int) -> tuple[P.VideoSpec, np.ndarray, np.ndarray, np.ndarray]:
    spec = P.sample_video(GenerateParams(width=size, height=size, n_frames=frames, min_objects=5, max_objects=5), 1234, 0)
    poses = np.stack([P.object_poses(o, P.frame_times(frames, spec.fps)) for o in spec.objects])
    return spec, P.intrinsics(spec), P.camera_poses(spec.camera, frames), poses


def batched_fps(spec: P.VideoSpec, k: np.ndarray, c2w: np.ndarray, poses: np.ndarray, device: str) -> float:
    renderer = SceneRenderer(spec, device=device)
    renderer.render(k, c2w[0], poses[:, 0])  # warm-up (allocations, CUDA context)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    for t in range(len(c2w)):
        renderer.render(k, c2w[t], poses[:, t])  # includes the copy back to host memory
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return len(c2w) / (time.perf_counter() - start)


def reference_fps(spec: P.VideoSpec, k: np.ndarray, c2w: np.ndarray, poses: np.ndarray, crop: int) -> float:
    """Frames/s the per-pixel reference would reach on the full image, measured on a centred crop."""
    x0, y0 = (spec.width - crop) // 2, (spec.height - crop) // 2
    start = time.perf_counter()
    for y in range(y0, y0 + crop):
        for x in range(x0, x0 + crop):
            reference_pixel(spec, k, c2w[0], poses[:, 0], x, y)
    per_pixel = (time.perf_counter() - start) / crop**2
    return 1.0 / (per_pixel * spec.width * spec.height)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--size", type=int, default=448)
    ap.add_argument("--crop", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    spec, k, c2w, poses = _scene(args.size, args.frames)
    ref = reference_fps(spec, k, c2w, poses, args.crop)
    print(f"scene: {args.size}x{args.size}, {len(spec.objects)} objects, {sum(len(o.parts) for o in spec.objects)} parts")
    print(f"per-pixel python reference ({args.crop}x{args.crop} crop, normalised): {ref:.5f} frames/s")
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for dev in devices:
        fps = batched_fps(spec, k, c2w, poses, dev)
        label = f"cpu, {args.threads} thread(s)" if dev == "cpu" else torch.cuda.get_device_name()
        print(f"batched torch [{label}]: {fps:.2f} frames/s  ({fps / ref:.0f}x the per-pixel reference)")


if __name__ == "__main__":
    main()
