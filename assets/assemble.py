"""assemble: all videos' QA pairs -> the training set and the held-out benchmark (+ clips and exports).

One stage run materializes both assets (they come from one split); a benchmark that fails a blocking check fails
the run with the check's reason and leaves the previous dataset whole (the stage publishes in one rename).
"""

import json

import dagster as dg
import polars as pl

from assets.metadata import image_entries
from assets.resources import PipelineParams
from assets.runner import run_whole
from fourdpqa import layout, markdown
from fourdpqa.stages import assemble, stage_list

INFO = stage_list.get("assemble")
SPLITS = {"training_set": "train", "benchmark": "benchmark"}


def _counts_markdown(df: pl.DataFrame) -> str:
    """Questions per type and format as a markdown table (what a reviewer checks first)."""
    wide = (df.group_by("question_type", "question_name", "answer_format").len()
            .pivot(on="answer_format", index=["question_type", "question_name"], values="len")
            .fill_null(0).sort("question_type"))
    return markdown.table(wide.columns, wide.iter_rows())


def _metadata(where: layout.Layout, split: str, videos: list[str]) -> dict:
    df = pl.read_parquet(where.split_table(split))
    return {
        "rows": df.height,
        "videos": len(videos),
        "path": dg.MetadataValue.path(str(where.split_table(split))),
        "per_category": dg.MetadataValue.json(dict(df["category"].value_counts().sort("category").iter_rows())),
        "per_reference_mode": dg.MetadataValue.json(dict(df["reference_mode"].value_counts().sort("reference_mode").iter_rows())),
        "per_type_and_format": dg.MetadataValue.md(_counts_markdown(df)),
        **image_entries("answer_histogram", where.dataset / f"answers_{split}.png", f"{split} answers", max_width=900),
    }


@dg.multi_asset(
    name="assembled_dataset",
    group_name=INFO.name,
    specs=[
        dg.AssetSpec(INFO.assets[0], deps=stage_list.upstream_assets(INFO.name),
                     description="Training QA (all formats, tracking share) + conversation JSONL: data/dataset/train.parquet."),
        dg.AssetSpec(INFO.assets[1], deps=stage_list.upstream_assets(INFO.name),
                     description="Held-out-video MC / yes-no benchmark (types 1-11) + JSONL, lmms-eval task: "
                                 "data/dataset/benchmark.parquet."),
    ],
)
def assembled_dataset(context: dg.AssetExecutionContext, pipeline: PipelineParams):
    params = pipeline.load()
    run_whole(assemble.STAGE, params)
    where = layout.of(params)
    split = json.loads(where.split_record.read_text(encoding="utf-8"))
    if split.get("quarantined"):
        context.log.warning(f"quarantined QA tables: {sorted(split['quarantined'])}")
    yield dg.MaterializeResult(asset_key="training_set", metadata=_metadata(where, "train", split["train_videos"]))
    yield dg.MaterializeResult(asset_key="benchmark", metadata={
        **_metadata(where, "benchmark", split["benchmark_videos"]),
        "lmms_eval_include_path": dg.MetadataValue.path(str(where.exports / "lmms_eval")),
    })
