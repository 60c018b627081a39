"""The whole chain standardize -> tracks -> qa on a MegaSaM reconstruction with instance masks and per-source clip
settings. Mask-track objects have no orientation, so the object rotation (3) and agent motion (5) types never use
them; types comparing three objects (9) cannot occur with two."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from fourdpqa.params import SourceQAParams, SourceSpec
from helpers.chain import chain_params, question_types, run_chain
from helpers.recon_fixture import write_megasam


def test_recon_chain(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_megasam(data / "raw" / "phone" / "walk.npz")
    params = chain_params(data, [SourceSpec(name="phone", kind="recon", root=str(data / "raw" / "phone"),
                                            options={"fps": 10.0})],
                          {"phone": SourceQAParams(clip_frames=6, clips_per_video=2, sample_fps=10.0)})
    reports = run_chain(params)
    assert all(r.done == ["walk"] and not r.quarantined for r in reports.values())
    types = question_types(params, "walk")
    print(f"reconstruction chain: QA records per question type {types}")
    assert {1, 2, 12, 13} <= set(types) and not {3, 5, 9} & set(types)
    clips = pl.read_parquet(params.data / "qa" / "walk.parquet")["clip_frames"].to_list()
    assert {len(c) for c in clips} == {6}
