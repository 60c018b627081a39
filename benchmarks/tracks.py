"""Point-track throughput: batched torch (CPU, and CUDA when present) vs the naive per-point NumPy reference.

Runs on procedural scenes generated in a temporary directory, same scenes and queries for every implementation;
prints points*frames per second and the speed-up (target: >= 50x on CPU). The naive reference is the one the tests
check the batched code against (``benchmarks/reference_tracks.py``).

    python benchmarks/tracks.py [--size 128] [--frames 24] [--videos 2] [--queries 256]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from fourdpqa.params import GenerateParams, TracksParams  # noqa: E402
from fourdpqa.sources.kubric import read_worker_dir  # noqa: E402
from fourdpqa.sources.procedural import sample_video, write_kubric_dump  # noqa: E402
from fourdpqa.tracks import compute_tracks, sample_queries  # noqa: E402
from benchmarks.reference_tracks import reference_tracks  # noqa: E402


def best_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--videos", type=int, default=2)
    ap.add_argument("--queries", type=int, default=256)
    ap.add_argument("--gpu-queries", type=int, default=8192, help="query count for the CUDA throughput run")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    gen = GenerateParams(n_frames=a.frames, width=a.size, height=a.size)
    tp = TracksParams(queries_per_video=a.queries, max_sampled_frac=1.0)
    with tempfile.TemporaryDirectory() as tmp:
        scenes = [read_worker_dir(write_kubric_dump(sample_video(gen, 1234, i), Path(tmp) / f"v{i}"), source="procedural")
                  for i in range(a.videos)]
    work = [(s, *sample_queries(s, tp, np.random.default_rng(i))) for i, s in enumerate(scenes)]
    pf = sum(len(q) * s.meta.n_frames for s, q, _ in work)
    print(f"{a.videos} procedural videos {a.size}x{a.size}x{a.frames}, {pf} points*frames in total, "
          f"torch threads={a.threads}")

    def batched(device: str) -> None:
        for s, q, _ in work:
            compute_tracks(s, q, device=device)

    def naive() -> None:
        for s, q, _ in work:
            reference_tracks(s, np.arange(s.meta.n_frames), q.frame, q.xy)

    batched("cpu")  # warm-up
    t_batched = best_time(lambda: batched("cpu"), 5)
    t_naive = best_time(naive, 1)
    print(f"naive per-point NumPy : {pf / t_naive:12,.0f} points*frames/s ({t_naive:.3f} s)")
    print(f"batched torch CPU     : {pf / t_batched:12,.0f} points*frames/s ({t_batched:.4f} s)")
    print(f"speed-up CPU          : {t_naive / t_batched:8.1f}x (target >= 50x)")
    if torch.cuda.is_available():
        batched("cuda")
        t_cuda = best_time(lambda: (batched("cuda"), torch.cuda.synchronize()), 5)
        print(f"batched torch CUDA    : {pf / t_cuda:12,.0f} points*frames/s ({t_cuda:.4f} s, "
              f"{torch.cuda.get_device_name()}), {t_naive / t_cuda:.1f}x naive")
        big = TracksParams(queries_per_video=a.gpu_queries, sampling_stride=1, max_sampled_frac=1.0)
        big_work = [(s, sample_queries(s, big, np.random.default_rng(0))[0]) for s in scenes]
        big_pf = sum(len(q) * s.meta.n_frames for s, q in big_work)
        for device in ("cpu", "cuda"):
            run = lambda d=device: [compute_tracks(s, q, device=d) for s, q in big_work]  # noqa: E731
            run()
            t = best_time(run, 3)
            print(f"large batch {device:4s}     : {big_pf / t:12,.0f} points*frames/s ({big_pf} points*frames, {t:.3f} s)")
    else:
        print("CUDA: not available on this machine")


if __name__ == "__main__":
    main()
