"""The cluttered-scene QA benchmark (issue 23.2) measures what it says: its scene goes through the renderer and the
Kubric reader with the objects it asked for, and its baseline lists every candidate (the drawn version tries at
most ``draws.MAX_CANDIDATES``) while asking the same kinds of question."""

from __future__ import annotations

from collections import Counter

import numpy as np

from fourdpqa import questions
from fourdpqa.motion import clip_motion
from fourdpqa.questions import draws
from fourdpqa.questions.base import Ctx
from fourdpqa.scene import read_scene
from fourdpqa.seeding import rng
from fourdpqa.stages.qa import generate_records
from tests.helpers.benchmark_scripts import load_benchmark


def test_cluttered_scene_and_both_implementations(tmp_path):
    bench = load_benchmark("qa_clutter")
    params = bench.build_scene(tmp_path, 25, 6, 256)
    scene = read_scene(tmp_path / "scenes" / "clutter_00000", with_rgb=False)
    assert len(scene.object_ids) == 25 and scene.meta.n_frames == 6
    lo, hi = bench.visible_objects(params)
    assert 10 <= lo <= hi <= 25
    before = dict(questions.TYPES)
    new = generate_records(params, "clutter_00000")
    with bench.previous_algorithm():
        m = clip_motion(scene, np.arange(6))
        ctx = Ctx(scene, m, params.thresholds_for("procedural"), params.qa, rng(0, "clutter"))
        listed = list(questions.TYPES[11].assets(ctx, "yn"))
        old = generate_records(params, "clutter_00000")
    assert questions.TYPES == before  # swapped back
    drawn = list(before[11].assets(Ctx(scene, m, ctx.th, params.qa, rng(0, "clutter")), "yn"))
    assert len(listed) > draws.MAX_CANDIDATES >= len(drawn) > 0
    kinds = Counter(r["question_type"] for r in new)
    assert kinds and set(kinds) == {r["question_type"] for r in old}
