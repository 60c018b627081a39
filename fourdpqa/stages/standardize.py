"""standardize: every raw video of every configured source -> a validated standard scene in data/scenes/<id>/.

A missing source root, a root that is not a folder or lies outside ``base.allowed_roots``, a root that holds no video
(empty, or a mount point with nothing mounted), or no configured source fails the stage before any work (existing
scenes are kept). A video whose folder, or any file or folder in it, resolves outside the allowed roots (e.g. a
symlink inside a source root) is quarantined with that reason. Folders a source skips by name (``_*``, ``.*``,
``*.tmp-*``: bookkeeping and temporaries) are named in a warning and counted in the report.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from fourdpqa import layout
from fourdpqa.atomic import TMP_MARK
from fourdpqa.layout import MANIFEST_DIR
from fourdpqa.params import Params, SourceSpec
from fourdpqa.paths import UnsafePathError, confined_tree, resolve_inside
from fourdpqa.sources import RawVideo, adapter_raw_videos
from fourdpqa.sources.frame_plan import with_defaults
from fourdpqa.stages import common, stage_list
from fourdpqa.stages.protocol import Job, Stage, StageFailed, StageReport, run_stage
from fourdpqa.stages.pool import pool_runner

log = logging.getLogger("fourdpqa")


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
        root = source_root(params, source)
        videos = adapter_raw_videos(root, with_defaults(params, source))
        if not videos:
            raise StageFailed(f"standardize: source {source.name!r}: root {source.root} ({root}) holds no videos "
                              "(empty, or a drive that is not mounted); remove the source from standardize.sources "
                              "to drop its videos on purpose (existing scenes are kept)")
        for v in videos:
            if v.video_id in out:
                raise StageFailed(f"standardize: video id {v.video_id!r} appears in sources {out[v.video_id].source!r} "
                                  f"and {v.source!r}")
            out[v.video_id] = v
    return out


def list_raw_videos(params: Params) -> list[str]:
    """Sorted video ids over all configured sources (the Dagster dynamic partitions)."""
    return sorted(raw_videos(params))


def reserved_folders(params: Params) -> list[Path]:
    """Folders in the source roots that adapters skip by name (``_*``, ``.*``, ``*.tmp-*``)."""
    found = []
    for source in params.standardize.sources:
        root = source_root(params, source)
        found += [p for p in sorted(root.iterdir())
                  if p.is_dir() and p.name != MANIFEST_DIR and (p.name[0] in "._" or TMP_MARK in p.name)]
    return found


class Session:
    """What one standardize run (or pool worker) shares: the VLM captioners (one time budget and circuit breaker
    for all videos) and the names of folders the sources skip, reported once."""

    def __init__(self, params: Params):
        from fourdpqa.sources import captions

        self.captioners = captions.new_run()
        self.reserved = reserved_folders(params)
        if self.reserved:
            log.warning("standardize: %d folder(s) skipped by name (names starting with '_' or '.', or holding "
                        "'%s', are bookkeeping or temporaries; rename a video folder to include it): %s",
                        len(self.reserved), TMP_MARK, [str(p) for p in self.reserved[:10]])

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {"skipped_folders": len(self.reserved)} if self.reserved else {}
        for cap in self.captioners.values():
            for key, value in [*cap.stats.items(), *((f"llm_{k}", v) for k, v in cap.client.stats.items())]:
                out[f"caption_{key}"] = out.get(f"caption_{key}", 0) + value
        return out


def confined_path(params: Params, video_id: str) -> Path:
    """The raw path of a video, refused (UnsafePathError: the video is quarantined) when it, or any file or folder
    in it, resolves outside ``base.allowed_roots`` — a symlinked video folder or ``metadata.json`` must not pull in
    data from elsewhere."""
    videos = raw_videos(params)
    if video_id not in videos:
        raise KeyError(f"no raw video {video_id!r} in sources {[s.name for s in params.standardize.sources]}")
    path = videos[video_id].path
    confined_tree(path, params.base.allowed_roots)
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
    session=Session,
)


def run(params: Params, args: argparse.Namespace | None = None) -> StageReport:
    return run_stage(STAGE, params, only=common.videos_arg(args), force=common.force_arg(args),
                     runner=pool_runner(common.workers_arg(args)))
