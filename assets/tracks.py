"""tracks: visual / true-motion point tracks with occlusion for one video partition."""

import dagster as dg
import numpy as np

from assets.metadata import image_entries
from assets.partitions import batches, videos
from assets.resources import PipelineParams
from assets.runner import report_metadata, run_partitions, status_of
from fourdpqa.stages import stage_list, tracks

INFO = stage_list.get("tracks")


@dg.asset(
    name=INFO.assets[0],
    partitions_def=videos,
    backfill_policy=batches(),
    deps=stage_list.upstream_assets(INFO.name),
    group_name=INFO.name,
    description="Point tracks (visual + true-motion 2D, 3D, occlusion) of one video: data/tracks/<video_id>.npz.",
)
def point_tracks(context: dg.AssetExecutionContext, pipeline: PipelineParams) -> dg.MaterializeResult:
    from fourdpqa.tracks import load_tracks

    params = pipeline.load()
    report = run_partitions(context, tracks.STAGE, params, pipeline.workers)
    if len(context.partition_keys) > 1:
        return dg.MaterializeResult(metadata=report_metadata(report))
    video_id = context.partition_key
    status = status_of(report)
    path = tracks.tracks_path(params, video_id)
    result, _ = load_tracks(path)
    return dg.MaterializeResult(
        metadata={
            "status": status,
            "path": dg.MetadataValue.path(str(path)),
            "n_tracks": len(result),
            "n_frames": len(result.frames),
            "object_points": int((result.object_id > 0).sum()),
            "occlusion_rate": float(result.visual_occluded.mean()) if len(result) else 0.0,
            "true_in_view_rate": float(result.true_in_view.mean()) if len(result) else 0.0,
            "max_visible_displacement_px": max_visible_displacement(result),
            **image_entries("overlay", tracks.overlay_path(params, video_id), "visual vs true-motion tracks", max_width=768),
        }
    )


def max_visible_displacement(result) -> float:  # noqa: ANN001 - fourdpqa.tracks.Tracks (imported lazily)
    """Largest image distance of a visible track sample from its query pixel: how much the video moves."""
    d = np.linalg.norm(result.visual_xy - result.queries.xy[:, None], axis=-1)[~result.visual_occluded]
    return float(d.max()) if d.size else 0.0
