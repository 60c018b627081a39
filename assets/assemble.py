"""Dataset assembly: all videos' QA pairs -> the training set and the held-out benchmark (+ clips and exports).

One library call materializes both assets (they come from one split); a benchmark that fails a blocking check
fails the run with the check's reason and leaves the previous version in place.
"""

import dagster as dg
import polars as pl

from dagster_project.metadata import png_markdown
from dagster_project.resources import PipelineParams
from fourdpqa import layout, markdown
from fourdpqa.assemble import AssemblyRefused, assemble


def _counts_markdown(df: pl.DataFrame) -> str:
    """Questions per type and format as a markdown table (what a reviewer checks first)."""
    wide = (df.group_by("question_type", "question_name", "answer_format").len()
            .pivot(on="answer_format", index=["question_type", "question_name"], values="len")
            .fill_null(0).sort("question_type"))
    return markdown.table(wide.columns, wide.iter_rows())


def _metadata(df: pl.DataFrame, split: str, videos: list[str], dataset_dir) -> dict:
    return {
        "rows": df.height,
        "videos": len(videos),
        "path": dg.MetadataValue.path(str(dataset_dir / f"{split}.parquet")),
        "per_category": dg.MetadataValue.json(dict(df["category"].value_counts().sort("category").iter_rows())),
        "per_reference_mode": dg.MetadataValue.json(dict(df["reference_mode"].value_counts().sort("reference_mode").iter_rows())),
        "per_type_and_format": dg.MetadataValue.md(_counts_markdown(df)),
        "answer_histogram": png_markdown(dataset_dir / f"answers_{split}.png", f"{split} answers", 900),
    }


@dg.multi_asset(
    specs=[
        dg.AssetSpec("training_set", deps=["qa_pairs"], group_name="dataset",
                     description="Training QA (all formats, tracking share) + conversation JSONL: data/dataset/train.parquet."),
        dg.AssetSpec("benchmark", deps=["qa_pairs"], group_name="dataset",
                     description="Held-out-video MC / yes-no benchmark (types 1-11) + JSONL, lmms-eval task: "
                                 "data/dataset/benchmark.parquet."),
    ],
)
def assembled_dataset(context: dg.AssetExecutionContext, pipeline: PipelineParams):
    params = pipeline.load()
    try:
        result = assemble(params)
    except AssemblyRefused as exc:
        raise dg.Failure(description=str(exc),
                         metadata={f.name: dg.MetadataValue.json(f.as_dict()) for f in exc.failures}) from exc
    out = layout.of(params).dataset
    if result.quarantined:
        context.log.warning(f"quarantined QA tables: {sorted(result.quarantined)}")
    yield dg.MaterializeResult(asset_key="training_set",
                               metadata=_metadata(result.train, "train", result.train_videos, out))
    yield dg.MaterializeResult(asset_key="benchmark", metadata={
        **_metadata(result.benchmark, "benchmark", result.benchmark_videos, out),
        "lmms_eval_include_path": dg.MetadataValue.path(str(layout.of(params).exports / "lmms_eval")),
    })
