"""tracks: point tracks of every standard scene -> data/tracks/<video_id>.npz + <video_id>_overlay.png."""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np

from fourdpqa.atomic import sweep_tmp, write_text
from fourdpqa.device import set_determinism
from fourdpqa.params import Params
from fourdpqa.qa_tracks import merge_queries, qa_queries
from fourdpqa.scene import list_scenes, read_scene
from fourdpqa.stages.common import StageFailed, StageReport, for_each_item, write_report
from fourdpqa.tracks import compute_tracks, load_tracks, sample_queries, save_tracks
from fourdpqa.viz_tracks import animation_frames, overlay_image, write_animation, write_png

STAGE = "tracks"


def tracks_dir(params: Params) -> Path:
    return params.data / "tracks"


def tracks_path(params: Params, video_id: str) -> Path:
    return tracks_dir(params) / f"{video_id}.npz"


def overlay_path(params: Params, video_id: str) -> Path:
    return tracks_dir(params) / f"{video_id}_overlay.png"


def video_seed(seed: int, video_id: str) -> list[int]:
    """Per-video rng seed from the global seed and a stable digest of the id (Python's hash() is salted)."""
    return [seed, int.from_bytes(hashlib.sha256(video_id.encode()).digest()[:8], "little")]


def fingerprint(params: Params, video_id: str) -> str:
    """Digest of everything one video's tracks depend on: seed, tracks params and the scene directory's contents."""
    scene_dir = params.data / "scenes" / video_id
    h = hashlib.sha256(json.dumps({"seed": params.base.seed, "tracks": params.tracks.model_dump()}, sort_keys=True).encode())
    for p in sorted(q for q in scene_dir.rglob("*") if q.is_file()):
        h.update(p.relative_to(scene_dir).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def _fingerprint_file(params: Params, video_id: str) -> Path:
    return tracks_dir(params) / f"{video_id}.fingerprint"


def outputs(params: Params, video_id: str) -> list[Path]:
    return [tracks_path(params, video_id), overlay_path(params, video_id), _fingerprint_file(params, video_id)]


def remove_outputs(params: Params, video_ids: list[str]) -> None:
    """Drop the outputs of videos that no longer have a scene or now fail, so no stale tracks are consumed."""
    for vid in video_ids:
        for p in outputs(params, vid):
            p.unlink(missing_ok=True)


def stale_videos(params: Params, keep: set[str]) -> list[str]:
    """Videos with files under data/tracks but not in ``keep``."""
    found = {p.name[: -len(suffix)] for p in tracks_dir(params).glob("*")
             for suffix in (".npz", "_overlay.png", ".fingerprint") if p.name.endswith(suffix)}
    return sorted(found - keep)


def is_up_to_date(params: Params, video_id: str) -> bool:
    """Outputs exist and were made from the same seed, params and scene files (idempotent reruns skip the video)."""
    marker = _fingerprint_file(params, video_id)
    return (all(p.exists() for p in outputs(params, video_id))
            and marker.read_text().strip() == fingerprint(params, video_id))


def tracks_one(params: Params, video_id: str) -> Path:
    """Sample queries, compute tracks, write the npz (schema-checked) and the overlay picture; returns the npz path."""
    scene = read_scene(params.data / "scenes" / video_id)
    rng = np.random.default_rng(video_seed(params.base.seed, video_id))
    queries, _ = sample_queries(scene, params.tracks, rng)
    if params.tracks.qa_queries_every:
        queries = merge_queries(queries, qa_queries(scene, params.tracks.qa_queries_every, rng))
    if len(queries) == 0:
        raise ValueError(f"video {video_id!r}: no visible pixel with valid depth to query")
    tracks = compute_tracks(scene, queries, device=params.base.device, chunk_points=params.tracks.chunk_points,
                            depth_tolerance=params.tracks.depth_tolerance)
    write_png(overlay_path(params, video_id), overlay_image(tracks, scene.rgb))
    out = save_tracks(tracks_path(params, video_id), tracks, video_id, scene.meta.width, scene.meta.height)
    write_text(_fingerprint_file(params, video_id), fingerprint(params, video_id) + "\n")
    return out


def animate(params: Params, video_id: str, out: str | Path) -> Path:
    """Short mp4/gif of the stored tracks of one video (see ``fourdpqa.viz_tracks``)."""
    tracks, _ = load_tracks(tracks_path(params, video_id))
    scene = read_scene(params.data / "scenes" / video_id)
    return write_animation(out, animation_frames(tracks, scene.rgb), fps=scene.meta.fps)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--video", help="only this video id (default: every scene under <data_root>/scenes)")
    parser.add_argument("--animate", metavar="OUT", help="also write an animation of --video's tracks (.mp4 or .gif)")


def run(params: Params, args: argparse.Namespace | None = None) -> StageReport:
    video = getattr(args, "video", None)
    anim = getattr(args, "animate", None)
    if anim and not video:
        raise StageFailed("--animate needs --video")
    set_determinism(params.base.seed, params.base.num_threads)
    out = tracks_dir(params)
    out.mkdir(parents=True, exist_ok=True)
    sweep_tmp(out)
    videos = [video] if video else [p.name for p in list_scenes(params.data / "scenes")]
    if not video:
        remove_outputs(params, stale_videos(params, set(videos)))
    report = for_each_item(STAGE, videos, lambda v: tracks_one(params, v), params.data,
                           is_done=lambda v: is_up_to_date(params, v))
    remove_outputs(params, list(report.quarantined))
    if not video:
        write_report(report, out / "_report.json")
    if anim and video not in report.quarantined:
        animate(params, video, anim)
    return report
