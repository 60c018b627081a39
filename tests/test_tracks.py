"""Point tracks: compute_tracks (compiled kernel on CPU; the batched torch code of other devices, run on CPU too) vs
an independent per-point NumPy loop, plus analytic geometry cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tests.helpers.track_reference import reference_tracks
from tests.helpers.track_scenes import Box, make_scene, random_scene, static_poses

from fourdpqa import track_kernels
from fourdpqa.geometry import look_at, pose_matrix
from fourdpqa.params import GenerateParams, TracksParams
from fourdpqa.tracks import (
    Queries,
    allocate_per_segment,
    compute_tracks,
    compute_window_tracks,
    load_tracks,
    sample_queries,
    save_tracks,
)


def dense_params(**kw) -> TracksParams:
    return TracksParams(**{"queries_per_video": 300, "sampling_stride": 2, "max_sampled_frac": 0.5, **kw})


def assert_matches_reference(scene, frames, seed) -> None:
    queries, obj = sample_queries(scene, dense_params(), np.random.default_rng(seed), frames=frames)
    tracks = compute_tracks(scene, queries, frames=frames, device="cpu", chunk_points=37)
    ref = reference_tracks(scene, frames, queries.frame, queries.xy)
    assert len(tracks) > 100 and set(obj.tolist()) > {0}  # background and object points both present
    np.testing.assert_array_equal(tracks.object_id, obj)
    np.testing.assert_array_equal(tracks.object_id, ref["object_id"])
    for name in ("visual_xy", "true_xy"):
        np.testing.assert_allclose(getattr(tracks, name), ref[name], atol=1e-3, rtol=0, err_msg=name)
    for name in ("points_world", "points_cam", "points_query_cam"):
        np.testing.assert_allclose(getattr(tracks, name), ref[name], atol=1e-9, rtol=0, err_msg=name)
    for name in ("visual_occluded", "true_in_view"):
        np.testing.assert_array_equal(getattr(tracks, name), ref[name], err_msg=name)
    occ = tracks.visual_occluded
    assert 5 <= occ.sum() < 0.9 * occ.size  # the comparison covers both visible and occluded samples
    # At its own query frame a query is visible exactly at its query pixel.
    at_q = np.arange(len(tracks)), queries.frame
    np.testing.assert_allclose(tracks.visual_xy[at_q], queries.xy, atol=1e-9)
    assert not occ[at_q].any()


@pytest.fixture
def torch_on_cpu(monkeypatch):
    """Run the batched torch code (used on CUDA) on CPU, where the compiled kernel runs by default."""
    def torch_cpu(inputs, tol):
        return track_kernels.torch_samples(inputs, tol, torch.device("cpu"), chunk_points=37)
    monkeypatch.setattr(track_kernels, "cpu_samples", torch_cpu)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_batched_matches_per_point_reference(seed):
    assert_matches_reference(random_scene(seed), np.array([0, 2, 3, 5]), seed)


def test_torch_code_path_matches_per_point_reference(torch_on_cpu):
    assert_matches_reference(random_scene(3), np.array([0, 1, 3, 5]), 3)


@pytest.mark.parametrize("index", [0, 1, 2, 3])
def test_batched_matches_reference_on_procedural_scenes(tmp_path, index):
    """Random scenes of the built-in procedural source, through its Kubric dump and the standardize reader."""
    from fourdpqa.sources.kubric import read_worker_dir
    from fourdpqa.sources.kubric_dump import write_kubric_dump
    from fourdpqa.sources.procedural import sample_video

    spec = sample_video(GenerateParams(n_frames=8, width=48, height=40), 1234, index)
    scene = read_worker_dir(write_kubric_dump(spec, tmp_path / spec.video_id), source="procedural")
    assert_matches_reference(scene, np.array([0, 1, 3, 4, 7]), index)


def test_chunking_and_device_do_not_change_results():
    scene = random_scene(4)
    queries, _ = sample_queries(scene, dense_params(), np.random.default_rng(4))
    one = compute_tracks(scene, queries, device="cpu", chunk_points=100000)
    many = compute_tracks(scene, queries, device="cpu", chunk_points=5)
    devices = ["cuda"] if torch.cuda.is_available() else []
    for other in [many] + [compute_tracks(scene, queries, device=d, chunk_points=64) for d in devices]:
        np.testing.assert_allclose(other.visual_xy, one.visual_xy, atol=1e-9)
        np.testing.assert_array_equal(other.visual_occluded, one.visual_occluded)
        np.testing.assert_array_equal(other.true_in_view, one.true_in_view)


def test_no_queries_give_empty_tracks_of_the_clip():
    tr = compute_tracks(random_scene(4), Queries(frame=np.zeros(0, np.int64), xy=np.zeros((0, 2))), frames=np.arange(3))
    assert tr.visual_xy.shape == (0, 3, 2) and tr.points_cam.shape == (0, 3, 3) and tr.visual_occluded.shape == (0, 3)


def test_static_camera_visual_equals_true_motion():
    scene = random_scene(5, static_camera=True)
    queries, _ = sample_queries(scene, dense_params(), np.random.default_rng(5))
    tr = compute_tracks(scene, queries, device="cpu")
    assert np.ptp(tr.visual_xy, axis=1).max() > 1.0  # objects do move in the image
    np.testing.assert_allclose(tr.visual_xy, tr.true_xy, atol=1e-9)
    np.testing.assert_allclose(tr.points_cam, tr.points_query_cam, atol=1e-12)
    assert not (tr.true_in_view == False)[~tr.visual_occluded].any()  # noqa: E712 - visible implies in view


def test_static_objects_moving_camera_true_motion_is_constant():
    scene = random_scene(6, static_objects=True)
    queries, _ = sample_queries(scene, dense_params(), np.random.default_rng(6))
    tr = compute_tracks(scene, queries, device="cpu")
    assert np.ptp(tr.visual_xy, axis=1).max() > 1.0  # the camera does move
    np.testing.assert_allclose(tr.true_xy, np.broadcast_to(queries.xy[:, None], tr.true_xy.shape), atol=1e-6)
    assert tr.true_in_view.all()


def test_object_moving_along_query_ray_keeps_true_motion_at_query_pixel():
    n_t, width, height = 6, 48, 40
    cam0 = look_at(np.array([0.0, -6.0, 1.0]), np.array([0.0, 0.0, 0.8]))
    cams = np.stack([pose_matrix(cam0[:3, :3], cam0[:3, 3] + np.array([0.12 * t, 0.05 * t, 0.0])) for t in range(n_t)])
    start = pose_matrix(np.eye(3), np.array([0.3, 0.0, 0.5]))
    probe = make_scene(cams[:1], [Box(1, (1.0, 1.0, 1.0), start[None])], width, height)
    query_xy = np.array([27.0, 24.0])
    assert probe.instances[0, 24, 27] == 1
    point = probe.world_from_cam[0] @ np.append(np.linalg.inv(probe.intrinsics[0]) @ np.append(query_xy, 1.0) * probe.depth[0, 24, 27], 1)
    toward = cams[0, :3, 3] - point[:3]
    step = 0.25 * toward / np.linalg.norm(toward)
    poses = np.stack([pose_matrix(np.eye(3), start[:3, 3] + step * t) for t in range(n_t)])
    scene = make_scene(cams, [Box(1, (1.0, 1.0, 1.0), poses)], width, height)
    tr = compute_tracks(scene, Queries(frame=np.array([0]), xy=query_xy[None]), device="cpu")
    assert tr.object_id[0] == 1
    np.testing.assert_allclose(tr.true_xy[0], np.broadcast_to(query_xy, (n_t, 2)), atol=1e-6)
    depth_q = tr.points_query_cam[0, :, 2]
    assert np.all(np.diff(depth_q) < -0.2)  # it really approaches the query camera
    assert np.ptp(tr.visual_xy[0, :, 0]) > 2.0  # while the moving camera sees it drift


def test_box_passing_in_front_flips_occlusion_on_predicted_frames():
    """A ground point at pixel (20, 30); a tall thin box slides along world x between it and a static camera.

    The camera looks along world +y from (0, -6, 1), so camera x = world x and camera z = world y + 6. The box's
    front/back faces sit at camera z = 1.9 / 2.1. Pixel column j's ray crosses the box iff its x over that depth
    range, ``(j - cx) / f * z`` for z in [1.9, 2.1], meets the box's x extent; the point is occluded iff both
    neighbour columns 20 and 21 (rows 30/31 are always inside the tall box) are covered.
    """
    n_t, width, height, f = 16, 48, 40, 40.0
    cam = look_at(np.array([0.0, -6.0, 1.0]), np.array([0.0, 0.0, 1.0]))
    half_l = 0.35
    centres = -1.2 + 0.15 * np.arange(n_t)
    poses = np.stack([pose_matrix(np.eye(3), np.array([c, -4.0, 1.5])) for c in centres])
    scene = make_scene(static_poses(cam, n_t), [Box(1, (2 * half_l, 0.2, 3.0), poses)], width, height, f)
    cx = (width - 1) / 2

    def covered(col: int, c: float) -> bool:
        a = (col - cx) / f
        lo, hi = sorted((a * 1.9, a * 2.1))
        assert min(abs(lo - (c + half_l)), abs(hi - (c - half_l))) > 1e-3  # no frame sits on a boundary
        return hi >= c - half_l and lo <= c + half_l

    expected = np.array([covered(20, c) and covered(21, c) for c in centres])
    assert 2 <= expected.sum() <= n_t - 2
    tr = compute_tracks(scene, Queries(frame=np.array([0]), xy=np.array([[20.0, 30.0]])), device="cpu")
    assert tr.object_id[0] == 0 and scene.depth[0, 30, 20] > 3.0
    np.testing.assert_array_equal(tr.visual_occluded[0], expected)
    assert tr.true_in_view[0].all()


# ------------------------------------------------------------------------------------------------------ sampling


def test_allocate_per_segment_hand_case():
    # counts 4, 100, 40 -> visit 4 (want 30/3=10, cap 2 -> 2), 40 (want 28/2=14, cap 20 -> 14), 100 (want 14, cap 50).
    np.testing.assert_array_equal(allocate_per_segment(np.array([4, 100, 40]), 30, 0.5), [2, 14, 14])
    np.testing.assert_array_equal(allocate_per_segment(np.array([10, 10]), 100, 0.1), [1, 1])


def test_sample_queries_visible_stratified_and_seeded():
    scene = random_scene(7)
    params = TracksParams(queries_per_video=60, sampling_stride=2, max_sampled_frac=0.3, background_share=0.25)
    q, obj = sample_queries(scene, params, np.random.default_rng(11))
    q2, obj2 = sample_queries(scene, params, np.random.default_rng(11))
    np.testing.assert_array_equal(q.xy, q2.xy)
    np.testing.assert_array_equal(obj, obj2)
    assert 0 < len(q) <= 60 and np.all(q.xy == np.round(q.xy))
    col, row = q.xy[:, 0].astype(int), q.xy[:, 1].astype(int)
    np.testing.assert_array_equal(scene.instances[q.frame, row, col], obj)
    assert np.isfinite(scene.depth[q.frame, row, col]).all()
    keys = q.frame * 10**6 + row * 1000 + col
    assert len(np.unique(keys)) == len(keys) and np.all(np.diff(keys) > 0)  # distinct, sorted by (frame, y, x)
    assert (obj == 0).sum() >= 1 and (obj > 0).sum() >= 1
    first, _ = sample_queries(scene, params.model_copy(update={"query_frames": "first"}), np.random.default_rng(1))
    assert len(first) and np.all(first.frame == 0)


def test_sample_queries_respects_per_segment_caps_and_background_share():
    """Stride 1 on the first frame: the candidates are exactly the valid pixels of frame 0."""
    scene = random_scene(10)
    params = TracksParams(queries_per_video=80, sampling_stride=1, max_sampled_frac=0.1, background_share=0.5,
                          query_frames="first")
    q, obj = sample_queries(scene, params, np.random.default_rng(3))
    valid = np.isfinite(scene.depth[0])
    pixels = {int(s): int(((scene.instances[0] == s) & valid).sum()) for s in np.unique(scene.instances[0])}
    for seg, n in zip(*np.unique(obj, return_counts=True)):
        assert n <= round(0.1 * pixels[int(seg)])
    n_obj = int((obj > 0).sum())
    assert n_obj <= 40  # objects get at most the non-background share
    assert (obj == 0).sum() == min(80 - n_obj, round(0.1 * pixels[0]))  # background takes the rest, within its cap


# -------------------------------------------------------------------------------------------------- errors / files


def test_bad_queries_name_the_video():
    scene = random_scene(8)
    with pytest.raises(ValueError, match="toy_00008.*outside"):
        compute_tracks(scene, Queries(frame=np.array([0]), xy=np.array([[100.0, 5.0]])), device="cpu")
    sky = np.argwhere(~np.isfinite(scene.depth[0]))
    if len(sky):
        y, x = sky[0]
        with pytest.raises(ValueError, match="no valid depth"):
            compute_tracks(scene, Queries(frame=np.array([0]), xy=np.array([[float(x), float(y)]])), device="cpu")


def test_save_load_round_trip_and_schema(tmp_path):
    scene = random_scene(9)
    q, _ = sample_queries(scene, dense_params(), np.random.default_rng(9))
    tr = compute_tracks(scene, q, device="cpu")
    path = save_tracks(tmp_path / "toy.npz", tr, scene.video_id, scene.meta.width, scene.meta.height)
    back, meta = load_tracks(path)
    assert meta == {"video_id": scene.video_id, "width": 48, "height": 40}
    np.testing.assert_array_equal(back.visual_xy, tr.visual_xy)
    np.testing.assert_array_equal(back.visual_occluded, tr.visual_occluded)
    np.testing.assert_array_equal(back.queries.frame, tr.queries.frame)
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    from schemas.tracks import TracksSchemaError, validate_tracks_arrays

    def broken(**changes) -> dict:
        return {**arrays, **changes}

    cases = {
        "visual_occluded.*shape": broken(visual_occluded=arrays["visual_occluded"][:, :-1]),
        "object_id.*dtype": broken(object_id=arrays["object_id"].astype(np.float64)),
        "visual_xy.*non-finite": broken(visual_xy=np.where(arrays["visual_occluded"][..., None], arrays["visual_xy"], np.nan)),
        "query_frame.*values": broken(query_frame=arrays["query_frame"] + len(arrays["frames"])),
        "true_xy.*missing": {k: v for k, v in arrays.items() if k != "true_xy"},
    }
    for pattern, bad in cases.items():
        with pytest.raises(TracksSchemaError, match=pattern):
            validate_tracks_arrays(bad, "x.npz")
    np.savez(tmp_path / "bad.npz", **cases["visual_occluded.*shape"])
    with pytest.raises(ValueError, match="bad.npz.*visual_occluded.*shape"):
        load_tracks(tmp_path / "bad.npz")


# ------------------------------------------------------------------------------------------------------- pictures


def test_overlay_panels_agree_for_static_camera_and_differ_otherwise():
    from fourdpqa.viz_tracks import TITLE_H, overlay_image

    for static, same in ((True, True), (False, False)):
        scene = random_scene(12, static_camera=static)
        q, _ = sample_queries(scene, dense_params(), np.random.default_rng(0))
        img = overlay_image(compute_tracks(scene, q, device="cpu"), scene.rgb)
        scale = 384 // 48
        assert img.shape == (40 * scale + TITLE_H, 2 * 48 * scale + 6, 3)
        left, right = img[TITLE_H:, : 48 * scale], img[TITLE_H:, 48 * scale + 6:]
        assert np.array_equal(left, right) == same


def test_window_tracks_follow_each_query_over_its_own_windows_only():
    """Tracks over several clip windows, computed window by window: on the windows holding its query frame a query
    equals the independent reference over that window alone; elsewhere it is absent (occluded, out of view, NaN)."""
    scene = random_scene(11, n_t=14)
    windows = [np.arange(0, 5), np.arange(3, 8), np.arange(10, 14)]  # two overlapping, one apart
    union = np.unique(np.concatenate(windows))
    queries, _ = sample_queries(scene, dense_params(), np.random.default_rng(2), frames=union)
    tracks = compute_window_tracks(scene, queries, windows, device="cpu")
    assert np.array_equal(tracks.frames, union) and len(tracks) == len(queries) > 100
    q_scene = union[queries.frame]
    for w in windows:
        sel = np.flatnonzero(np.isin(q_scene, w))
        cols = np.searchsorted(union, w)
        ref = reference_tracks(scene, w, np.searchsorted(w, q_scene[sel]), queries.xy[sel])
        np.testing.assert_allclose(tracks.visual_xy[np.ix_(sel, cols)], ref["visual_xy"], atol=1e-3, rtol=0)
        np.testing.assert_array_equal(tracks.visual_occluded[np.ix_(sel, cols)], ref["visual_occluded"])
        np.testing.assert_array_equal(tracks.object_id[sel], ref["object_id"])
    inside = np.zeros((len(queries), len(union)), bool)
    for w in windows:
        inside[np.ix_(np.isin(q_scene, w), np.isin(union, w))] = True
    assert tracks.visual_occluded[~inside].all() and not tracks.true_in_view[~inside].any()
    assert np.isnan(tracks.points_world[~inside]).all() and (~inside).any()
