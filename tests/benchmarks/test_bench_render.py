"""The vectorised NumPy ray caster of ``benchmarks/render.py`` renders what SceneRenderer does: depth and ids checked
against the independent per-pixel reference, colours and amodal counts against the renderer."""

from __future__ import annotations

import numpy as np
from tests.helpers.benchmark_scripts import load_benchmark

from fourdpqa.params import GenerateParams
from fourdpqa.sources import procedural as P
from fourdpqa.sources.render import SceneRenderer, reference_pixel


def test_numpy_ray_caster_matches_per_pixel_reference_and_renderer():
    bench = load_benchmark("render")
    spec = P.sample_video(GenerateParams(width=40, height=32, n_frames=6, min_objects=4), 5, 2)
    k = P.intrinsics(spec)
    c2w = P.camera_poses(spec.camera, spec.n_frames)[3]
    poses = np.stack([P.object_poses(o, P.frame_times(spec.n_frames, spec.fps))[3] for o in spec.objects])
    renderer = SceneRenderer(spec)
    frame = bench.numpy_render(spec, k, c2w, poses, renderer.noise.numpy(), renderer.ground_tint.numpy())
    ref = np.array([[reference_pixel(spec, k, c2w, poses, x, y) for x in range(spec.width)] for y in range(spec.height)])
    same = ref[..., 1] == frame.instances
    assert same.mean() >= 0.99 and (frame.instances > 0).sum() > 20
    assert np.abs(ref[..., 0] - frame.depth)[same].max() < 2e-3 * ref[..., 0].max()
    ours = renderer.render(k, c2w, poses)
    np.testing.assert_array_equal(frame.amodal, ours.amodal - ours.outside)  # the NumPy caster counts inside only
    diff = bench.differences(ours, frame)
    assert diff["instances_differing"] < 0.01 and diff["rgb_differing"] < 0.01
