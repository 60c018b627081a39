"""standardize: every raw video of every configured source -> a validated standard scene in data/scenes/<id>/.

A missing source root, a root that is not a folder or lies outside ``base.allowed_roots``, or no configured source
fails the stage before any work (existing scenes are kept). A video folder that resolves outside the allowed roots
(e.g. a symlink inside a source root) is quarantined with that reason.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fourdpqa import layout
from fourdpqa.params import Params, SourceSpec
from fourdpqa.paths import UnsafePathError, resolve_inside
from fourdpqa.sources import RawVideo, adapter_raw_videos
from fourdpqa.sources.frame_plan import with_defaults
from fourdpqa.stages import common, stage_list
from fourdpqa.stages.protocol import Job, Stage, StageFailed, StageReport, run_stage
from fourdpqa.stages.pool import pool_runner

def source_root(params: Params, source: SourceSpec) -> Path:
    """The resolved root folder of a source; StageFailed (one line) when it is unusable."""
    try:
        root = resolve_inside(source.root, params.base.allowed_roots)
    except UnsafePathError as exc:
        raise StageFailed(f"standardize: source {source.name!r}: {exc}") from exc
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise StageFailed(f"standardize: source {source.name!r}: root {source.root} ({root}) {what}; "
                          "fix standardize.sources in params.yaml (existing scenes are kept)")
    return root


def raw_videos(params: Params) -> dict[str, RawVideo]:
    """Every raw video of every source, by video id; two sources yielding the same id is a configuration error."""
    if not params.standardize.sources:
        raise StageFailed("standardize: standardize.sources is empty; configure at least one source "
                          "(existing scenes are kept)")
    out: dict[str, RawVideo] = {}
    for source in params.standardize.sources:
        for v in adapter_raw_videos(source_root(params, source), with_defaults(params, source)):
            if v.video_id in out:
                raise StageFailed(f"standardize: video id {v.video_id!r} appears in sources {out[v.video_id].source!r} "
                                  f"and {v.source!r}")
            out[v.video_id] = v
    return out


def list_raw_videos(params: Params) -> list[str]:
    """Sorted video ids over all configured sources (the Dagster dynamic partitions)."""
    return sorted(raw_videos(params))


def confined_path(params: Params, video_id: str) -> Path:
    """The raw path of a video, refused (UnsafePathError: the video is quarantined) when it resolves outside
    ``base.allowed_roots`` — a symlinked video folder must not pull in data from elsewhere."""
    videos = raw_videos(params)
    if video_id not in videos:
        raise KeyError(f"no raw video {video_id!r} in sources {[s.name for s in params.standardize.sources]}")
    path = videos[video_id].path
    resolve_inside(path, params.base.allowed_roots)
    return path


def standardize_one(job: Job) -> None:
    """Convert one raw video (any source) into ``<out>/<video_id>``, its frames streamed one at a time; raises
    SceneError on bad input (depth units off against the scene's own 3D boxes included)."""
    from fourdpqa.scene import write_scene
    from fourdpqa.sources.depth_units import check_scene_depth

    confined_path(job.params, job.item)
    video = raw_videos(job.params)[job.item]
    scene = video.load()
    check_scene_depth(scene, video.path)
    write_scene(scene, job.out / layout.item_name(job.item))


def raw_inputs(params: Params, video_id: str) -> list[Path]:
    """The raw folder or file of a video, unless its adapter digests it itself (one sequence of a split-wide
    archive must not hash the whole archive)."""
    path = confined_path(params, video_id)
    return [] if raw_videos(params)[video_id].digest is not None else [path]


def raw_digest(params: Params, video_id: str) -> dict[str, str]:
    video = raw_videos(params)[video_id]
    return {f"raw:{video_id}": video.digest().hex()} if video.digest is not None else {}


STAGE = Stage(
    info=stage_list.get("standardize"),
    out_dir=lambda where: where.scenes,
    items=list_raw_videos,
    work=standardize_one,
    outputs=lambda params, vid: [layout.of(params).scene(vid)],
    inputs=raw_inputs,
    input_digests=raw_digest,
    # where a source lives is not what a scene depends on (its content is, as inputs): moving data keeps scenes;
    # the options include the frame selection the source's qa clip settings imply
    settings=lambda params: [with_defaults(params, s).model_dump(mode="json", exclude={"root"})
                             for s in params.standardize.sources],
)


def run(params: Params, args: argparse.Namespace | None = None) -> StageReport:
    return run_stage(STAGE, params, only=common.videos_arg(args), force=common.force_arg(args),
                     runner=pool_runner(common.workers_arg(args)))
