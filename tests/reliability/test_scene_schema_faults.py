"""A scene table edited by hand after standardize wrote it (still a readable parquet file, but against the schema):
the tables' digests no longer match the scene's ``checked.json``, so the schema checks run again on read and the
tracks and qa stages quarantine that video alone, naming the file and the column; the other videos are kept."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from tests.helpers.track_scenes import random_scene

from fourdpqa.params import BaseParams, LabelThresholds, Params, QAParams, TracksParams
from fourdpqa.scene import write_scene
from fourdpqa.stages import qa, tracks

BAD, GOOD = "toy_00002", ["toy_00001", "toy_00003"]


def _edit(table: str, change: Callable[[pl.DataFrame], pl.DataFrame]) -> Callable[[Path], None]:
    return lambda d: change(pl.read_parquet(d / table)).write_parquet(d / table)


FAULTS = [
    ("cameras.parquet fx stored as float32", _edit("cameras.parquet", lambda df: df.with_columns(pl.col("fx").cast(pl.Float32))),
     "cameras.parquet", "fx"),
    ("objects.parquet without its caption column", _edit("objects.parquet", lambda df: df.drop("caption")),
     "objects.parquet", "caption"),
]


@pytest.mark.parametrize("stage", ["tracks", "qa"])
@pytest.mark.parametrize(("case", "corrupt", "file", "column"), FAULTS, ids=[f[0] for f in FAULTS])
def test_hand_edited_table_is_named_and_quarantined_alone(tmp_path, ledger, stage, case, corrupt, file, column):
    for seed, vid in enumerate([GOOD[0], BAD, GOOD[1]], start=1):
        write_scene(random_scene(seed), tmp_path / "scenes" / vid)
    corrupt(tmp_path / "scenes" / BAD)
    params = Params(base=BaseParams(data_root=str(tmp_path), device="cpu"),
                    tracks=TracksParams(queries_per_video=16, qa_queries_every=0),
                    qa=QAParams(clip_frames=6, clips_per_video=1, questions_per_clip=12,
                                thresholds={"default": LabelThresholds(min_object_pixels=4)}))
    report = {"tracks": tracks, "qa": qa}[stage].run(params, None)
    reason = report.quarantined.get(BAD, "")
    out = {"tracks": tracks.tracks_path, "qa": qa.qa_path}[stage]
    lost = sum(not out(params, g).exists() for g in GOOD)
    handled = list(report.quarantined) == [BAD] and file in reason and column in reason
    ledger.record(stage, case, handled=handled, lost=lost)
    assert handled, report.summary() + " " + reason
    assert lost == 0
