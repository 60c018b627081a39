"""QA pairs: the QA records of one video partition (data/qa/<video_id>.parquet)."""

import dagster as dg
import numpy as np
import polars as pl

from dagster_project.metadata import png_markdown
from dagster_project.partitions import videos
from dagster_project.resources import PipelineParams
from fourdpqa import layout
from fourdpqa.prompts import sample_strip
from fourdpqa.qa_format import format_prompt, format_target
from fourdpqa.scene import read_scene
from fourdpqa.stages import qa as stage


@dg.asset(
    partitions_def=videos,
    deps=[dg.AssetKey("standard_scenes"), dg.AssetKey("point_tracks")],
    group_name="qa",
    description="QA records (13 paper types + metric) of one video: data/qa/<video_id>.parquet.",
)
def qa_pairs(context: dg.AssetExecutionContext, pipeline: PipelineParams) -> dg.MaterializeResult:
    params = pipeline.load()
    video_id = context.partition_key
    if not stage.is_up_to_date(params, video_id):
        stage.qa_one(params, video_id)
    path = stage.qa_path(params, video_id)
    df = pl.read_parquet(path)
    tables = stage.summary(df) if df.height else {}
    meta: dict = {
        "path": dg.MetadataValue.path(str(path)),
        "n_records": df.height,
        "n_types": df["question_type"].n_unique() if df.height else 0,
        "phrased_share": float(df["phrased"].mean()) if df.height else 0.0,
        **{k: dg.MetadataValue.md(v) for k, v in tables.items()},
    }
    samples = stage.preview_records(df)
    if samples:
        scene = read_scene(layout.of(params).scene(video_id))
        meta["samples"] = dg.MetadataValue.md("\n\n---\n\n".join(_sample_md(scene.rgb, r) for r in samples))
    return dg.MaterializeResult(metadata=meta)


def _sample_md(rgb: np.ndarray, rec: dict) -> str:
    strip = sample_strip(rgb[rec["clip_frames"]], rec["marks"])
    image = png_markdown(strip, rec["id"], max_width=768).value
    prompt = format_prompt(rec).replace("\n", "  \n")
    return f"**{rec['id']}** ({rec['question_name']}, {rec['reference_mode']})\n\n{image}\n\n{prompt}\n\n**Answer:** {format_target(rec)}"
