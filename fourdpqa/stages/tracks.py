"""tracks: point tracks of every standard scene -> data/tracks/<video_id>.npz + <video_id>_overlay.png."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from fourdpqa import layout, seeding
from fourdpqa.errors import BadInput
from fourdpqa.params import Params
from fourdpqa.stages import common, stage_list
from fourdpqa.stages.pool import pool_runner
from fourdpqa.stages.protocol import Job, Stage, StageFailed, StageReport, run_stage
from fourdpqa.stages.scene_items import scene_items


def tracks_path(params: Params, video_id: str) -> Path:
    return layout.of(params).tracks_file(video_id)


def overlay_path(params: Params, video_id: str) -> Path:
    return layout.of(params).tracks_overlay(video_id)


def outputs(params: Params, video_id: str) -> list[Path]:
    return [tracks_path(params, video_id), overlay_path(params, video_id)]


def tracks_one(job: Job) -> Path:
    """Sample queries on the frames of the QA clips, compute their tracks clip by clip, write the npz
    (schema-checked) and the overlay picture; returns the npz path. Only the clips' frames are read, so a long
    video costs what its clips cost (``fourdpqa.scene_clips``)."""
    from fourdpqa.qa_tracks import merge_queries, qa_queries
    from fourdpqa.scene import read_scene
    from fourdpqa.scene_clips import track_windows
    from fourdpqa.tracks import compute_window_tracks, sample_queries, save_tracks
    from fourdpqa.viz_tracks import overlay_image, write_png

    params, video_id, where = job.params, job.item, job.where
    scene = read_scene(where.scene(video_id))
    windows = track_windows(params, scene.meta)
    frames = np.unique(np.concatenate(windows))
    rng = seeding.rng(params.base.seed, "tracks", video_id)
    queries, _ = sample_queries(scene, params.tracks, rng, frames)
    if params.tracks.qa_queries_every:  # the pixels tracking questions ask about, so QA reads them from here
        queries = merge_queries(queries, qa_queries(scene, params.tracks.qa_queries_every, rng, frames))
    if len(queries) == 0:
        raise BadInput(f"video {video_id!r}: no visible pixel with valid depth to query")
    tracks = compute_window_tracks(scene, queries, windows, device=params.base.device,
                                   chunk_points=params.tracks.chunk_points,
                                   depth_tolerance=params.tracks.depth_tolerance)
    write_png(job.out / overlay_path(params, video_id).name, overlay_image(tracks, scene.rgb))
    return save_tracks(job.out / tracks_path(params, video_id).name, tracks, video_id, scene.meta.width,
                       scene.meta.height)


def animate(params: Params, video_id: str, out: str | Path) -> Path:
    """Short mp4/gif of the stored tracks of one video (see ``fourdpqa.viz_tracks``)."""
    from fourdpqa.scene import read_scene
    from fourdpqa.tracks import load_tracks
    from fourdpqa.viz_tracks import animation_frames, write_animation

    tracks, _ = load_tracks(tracks_path(params, video_id))
    scene = read_scene(layout.of(params).scene(video_id))
    return write_animation(out, animation_frames(tracks, scene.rgb), fps=scene.meta.fps)


STAGE = Stage(
    info=stage_list.get("tracks"),
    out_dir=lambda where: where.tracks,
    items=scene_items,
    work=tracks_one,
    outputs=outputs,
    inputs=lambda params, vid: [layout.of(params).scene(vid)],
    uses_device=True,
)


def run(params: Params, args: argparse.Namespace | None = None) -> StageReport:
    videos = common.videos_arg(args)
    anim = getattr(args, "animate", None)
    if anim and (not videos or len(videos) != 1):
        raise StageFailed("--animate needs one --video")
    report = run_stage(STAGE, params, only=videos, force=common.force_arg(args),
                       runner=pool_runner(common.workers_arg(args)))
    if anim and videos[0] not in report.quarantined:
        animate(params, videos[0], anim)
    return report
