"""Process-group view for multi-GPU training: one process per GPU under ``torchrun`` / ``accelerate launch``."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class DistInfo:
    """world: number of processes; rank: this process (0 logs, checkpoints and writes)."""

    world: int = 1
    rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed(device: torch.device) -> tuple[DistInfo, torch.device]:
    """Join the process group the launcher describes (WORLD_SIZE/RANK/LOCAL_RANK); each rank gets its own GPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo(), device
    import torch.distributed as dist

    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return DistInfo(dist.get_world_size(), dist.get_rank()), device
