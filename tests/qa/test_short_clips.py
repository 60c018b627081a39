"""Short and single-frame data (issue 23.6): a one-frame video yields its depth and object-object distance
questions; a clip too short for its motion to reach the label thresholds skips the motion types with the reason
counted; a source whose videos are all that short does not fail the qa stage."""

from __future__ import annotations

import json

import numpy as np
import polars as pl

from fourdpqa.motion import clip_motion
from fourdpqa.params import BaseParams, Params, QAParams
from fourdpqa.questions import MOTION_TYPES, generate_clip, skipped_types
from fourdpqa.questions.base import Ctx
from fourdpqa.scene import write_scene
from fourdpqa.seeding import rng
from fourdpqa.stages import qa
from fourdpqa.thresholds import LabelThresholds
from tests.qa.conftest import build_scene, cam_track, obj_track

TH = LabelThresholds(min_object_pixels=4)
OBJECTS = [((0.8, 0.8, 0.8), (7.0, y, 0.4)) for y in (-2.5, -0.8, 0.9, 2.6)] + [((1.2, 1.2, 1.2), (11.0, 0.2, 0.6))]


def scene_of(n_t: int, video_id: str = "toy_00001", step: float = 0.0):
    """Five boxes in front of a level camera that moves ``step`` m per frame sideways (10 frames per second)."""
    cams = cam_track((0.0, 0.0, 1.5), (6.0, 0.0, 0.0), velocity=(0.0, step, 0.0), n_t=n_t)
    objs = [(size, obj_track(start, n_t=n_t)) for size, start in OBJECTS]
    return build_scene(cams, objs, captions=[f"box {c}" for c in "abcde"], width=96, height=64, video_id=video_id)


def drafts(scene, n_t: int):
    qa_params = QAParams(clip_frames=n_t, questions_per_clip=40, thresholds={"default": TH})
    ctx = Ctx(scene, clip_motion(scene, np.arange(n_t)), TH, qa_params, rng(0, "short"))
    return ctx, generate_clip(ctx)


def test_a_single_frame_clip_asks_depth_and_object_distance_only():
    ctx, out = drafts(scene_of(1), 1)
    assert {d.question_type for d in out} == {8, 9}
    # every other type is skipped for a reason the stage records
    assert skipped_types(ctx) == {t: "single-frame clip" for t in range(14) if t not in (8, 9)}
    for d in out:  # both objects named in frame 0 and in view there
        assert d.spec.frames == (0, 0) and d.answer in ("yes", "no")


def test_a_short_clip_without_clear_motion_skips_the_motion_types():
    """Two frames 0.1 s apart, the camera moving 2 cm: "the camera stays still" would be a guess, so no motion
    type is asked; depth and distance are, in both frames."""
    ctx, out = drafts(scene_of(2, step=0.02), 2)
    skipped = skipped_types(ctx)
    assert set(skipped) == MOTION_TYPES and all("0.10 s" in why for why in skipped.values())
    assert out and not {d.question_type for d in out} & MOTION_TYPES


def test_a_short_clip_with_clear_motion_keeps_the_motion_types():
    ctx, _ = drafts(scene_of(2, step=0.6), 2)  # 0.6 m in 0.1 s: beyond translation_some_m (0.4 m)
    assert skipped_types(ctx) == {}


def test_a_source_of_single_frame_videos_does_not_fail_the_qa_stage(tmp_path):
    data = tmp_path / "data"
    for i in (1, 2, 3):
        write_scene(scene_of(1, f"toy_{i:05d}"), data / "scenes" / f"toy_{i:05d}")
    params = Params(base=BaseParams(data_root=str(data), allowed_roots=[str(data)]),
                    qa=QAParams(clip_frames=32, questions_per_clip=20, thresholds={"default": TH}))
    report = qa.run(params, None)
    assert not report.quarantined and len(report.done) == 3
    for i in (1, 2, 3):
        df = pl.read_parquet(data / "qa" / f"toy_{i:05d}.parquet")
        assert df.height and set(df["question_type"]) <= {8, 9} and set(df["clip_frames"].to_list()[0]) == {0}
        assert qa.read_skipped_counts(params, f"toy_{i:05d}") == {"single-frame clip": 12}
        measured = json.loads((data / "qa" / f"toy_{i:05d}.measurements.json").read_text())
        assert measured[f"toy_{i:05d}-c0"]["clip_frames"] == [0]
