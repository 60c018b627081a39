"""generate: render the built-in procedural source into Kubric worker directories under data/raw/procedural/."""

from __future__ import annotations

import argparse
import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import torch

from fourdpqa import layout
from fourdpqa.device import resolve_device
from fourdpqa.params import Params
from fourdpqa.sources.procedural import VideoSpec, read_spec_hash, sample_video, video_id_for, write_kubric_dump
from fourdpqa.stages.common import StageReport, run_items

STAGE = "generate"
SOURCE = "procedural"


def raw_root(params: Params) -> Path:
    return layout.of(params).raw(SOURCE)


def video_specs(params: Params) -> dict[str, VideoSpec]:
    """Spec of every video of the configured run, by video id (cheap: no rendering)."""
    g = params.generate
    return {video_id_for(i): sample_video(g, params.base.seed, i) for i in range(g.n_videos)}


def is_up_to_date(params: Params, spec: VideoSpec) -> bool:
    """The dump exists (atomic dirs are complete when present) and was rendered from this exact spec."""
    return read_spec_hash(raw_root(params) / spec.video_id) == spec.spec_hash()


@contextlib.contextmanager
def _render_threads(device: torch.device) -> Iterator[None]:
    """One intra-op thread on CPU: per-frame tensors are small, and on shared cores 2 threads measured ~12x slower
    (OpenMP spin-waiting against other processes)."""
    before = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def generate_one(params: Params, spec: VideoSpec) -> Path:
    """Render one video into ``data/raw/procedural/<video_id>`` (replaced atomically)."""
    device = resolve_device(params.base.device)
    with _render_threads(device):
        return write_kubric_dump(spec, raw_root(params) / spec.video_id, device=device, chunk_rays=params.generate.render_chunk_rays)


def remove_stale(root: Path, keep: set[str]) -> list[str]:
    """Delete procedural dumps that the current params no longer produce (e.g. after lowering n_videos)."""
    stale = sorted(p.name for p in root.glob("proc_*") if p.is_dir() and p.name not in keep)
    for name in stale:
        shutil.rmtree(root / name)
    return stale


def run(params: Params, args: argparse.Namespace | None = None) -> StageReport:
    root = raw_root(params)
    specs = video_specs(params)
    return run_items(STAGE, root, list(specs), lambda vid: generate_one(params, specs[vid]), params.data,
                     is_done=lambda vid: is_up_to_date(params, specs[vid]), prune=lambda keep: remove_stale(root, keep))
