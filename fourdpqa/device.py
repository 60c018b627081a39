"""Device selection: ``auto`` picks CUDA when present, else CPU; thread count fixed for reproducibility.

torch is imported by the calls, not by importing this module: the stage protocol imports it for every stage,
and stages that never run torch (qa) skip its 2-4 s start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def resolve_device(spec: str = "auto") -> torch.device:
    """``auto`` | ``cpu`` | ``cuda`` | ``cuda:N`` -> torch.device; asking for CUDA without one is an error."""
    import torch

    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(spec)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {spec!r} requested but CUDA is not available")
    return dev


def set_determinism(seed: int, num_threads: int) -> None:
    """Fix torch threads and seeds so the same inputs give the same bytes on one machine."""
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(num_threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
