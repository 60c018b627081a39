"""A small procedural run (generate -> standardize -> tracks -> qa) produces every question type, answer format and
reference mode, both labels of every binary type, and answers the oracle re-derives from the scenes on disk."""

from __future__ import annotations

import polars as pl
import pytest

from fourdpqa.oracle import oracle_answer
from fourdpqa.params import BaseParams, GenerateParams, Params, QAParams, SourceSpec, StandardizeParams
from fourdpqa.scene import read_scene
from fourdpqa.stages import generate, qa, standardize, tracks
from fourdpqa.thresholds import LabelThresholds
from schemas.qa import validate_qa


@pytest.mark.slow
def test_small_procedural_run_covers_everything(tmp_path):
    # 8 tiny videos must cover every label: the seed is re-picked when the generator's draws change
    p = Params(
        base=BaseParams(data_root=str(tmp_path), seed=3, allowed_roots=[str(tmp_path)], device="cpu"),
        generate=GenerateParams(n_videos=8, n_frames=16, width=64, height=64),
        standardize=StandardizeParams(sources=[SourceSpec(name="procedural", kind="kubric", root=str(tmp_path / "raw" / "procedural"))]),
        qa=QAParams(clip_frames=16, clips_per_video=1, questions_per_clip=40,
                    thresholds={"procedural": LabelThresholds(min_object_pixels=8)}),
    )
    assert not generate.run(p, None).quarantined
    assert not standardize.run(p, None).quarantined
    assert not tracks.run(p, None).quarantined  # tracking questions read the stored tracks
    report = qa.run(p, None)
    assert not report.quarantined and len(report.done) == 8
    df = validate_qa(pl.concat([pl.read_parquet(f) for f in sorted((tmp_path / "qa").glob("*.parquet"))]))
    assert set(df["question_type"]) == set(range(14))
    assert set(df["answer_format"]) == {"mc", "yn", "free", "trajectory", "numeric"}
    assert set(df["reference_mode"]) == {"caption", "pixel", "circle", "box_mark", "none"}
    labels = {t: set(df.filter(pl.col("question_type") == t)["label"]) for t in range(1, 12)}
    assert labels[3] == {"clockwise", "counter-clockwise"}  # a still object is not asked its sense of rotation
    for t in (8, 9, 10, 11):
        assert labels[t] == {"greater", "less"}
    assert {"increasing", "decreasing", "constant"} <= labels[2] | labels[7]
    assert "static" in labels[1] and len(labels[1]) >= 4
    assert len(labels[4]) >= 3 and "forward" in labels[5] and "straight" not in labels[5]
    mc = df.filter(pl.col("answer_format") == "mc")
    assert set(mc["answer"]) == {"A", "B", "C", "D"}
    for (vid,), grp in df.group_by(["video_id"]):
        scene = read_scene(tmp_path / "scenes" / vid, with_rgb=False)
        for rec in grp.iter_rows(named=True):
            assert oracle_answer(rec, scene) == rec["answer"], rec["id"]
