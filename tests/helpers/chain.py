"""Run standardize -> tracks -> qa on configured sources in a temporary data root and summarise the QA produced."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from fourdpqa.params import BaseParams, Params, QAParams, SourceQAParams, SourceSpec, StandardizeParams, TracksParams
from fourdpqa.stages import qa, standardize, tracks
from fourdpqa.stages.common import StageReport


def chain_params(data: Path, sources: list[SourceSpec], qa_sources: dict[str, SourceQAParams]) -> Params:
    return Params(base=BaseParams(data_root=str(data), allowed_roots=[str(data)], device="cpu"),
                  standardize=StandardizeParams(sources=sources), tracks=TracksParams(queries_per_video=64),
                  qa=QAParams(sources=qa_sources))


def run_chain(params: Params) -> dict[str, StageReport]:
    return {stage.STAGE: stage.run(params) for stage in (standardize, tracks, qa)}


def question_types(params: Params, video_id: str) -> dict[int, int]:
    """question type -> number of QA records of one video."""
    df = pl.read_parquet(params.data / "qa" / f"{video_id}.parquet")
    return dict(sorted(df.group_by("question_type").len().iter_rows()))
