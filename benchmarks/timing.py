"""Timing shared by the benchmark scripts: CPU process time with baseline and library taking turns, CUDA wall time."""

from __future__ import annotations

import time

import numpy as np
import torch


def cpu_seconds(fns: dict, repeats: int) -> dict[str, float]:
    """Best process time of each function over ``repeats`` rounds, the functions taking turns within a round (so a
    burst of load on a shared machine hits all of them); single-threaded unless --threads says otherwise."""
    best = dict.fromkeys(fns, np.inf)
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.process_time()
            fn()
            best[name] = min(best[name], time.process_time() - start)
    return best


def cuda_seconds(fn, repeats: int) -> float:
    """Best wall time of ``fn`` over ``repeats`` runs after one warm-up, waiting for the GPU to finish each."""
    fn()
    torch.cuda.synchronize()
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best
