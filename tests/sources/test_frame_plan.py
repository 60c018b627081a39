"""Frame selection from timestamps (``sources.frame_plan``): the time window, the sampling rate, the clips of a long
video and their overlap, the frame cap, each checked on the frames chosen (their times, not the planner's own
arithmetic)."""

from __future__ import annotations

import numpy as np
import pytest

from fourdpqa.errors import BadInput
from fourdpqa.params import Params, QAParams, SourceQAParams, SourceSpec, StandardizeParams
from fourdpqa.sources.frame_plan import SELECTION_OPTIONS, plan_frames, selection_defaults

T30 = np.arange(5400) / 30.0 + 12.5  # three minutes at 30 fps, clock not starting at 0
JITTER = T30 + np.random.default_rng(0).uniform(-0.004, 0.004, len(T30))


def plan(times: np.ndarray = T30, **opts):  # noqa: ANN201
    return plan_frames("v", times, {**SELECTION_OPTIONS, **opts})


def test_whole_video_by_default_and_the_time_window() -> None:
    assert np.array_equal(plan().frames, np.arange(5400)) and plan().clips == []
    p = plan(start_s=10.0, end_s=20.0)
    rel = T30[p.frames] - T30[0]
    assert rel.min() >= 10.0 - 1e-9 and rel.max() <= 20.0 + 1e-9 and len(p.frames) == 301


@pytest.mark.parametrize("times", [T30, JITTER], ids=["regular", "jittered"])
def test_sample_fps_spaces_frames_at_that_rate(times: np.ndarray) -> None:
    p = plan(times, sample_fps=10.0)
    gaps = np.diff(times[p.frames])
    assert p.stride == 3 and abs(np.median(gaps) - 0.1) < 0.01 and len(p.frames) == 1800


def test_clips_spread_over_the_video_without_overlap() -> None:
    p = plan(clips=5, clip_frames=32, sample_fps=10.0)
    assert len(p.clips) == 5 and len(p.frames) == 5 * 32
    times = T30[p.frames]
    starts = [times[a] for a, _ in p.clips]
    for a, b in p.clips:  # each clip: 32 consecutive sampled frames at ~10 fps, contiguous in time
        assert b - a == 32 and np.allclose(np.diff(times[a:b]), 0.1, atol=0.01)
    assert all(t1 - t0 > 3.2 for t0, t1 in zip(starts, starts[1:]))  # disjoint in time
    assert starts[0] == T30[0] and times[p.clips[-1][1] - 1] == pytest.approx(T30[-1], abs=0.2)  # spread to both ends


@pytest.mark.parametrize("overlap", [0.0, 0.25, 0.5, 1.0])
def test_clip_overlap_respected(overlap: float) -> None:
    p = plan(np.arange(100) / 10.0, clips=8, clip_frames=20, clip_max_overlap=overlap)
    source = [set(p.frames[a:b].tolist()) for a, b in p.clips]
    shared = max((len(x & y) for i, x in enumerate(source) for y in source[i + 1:]), default=0)
    assert shared <= overlap * 20 and all(len(s) == 20 for s in source)
    assert len(p.clips) == {0.0: 5, 0.25: 6, 0.5: 8, 1.0: 8}[overlap]


def test_frame_cap_and_short_videos() -> None:
    assert len(plan(max_frames=100).frames) == 100
    assert len(plan(clips=10, clip_frames=32, max_frames=100).clips) == 3
    short = plan(np.arange(5) / 10.0, clips=4, clip_frames=32)
    assert short.clips == [(0, 5)] and np.array_equal(short.frames, np.arange(5))


@pytest.mark.parametrize("opts", [{"sample_fps": 0}, {"clips": -1}, {"clip_frames": 2.5}, {"start_s": float("inf")},
                                  {"clip_max_overlap": 1.5}, {"start_s": 500.0}])
def test_bad_options_and_times_are_bad_input(opts: dict) -> None:
    with pytest.raises(BadInput, match="video 'v'"):
        plan(**opts)
    with pytest.raises(BadInput, match="increasing"):
        plan(np.array([0.0, 0.2, 0.1]))


def test_defaults_follow_the_sources_qa_clip_settings() -> None:
    params = Params(standardize=StandardizeParams(sources=[SourceSpec(name="adt", kind="adt", root="x"),
                                                          SourceSpec(name="proc", kind="kubric", root="y")]),
                    qa=QAParams(clip_frames=16, sources={"adt": SourceQAParams(sample_fps=5.0, clip_frames=8)}))
    adt = selection_defaults(params, params.standardize.sources[0])
    proc = selection_defaults(params, params.standardize.sources[1])
    assert (adt["clips"], adt["clip_frames"], adt["sample_fps"]) == (4, 8, 5.0)  # recorded: several clips
    assert (proc["clips"], proc["clip_frames"], proc["sample_fps"]) == (0, 16, None)  # generated: kept whole
