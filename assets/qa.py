"""qa: the QA records of one video partition (data/qa/<video_id>.parquet)."""

import dagster as dg
import numpy as np
import polars as pl

from assets.metadata import png_markdown
from assets.partitions import videos
from assets.resources import PipelineParams
from assets.runner import run_item
from fourdpqa import layout
from fourdpqa.stages import qa, stage_list

INFO = stage_list.get("qa")


@dg.asset(
    name=INFO.assets[0],
    partitions_def=videos,
    deps=stage_list.upstream_assets(INFO.name),
    group_name=INFO.name,
    description="QA records (13 paper types + metric) of one video: data/qa/<video_id>.parquet.",
)
def qa_pairs(context: dg.AssetExecutionContext, pipeline: PipelineParams) -> dg.MaterializeResult:
    from fourdpqa.scene import read_scene

    params = pipeline.load()
    video_id = context.partition_key
    status = run_item(qa.STAGE, params, video_id)
    path = qa.qa_path(params, video_id)
    df = pl.read_parquet(path)
    tables = qa.summary(df) if df.height else {}
    meta: dict = {
        "status": status,
        "path": dg.MetadataValue.path(str(path)),
        "n_records": df.height,
        "n_types": df["question_type"].n_unique() if df.height else 0,
        "phrased_share": float(df["phrased"].mean()) if df.height else 0.0,
        **{k: dg.MetadataValue.md(v) for k, v in tables.items()},
    }
    samples = qa.preview_records(df)
    if samples:
        scene = read_scene(layout.of(params).scene(video_id))
        meta["samples"] = dg.MetadataValue.md("\n\n---\n\n".join(_sample_md(scene.rgb, r) for r in samples))
    return dg.MaterializeResult(metadata=meta)


def _sample_md(rgb: np.ndarray, rec: dict) -> str:
    from fourdpqa.prompts import sample_strip
    from fourdpqa.qa_format import format_prompt, format_target

    strip = sample_strip(rgb[rec["clip_frames"]], rec["marks"])
    image = png_markdown(strip, rec["id"], max_width=768).value
    prompt = format_prompt(rec).replace("\n", "  \n")
    return f"**{rec['id']}** ({rec['question_name']}, {rec['reference_mode']})\n\n{image}\n\n{prompt}\n\n**Answer:** {format_target(rec)}"
