"""The QA fast path of issue 16.2 gives what the previous algorithm (kept in ``benchmarks/qa.py``) gives: the same
records on a small analytic scene, and each replaced piece equals its full-frame definition."""

from __future__ import annotations

import numpy as np
import polars as pl

from fourdpqa.motion import clip_motion
from fourdpqa.params import QAParams
from fourdpqa.qa_tracks import interior_at, interior_mask
from fourdpqa.questions import generate_clip, to_record
from fourdpqa.questions.base import Ctx
from fourdpqa.sampling import disc
from fourdpqa.seeding import rng
from fourdpqa.thresholds import LabelThresholds
from tests.helpers.benchmark_scripts import load_benchmark
from tests.qa.conftest import N_T, build_scene, cam_track, obj_track, stored_tracks_of

TH = LabelThresholds(min_object_pixels=4)


def scene_of_three():
    cams = cam_track((0.0, 0.0, 1.5), velocity=(0.05, 0.02, 0.0), yaw_rate=0.01)
    objs = [((1.0, 0.5, 0.5), obj_track((6.0, 1.5, 0.25), (0.0, 0.12, 0.0), np.pi / 2)),
            ((0.8, 0.8, 0.8), obj_track((8.0, -1.5, 0.4), yaw_rate=0.08)),
            ((0.6, 0.6, 0.6), obj_track((5.0, 0.0, 0.3), (0.2, 0.0, 0.0)))]
    return build_scene(cams, objs, captions=["red car", "blue box", "red car"], categories=["car", "box", "person"])


def records(scene, tracks, seed: int) -> list[dict]:
    qa = QAParams(clip_frames=N_T, questions_per_clip=60, thresholds={"default": TH})
    m = clip_motion(scene, np.arange(N_T))
    drafts = generate_clip(Ctx(scene, m, TH, qa, rng(seed, "bench-qa"), tracks=tracks))
    return [to_record(d, rid=str(i), video_id=scene.video_id, source="toy", clip_id="c", clip_frames=list(range(N_T)),
                      fps=10.0, seed=seed) for i, d in enumerate(drafts)]


def test_fast_path_gives_the_previous_algorithms_records():
    bench = load_benchmark("qa")
    scene = scene_of_three()
    tracks = stored_tracks_of(scene)
    seen = []
    for seed in (0, 1):
        new = records(scene, tracks, seed)
        with bench.previous_algorithm():
            old = records(scene, tracks, seed)
        assert new == old
        seen += new
    # every reference mode and both tracking types occur, so every replaced function was exercised
    assert {r["reference_mode"] for r in seen} >= {"caption", "pixel", "circle", "box_mark"}
    assert {12, 13} <= {r["question_type"] for r in seen}


def test_pixel_counts_object_rows_interior_and_disc_equal_their_full_frame_definitions():
    scene = scene_of_three()
    frames = np.array([0, 4, 9])
    want = np.array([[int((scene.instances[f] == o).sum()) for f in frames] for o in scene.object_ids])
    np.testing.assert_array_equal(scene.pixel_counts(frames), want)
    assert want[:, 0].min() > 0
    for oid in scene.object_ids:
        assert scene.object_row(oid) == scene.objects.filter(pl.col("object_id") == oid).row(0, named=True)
    scene.objects = scene.objects.with_columns(pl.Series("caption", ["a", "b", "c"]))
    assert scene.object_row(2)["caption"] == "b"  # a replaced objects table is re-indexed
    h, w = scene.meta.height, scene.meta.width
    for f in (0, 9):
        for oid in (0, *scene.object_ids):
            mask = interior_mask(scene, f, oid)
            fast = np.array([[interior_at(scene, f, oid, x, y) for x in range(w)] for y in range(h)])
            np.testing.assert_array_equal(fast, mask)
    yy, xx = np.mgrid[:h, :w]
    for x, y, r in [(3.2, 4.7, 5.5), (0.0, 0.0, 2.0), (w - 0.5, h + 2.0, 6.3), (30.25, 20.5, 40.0)]:
        np.testing.assert_array_equal(disc(h, w, x, y, r), (xx - x) ** 2 + (yy - y) ** 2 <= r ** 2)
