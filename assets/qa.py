"""qa: the QA records of one video partition (data/qa/<video_id>.parquet)."""

from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl

from assets.metadata import thumbnails_markdown
from assets.partitions import batches, videos
from assets.resources import PipelineParams
from assets.runner import report_metadata, run_partitions, status_of
from fourdpqa import layout
from fourdpqa.layout import item_name
from fourdpqa.stages import qa, stage_list

INFO = stage_list.get("qa")


@dg.asset(
    name=INFO.assets[0],
    partitions_def=videos,
    backfill_policy=batches(),
    deps=stage_list.upstream_assets(INFO.name),
    group_name=INFO.name,
    description="QA records (13 paper types + metric) of one video: data/qa/<video_id>.parquet.",
)
def qa_pairs(context: dg.AssetExecutionContext, pipeline: PipelineParams) -> dg.MaterializeResult:
    from fourdpqa.scene import read_scene

    params = pipeline.load()
    report = run_partitions(context, qa.STAGE, params, pipeline.workers)
    if len(context.partition_keys) > 1:
        return dg.MaterializeResult(metadata=report_metadata(report))
    video_id = context.partition_key
    status = status_of(report)
    path = qa.qa_path(params, video_id)
    df = pl.read_parquet(path)
    tables = qa.summary(df) if df.height else {}
    meta: dict = {
        "status": status,
        "path": dg.MetadataValue.path(str(path)),
        "n_records": df.height,
        "n_types": df["question_type"].n_unique() if df.height else 0,
        "phrased_share": float(df["phrased"].mean()) if df.height else 0.0,
        "skipped_types": qa.read_skipped_counts(params, video_id),  # (clip, type) pairs a short clip cannot carry
        **{k: dg.MetadataValue.md(v) for k, v in tables.items()},
    }
    samples = qa.preview_records(df)
    if samples:
        folder = layout.of(params).previews(video_id)
        meta["samples"] = dg.MetadataValue.md(_samples_md(read_scene(layout.of(params).scene(video_id)).rgb, samples, folder))
        meta["samples_folder"] = dg.MetadataValue.path(str(folder))
    return dg.MaterializeResult(metadata=meta)


def _samples_md(rgb: np.ndarray, records: list[dict], folder: Path) -> str:
    """The sample questions with thumbnails of their marked clip frames; the full-size strips are written to
    ``folder`` as ``qa_<record id>.png``. ``rgb``: (T, H, W, 3) uint8 frames of the video."""
    from fourdpqa.prompts import sample_strip
    from fourdpqa.qa_format import format_prompt, format_target
    from fourdpqa.viz_tracks import write_png

    strips = [sample_strip(rgb[rec["clip_frames"]], rec["marks"]) for rec in records]
    for stale in folder.glob("qa_*.png"):  # samples of an earlier version of this video's QA
        stale.unlink()
    for rec, strip in zip(records, strips, strict=True):
        write_png(folder / f"qa_{item_name(rec['id'])}.png", strip)
    images = thumbnails_markdown(strips, [rec["id"] for rec in records])
    cards = []
    for rec, image in zip(records, images, strict=True):
        prompt = format_prompt(rec).replace("\n", "  \n")
        cards.append(f"**{rec['id']}** ({rec['question_name']}, {rec['reference_mode']})\n\n{image}\n\n{prompt}\n\n"
                     f"**Answer:** {format_target(rec)}")
    return "\n\n---\n\n".join(cards)
