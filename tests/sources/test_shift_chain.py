"""The whole chain standardize -> tracks -> qa on SHIFT: the real frame and the 6-frame fixture, with per-source clip
settings. The real frame is one frame: every question type needs a clip of at least two frames, so it yields tracks
but no QA, and the qa stage quarantines it with that reason."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl

from fourdpqa.params import SourceQAParams, SourceSpec
from fourdpqa.stages import qa
from tests.helpers.chain import chain_params, question_types, run_chain
from tests.helpers.shift_fixture import make_split

REAL = Path(__file__).resolve().parents[1] / "data" / "shift" / "discrete" / "images" / "val"


def test_shift_chain(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(REAL, data / "raw" / "shift_real")
    make_split(data / "raw" / "shift")
    params = chain_params(data, [SourceSpec(name="shift_real", kind="shift", root=str(data / "raw" / "shift_real")),
                                 SourceSpec(name="shift", kind="shift", root=str(data / "raw" / "shift"))],
                          {"shift": SourceQAParams(clip_frames=4, clips_per_video=2)})
    reports = run_chain(params)
    assert reports["standardize"].done == reports["tracks"].done == ["shift_007b-4e72", "shift_abcd-0123"]
    # the real sample is one frame: a single-frame clip, its depth / distance questions only (issue 23.6)
    assert not reports["qa"].quarantined and "shift_007b-4e72" in reports["qa"].done
    single = question_types(params, "shift_007b-4e72")
    assert set(single) <= {8, 9} and set(qa.read_skipped_counts(params, "shift_007b-4e72")) == {"single-frame clip"}
    types = question_types(params, "shift_abcd-0123")
    print(f"SHIFT fixture chain: QA records per question type {types}; real frame: {single}")
    # camera drives forward, the yellow car turns, objects move: camera, rotation, direction, tracking types
    assert {1, 2, 3, 4, 12, 13} <= set(types) and len(types) >= 12
    clips = pl.read_parquet(params.data / "qa" / "shift_abcd-0123.parquet")["clip_frames"].to_list()
    assert {len(c) for c in clips} == {4}  # the per-source clip length (qa.clip_frames is 32)
