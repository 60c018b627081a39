"""Tracks: visual / true-motion point tracks with occlusion for one video partition."""

import dagster as dg
import numpy as np

from dagster_project.metadata import png_markdown
from dagster_project.partitions import videos
from dagster_project.resources import PipelineParams
from fourdpqa.stages import tracks as stage
from fourdpqa.tracks import Tracks, load_tracks
from fourdpqa.viz_tracks import read_png


@dg.asset(
    partitions_def=videos,
    deps=[dg.AssetKey("standard_scenes")],
    group_name="tracks",
    description="Point tracks (visual + true-motion 2D, 3D, occlusion) of one video: data/tracks/<video_id>.npz.",
)
def point_tracks(context: dg.AssetExecutionContext, pipeline: PipelineParams) -> dg.MaterializeResult:
    params = pipeline.load()
    video_id = context.partition_key
    if not stage.is_up_to_date(params, video_id):
        stage.tracks_one(params, video_id)
    path = stage.tracks_path(params, video_id)
    tracks, _ = load_tracks(path)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "n_tracks": len(tracks),
            "n_frames": len(tracks.frames),
            "object_points": int((tracks.object_id > 0).sum()),
            "occlusion_rate": float(tracks.visual_occluded.mean()) if len(tracks) else 0.0,
            "true_in_view_rate": float(tracks.true_in_view.mean()) if len(tracks) else 0.0,
            "max_visible_displacement_px": _max_visible_displacement(tracks),
            "overlay": png_markdown(read_png(stage.overlay_path(params, video_id)), "visual vs true-motion tracks", 768),
        }
    )


def _max_visible_displacement(tracks: Tracks) -> float:
    """Largest image distance of a visible track sample from its query pixel: how much the video moves."""
    d = np.linalg.norm(tracks.visual_xy - tracks.queries.xy[:, None], axis=-1)[~tracks.visual_occluded]
    return float(d.max()) if d.size else 0.0
