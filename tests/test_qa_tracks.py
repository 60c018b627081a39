"""The tracks stage feeds QA: the extra QA queries lie inside every visible object, and tracking answers come from
the stored file (a tampered file changes them; the oracle, recomputing from the scene, then disagrees)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fourdpqa.motion import clip_motion
from fourdpqa.oracle import oracle_answer
from fourdpqa.params import QAParams
from fourdpqa.qa_format import parse_trajectory
from fourdpqa.qa_tracks import merge_queries, qa_queries, stored_tracks
from fourdpqa.questions import generate_clip, to_record
from fourdpqa.questions.base import Ctx
from fourdpqa.seeding import rng as rng_for
from fourdpqa.thresholds import LabelThresholds
from fourdpqa.tracks import Queries, save_tracks
from tests.qa.conftest import N_T, build_scene, cam_track, obj_track, stored_tracks_of

TH = LabelThresholds(min_object_pixels=4)


@pytest.fixture(scope="module")
def scene():
    cams = cam_track((0, 0, 1.5), velocity=(0, -0.05, 0))
    objs = [((1, 1, 1), obj_track((7, 0.5, 0.5), (0, 0.1, 0))), ((0.6, 0.6, 0.6), obj_track((9, -1.5, 0.3)))]
    return build_scene(cams, objs, captions=["a", "b"])


def test_qa_queries_cover_every_visible_object_with_interior_pixels(scene):
    q = qa_queries(scene, 3, np.random.default_rng(0))
    frames = sorted(set(q.frame.tolist()))
    assert len(frames) >= 3 and all(b - a == 3 for a, b in zip(frames, frames[1:]))
    for t in frames:
        inst = scene.instances[t]
        at_t = [tuple(int(v) for v in xy) for f, xy in zip(q.frame, q.xy) if f == t]
        ids = {int(inst[y, x]) for x, y in at_t}
        # every object with a 3x3 block of its own pixels somewhere gets one query (counted here by brute force)
        h, w = inst.shape
        blocks = {int(inst[y, x]) for y in range(1, h - 1) for x in range(1, w - 1)
                  if (inst[y - 1:y + 2, x - 1:x + 2] == inst[y, x]).all()}
        assert ids == blocks and len(at_t) == len(ids)
        for x, y in at_t:
            assert (inst[y - 1:y + 2, x - 1:x + 2] == inst[y, x]).all()
    merged = merge_queries(q, Queries(frame=q.frame[:2], xy=q.xy[:2]))
    assert len(merged) == len(q)


def _tracking_drafts(scene, tracks, qtype: int):
    qa = QAParams(clip_frames=N_T, questions_per_clip=6, question_types=[qtype], thresholds={"default": TH})
    m = clip_motion(scene, np.arange(N_T))
    return generate_clip(Ctx(scene, m, TH, qa, rng_for(0, "track", str(qtype)), tracks=tracks))


@pytest.mark.parametrize("qtype", [12, 13])
def test_tracking_answers_are_read_from_the_stored_tracks(scene, tmp_path, qtype):
    tracks = stored_tracks_of(scene)
    save_tracks(tmp_path / f"{scene.video_id}.npz", tracks, scene.video_id, scene.meta.width, scene.meta.height)
    stored = stored_tracks(tmp_path, scene)
    honest = _tracking_drafts(scene, stored, qtype)
    assert honest
    for d in honest:
        rec = to_record(d, rid="r", video_id=scene.video_id, source="toy", clip_id="c", clip_frames=list(range(N_T)),
                        fps=10.0, seed=0)
        assert oracle_answer(rec, scene) == d.answer  # the stored tracks equal a recomputation
    # shift every stored track by 2 px to the right: the answers follow the file, the recomputation does not
    field = "visual_xy" if qtype == 12 else "true_xy"
    shifted = getattr(tracks, field) + np.array([2.0, 0.0])
    save_tracks(tmp_path / f"{scene.video_id}.npz", dataclasses.replace(tracks, **{field: shifted}), scene.video_id,
                scene.meta.width, scene.meta.height)
    tampered = _tracking_drafts(scene, stored_tracks(tmp_path, scene), qtype)
    assert [d.question for d in tampered] == [d.question for d in honest]
    moved = 0
    for a, b in zip(honest, tampered):
        pa, pb = parse_trajectory(a.answer), parse_trajectory(b.answer)
        for f, (xa, _, flag) in pa.items():
            if flag != "out of view" and pb[f][2] != "out of view" and 0.05 < xa < 0.95:
                assert pb[f][0] == pytest.approx(xa + 2 / scene.meta.width, abs=2e-3)
                moved += 1
    assert moved


def test_stored_tracks_missing_or_foreign(scene, tmp_path):
    assert stored_tracks(tmp_path, scene) is None
    tracks = stored_tracks_of(scene)
    save_tracks(tmp_path / f"{scene.video_id}.npz", tracks, "other_video", scene.meta.width, scene.meta.height)
    with pytest.raises(ValueError, match="other_video"):
        stored_tracks(tmp_path, scene)
