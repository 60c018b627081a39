"""standardize: one ingest asset per enabled source (it registers a partition per video and retires the partitions
and per-video outputs of videos that disappeared) and one standard scene per video partition."""

import shutil
from pathlib import Path

import dagster as dg
import numpy as np

from assets.metadata import image_entries
from assets.partitions import batches, videos
from assets.resources import PipelineParams
from assets.runner import report_metadata, run_partitions, status_of
from fourdpqa import layout
from fourdpqa.params import Params, SourceSpec
from fourdpqa.stages import generate, stage_list, standardize
from fourdpqa.stages.protocol import StageFailed
from fourdpqa.stages.sync import retire_removed

INFO = stage_list.get("standardize")


def ingest_key(source: SourceSpec) -> str:
    return f"raw_videos_{source.name}"


def _from_generate(params: Params, source: SourceSpec) -> bool:
    """A source whose root is the generate stage's output is produced by the procedural_videos asset."""
    return Path(source.root).resolve() == layout.of(params).raw(generate.SOURCE).resolve()


def ingest_asset(params: Params, source: SourceSpec) -> dg.AssetsDefinition:
    deps = list(stage_list.upstream_assets(INFO.name)) if _from_generate(params, source) else []

    @dg.asset(name=ingest_key(source), group_name=INFO.name, deps=deps,
              description=f"Raw videos of source {source.name!r} ({source.kind}): one partition per video.")
    def _ingest(context: dg.AssetExecutionContext, pipeline: PipelineParams) -> dg.MaterializeResult:
        p = pipeline.load()
        try:
            spec = next(s for s in p.standardize.sources if s.name == source.name)
            ids = sorted(v.video_id for v in standardize.adapter_raw_videos(standardize.source_root(p, spec), spec))
            current = set(standardize.list_raw_videos(p))
            retire_removed(p, current)
        except StageFailed as exc:
            raise dg.Failure(description=str(exc)) from exc
        known = set(context.instance.get_dynamic_partitions(videos.name))
        new = [i for i in ids if i not in known]
        if new:
            context.instance.add_dynamic_partitions(videos.name, new)
        retired = sorted(known - current)
        for vid in retired:
            context.instance.delete_dynamic_partition(videos.name, vid)
            shutil.rmtree(layout.of(p).previews(vid), ignore_errors=True)  # its UI previews go with it
        return dg.MaterializeResult(metadata={"videos": len(ids), "new_partitions": len(new), "retired": len(retired)})

    return _ingest


def standard_scenes_asset(params: Params) -> dg.AssetsDefinition:
    @dg.asset(name=INFO.assets[0], partitions_def=videos, backfill_policy=batches(), group_name=INFO.name,
              deps=[ingest_key(s) for s in params.standardize.sources],
              description="Standard scene (OpenCV cameras, z-depth, z-up world, validated tables) for one video.")
    def standard_scenes(context: dg.AssetExecutionContext, pipeline: PipelineParams) -> dg.MaterializeResult:
        from fourdpqa.scene import read_scene
        from fourdpqa.viz import preview_image

        p = pipeline.load()
        report = run_partitions(context, standardize.STAGE, p, pipeline.workers)
        if len(context.partition_keys) > 1:
            return dg.MaterializeResult(metadata=report_metadata(report))
        status = status_of(report)
        path = layout.of(p).scene(context.partition_key)
        scene = read_scene(path)
        finite = [f[np.isfinite(f)] for f in scene.depth]  # frame by frame: a long scene is never loaded whole
        finite = np.array([v for f in finite if f.size for v in (f.min(), f.max())])
        return dg.MaterializeResult(metadata={
            "status": status,
            "path": dg.MetadataValue.path(str(path)),
            "frames": scene.meta.n_frames,
            "objects": len(scene.object_ids),
            "resolution": f"{scene.meta.width}x{scene.meta.height}",
            "depth_min_m": float(finite.min()),
            "depth_max_m": float(finite.max()),
            **image_entries("preview", preview_image(scene), "first frame with instance outlines",
                            layout.of(p).previews(context.partition_key) / "standard_scenes.png"),
        })

    return standard_scenes


def build(params: Params) -> list[dg.AssetsDefinition]:
    """The standardize group for the sources enabled in ``params``."""
    return [*(ingest_asset(params, s) for s in params.standardize.sources), standard_scenes_asset(params)]
