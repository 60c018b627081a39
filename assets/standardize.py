"""Standardize: one standard scene per video partition."""


import dagster as dg
import numpy as np

from assets.generate import raw_videos
from dagster_project.metadata import png_markdown
from dagster_project.partitions import videos
from dagster_project.resources import PipelineParams
from fourdpqa.scene import read_scene
from fourdpqa.stages import standardize
from fourdpqa.viz import preview_image


@dg.asset(
    partitions_def=videos,
    deps=[raw_videos],
    group_name="scenes",
    description="Standard scene (OpenCV cameras, z-depth, z-up world, validated tables) for one video.",
)
def standard_scenes(context: dg.AssetExecutionContext, pipeline: PipelineParams) -> dg.MaterializeResult:
    params = pipeline.load()
    path = standardize.standardize_one(params, context.partition_key)
    scene = read_scene(path)
    finite = scene.depth[np.isfinite(scene.depth)]
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "frames": scene.meta.n_frames,
            "objects": len(scene.object_ids),
            "resolution": f"{scene.meta.width}x{scene.meta.height}",
            "depth_min_m": float(finite.min()),
            "depth_max_m": float(finite.max()),
            "preview": png_markdown(preview_image(scene), "first frame with instance outlines"),
        }
    )
