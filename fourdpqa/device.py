"""Device selection: ``auto`` picks CUDA when present, else CPU; thread count fixed for reproducibility."""

from __future__ import annotations

import torch


def resolve_device(spec: str = "auto") -> torch.device:
    """``auto`` | ``cpu`` | ``cuda`` | ``cuda:N`` -> torch.device; asking for CUDA without one is an error."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(spec)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {spec!r} requested but CUDA is not available")
    return dev


def set_determinism(seed: int, num_threads: int) -> None:
    """Fix torch threads and seeds so the same inputs give the same bytes on one machine."""
    torch.manual_seed(seed)
    torch.set_num_threads(num_threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
