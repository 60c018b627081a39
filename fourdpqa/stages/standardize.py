"""standardize: every raw video of every configured source -> a validated standard scene in data/scenes/<id>/."""

from __future__ import annotations

import argparse
import hashlib
import shutil
from dataclasses import replace
from pathlib import Path

from fourdpqa.params import Params, SourceSpec
from fourdpqa.paths import resolve_inside
from fourdpqa.scene import SceneError, read_meta, write_scene
from fourdpqa.sources import RawVideo, adapter_raw_videos
from fourdpqa.stages.common import StageReport, run_items

STAGE = "standardize"
VERSION = "standardize-2"  # bump when the conversion changes, so up-to-date checks redo every video


def scenes_dir(params: Params) -> Path:
    return params.data / "scenes"


def _source_videos(params: Params, source: SourceSpec) -> list[RawVideo]:
    root = resolve_inside(source.root, params.base.allowed_roots)
    return adapter_raw_videos(root, source)


def raw_videos(params: Params) -> dict[str, RawVideo]:
    """Every raw video of every source, by video id; two sources yielding the same id is a configuration error."""
    out: dict[str, RawVideo] = {}
    for source in params.standardize.sources:
        for v in _source_videos(params, source):
            if v.video_id in out:
                raise ValueError(f"video id {v.video_id!r} appears in sources {out[v.video_id].source!r} and {v.source!r}")
            out[v.video_id] = v
    return out


def list_raw_videos(params: Params) -> list[str]:
    """Sorted video ids over all configured sources (the Dagster dynamic partitions)."""
    return sorted(raw_videos(params))


def fingerprint(video: RawVideo) -> str:
    """Digest of the raw files of one video and the conversion version: equal digests need no re-conversion."""
    h = hashlib.sha256(f"{VERSION}|{video.source}".encode())
    if video.digest is not None:
        h.update(video.digest())
        return h.hexdigest()[:16]
    files = [video.path] if video.path.is_file() else sorted(p for p in video.path.rglob("*") if p.is_file())
    for p in files:
        h.update(p.relative_to(video.path).as_posix().encode() + b"\0")
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def is_up_to_date(params: Params, video: RawVideo) -> bool:
    try:
        meta = read_meta(scenes_dir(params) / video.video_id)
    except SceneError:
        return False
    return meta.extra.get("raw_fingerprint") == fingerprint(video)


def _convert(params: Params, video: RawVideo) -> Path:
    out = scenes_dir(params) / video.video_id
    try:
        scene = video.load()
        scene.meta = replace(scene.meta, extra={**scene.meta.extra, "raw_fingerprint": fingerprint(video)})
        return write_scene(scene, out)
    except Exception:
        if out.exists():  # never leave a scene from older raw data beside a failed conversion
            shutil.rmtree(out)
        raise


def standardize_one(params: Params, video_id: str) -> Path:
    """Convert one raw video (any source) to ``data/scenes/<video_id>``; raises SceneError on bad input."""
    videos = raw_videos(params)
    if video_id not in videos:
        raise KeyError(f"no raw video {video_id!r} in sources {[s.name for s in params.standardize.sources]}")
    return _convert(params, videos[video_id])


def remove_stale(out: Path, keep: set[str]) -> list[str]:
    """Delete scenes whose raw video no longer exists in any source."""
    stale = sorted(p.parent.name for p in out.glob("*/scene.json") if p.parent.name not in keep)
    for name in stale:
        shutil.rmtree(out / name)
    return stale


def run(params: Params, args: argparse.Namespace | None = None) -> StageReport:
    out = scenes_dir(params)
    videos = raw_videos(params)
    return run_items(STAGE, out, sorted(videos), lambda vid: _convert(params, videos[vid]), params.data,
                     is_done=lambda vid: is_up_to_date(params, videos[vid]), prune=lambda keep: remove_stale(out, keep))
