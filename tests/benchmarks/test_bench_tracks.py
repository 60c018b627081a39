"""The vectorised NumPy baseline of ``benchmarks/tracks.py`` computes what compute_tracks does: checked against the
independent per-point loop, so the benchmark's speed-up and max-difference lines compare like with like."""

from __future__ import annotations

import numpy as np
from helpers.benchmark_scripts import load_benchmark
from helpers.track_reference import reference_tracks
from helpers.track_scenes import random_scene

from fourdpqa.params import TracksParams
from fourdpqa.tracks import compute_tracks, sample_queries


def test_numpy_baseline_matches_per_point_reference():
    bench = load_benchmark("tracks")
    scene, frames = random_scene(2), np.array([0, 2, 3, 5])
    params = TracksParams(queries_per_video=300, sampling_stride=2, max_sampled_frac=0.5)
    q, _ = sample_queries(scene, params, np.random.default_rng(2), frames=frames)
    base = bench.numpy_tracks(scene, frames, q.frame, q.xy)
    ref = reference_tracks(scene, frames, q.frame, q.xy)
    for name in bench.FIELDS_PX + bench.FIELDS_M:
        np.testing.assert_allclose(base[name], ref[name], atol=1e-9, rtol=0, err_msg=name)
    for name in bench.FLAGS + ("object_id",):
        np.testing.assert_array_equal(base[name], ref[name], err_msg=name)
    assert 5 <= base["visual_occluded"].sum() < 0.9 * base["visual_occluded"].size
    diff = bench.max_differences(compute_tracks(scene, q, frames=frames, device="cpu"), base)
    assert diff["visual_occluded"] == diff["true_in_view"] == diff["object_id"] == 0
    assert max(diff[k] for k in bench.FIELDS_PX) < 1e-9
