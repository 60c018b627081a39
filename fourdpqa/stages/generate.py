"""generate: render the built-in procedural source into Kubric worker folders under data/raw/procedural/."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from fourdpqa import layout
from fourdpqa.stages import common, stage_list
from fourdpqa.stages.protocol import Job, Stage, StageReport, run_stage
from fourdpqa.stages.pool import pool_runner

if TYPE_CHECKING:
    import torch

    from fourdpqa.params import Params
    from fourdpqa.sources.procedural import VideoSpec

SOURCE = "procedural"


def video_specs(params: Params) -> dict[str, VideoSpec]:
    """Spec of every video of the configured run, by video id (cheap: no rendering)."""
    from fourdpqa.sources.procedural import sample_video, video_id_for

    g = params.generate
    return {video_id_for(i): sample_video(g, params.base.seed, i) for i in range(g.n_videos)}


@contextlib.contextmanager
def _render_threads(device: torch.device) -> Iterator[None]:
    """One intra-op thread on CPU: per-frame tensors are small, and on shared cores 2 threads measured ~12x slower
    (OpenMP spin-waiting against other processes)."""
    import torch

    before = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def generate_one(job: Job) -> None:
    """Render one video into ``<out>/<video_id>`` (replaced atomically)."""
    from fourdpqa.device import resolve_device
    from fourdpqa.sources.kubric_dump import write_kubric_dump

    params = job.params
    spec = video_specs(params)[job.item]
    device = resolve_device(params.base.device)
    with _render_threads(device):
        write_kubric_dump(spec, job.out / layout.item_name(job.item), device=device,
                          chunk_rays=params.generate.render_chunk_rays)


STAGE = Stage(
    info=stage_list.get("generate"),
    out_dir=lambda where: where.raw(SOURCE),
    items=lambda params: sorted(video_specs(params)),
    work=generate_one,
    outputs=lambda params, vid: [layout.of(params).raw(SOURCE) / layout.item_name(vid)],
    inputs=lambda params, vid: [],
    uses_device=True,
    # a video's spec depends on the seed, its index and the generate params, not on how many videos there are:
    # raising n_videos renders only the new ones
    settings=lambda params: {"seed": params.base.seed, "generate": params.generate.model_dump(exclude={"n_videos"})},
)


def run(params: Params, args: argparse.Namespace | None = None) -> StageReport:
    return run_stage(STAGE, params, only=common.videos_arg(args), force=common.force_arg(args),
                     runner=pool_runner(common.workers_arg(args)))
