"""Procedural scene specs: determinism, coverage of every motion kind, captions, placement and motion semantics."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from fourdpqa import geometry
from fourdpqa.params import GenerateParams
from fourdpqa.sources import procedural as P
from fourdpqa.sources.shapes import build_parts

SNAP = 4 * 2.0**-32  # generated poses lie on a 2**-32 grid (geometry.snap): a few grid steps of error, not 1e-12

PARAMS = GenerateParams(n_frames=24, width=64, height=64)


@pytest.fixture(scope="module")
def specs() -> list[P.VideoSpec]:
    return [P.sample_video(PARAMS, 11, i) for i in range(150)]


def _times(spec: P.VideoSpec) -> np.ndarray:
    return P.frame_times(spec.n_frames, spec.fps)


def test_same_seed_same_spec_and_different_seed_differs() -> None:
    a, b = P.sample_video(PARAMS, 5, 3), P.sample_video(PARAMS, 5, 3)
    assert a == b and a.spec_hash() == b.spec_hash()
    assert P.sample_video(PARAMS, 6, 3).spec_hash() != a.spec_hash()
    assert P.sample_video(PARAMS, 5, 4).spec_hash() != a.spec_hash()


def test_every_motion_kind_category_and_size_occurs(specs: list[P.VideoSpec]) -> None:
    cams = Counter(s.camera.kind for s in specs)
    objs = Counter(o.motion for s in specs for o in s.objects)
    assert set(cams) == set(P.CAMERA_KINDS), cams
    assert set(objs) == set(P.OBJECT_KINDS), objs
    assert {c for s in specs for c in s.camera.components} == set(P.COMBINABLE)
    assert {o.category for s in specs for o in s.objects} == set(P.CATEGORIES)
    assert {o.size_class for s in specs for o in s.objects} == {"small", "large"}
    counts = [len(s.objects) for s in specs]
    assert min(counts) >= PARAMS.min_objects and max(counts) <= PARAMS.max_objects


def test_motion_mix_is_respected() -> None:
    only = GenerateParams(n_frames=8, camera_motion_mix={"truck": 1.0}, object_motion_mix={"rotate_cw": 1.0})
    spec = P.sample_video(only, 1, 0)
    assert spec.camera.kind == "truck" and all(o.motion == "rotate_cw" for o in spec.objects)


def test_captions_are_unique_and_minimal(specs: list[P.VideoSpec]) -> None:
    for s in specs:
        caps = [o.caption for o in s.objects]
        assert len(set(caps)) == len(caps), caps
        for o in s.objects:
            same_cat = [x for x in s.objects if x.category == o.category and x is not o]
            if not same_cat:
                assert o.caption == f"the {o.category}"
            else:
                # every other object of the category differs in an attribute named in the caption
                size_word = P.SIZE_WORDS.get(o.category, {}).get(o.size_class, o.size_class)
                assert all(
                    (x.color != o.color and o.color in o.caption) or (x.size_class != o.size_class and size_word in o.caption)
                    for x in same_cat
                ), (o.caption, [(x.color, x.size_class) for x in same_cat])


def test_objects_rest_on_ground_never_overlap_and_start_in_view(specs: list[P.VideoSpec]) -> None:
    for s in specs:
        poses = np.stack([P.object_poses(o, _times(s)) for o in s.objects])  # (O, T, 4, 4)
        k = P.intrinsics(s)
        cam0 = P.camera_poses(s.camera, s.n_frames)[0]
        for i, o in enumerate(s.objects):
            half = np.asarray(o.size) / 2
            corners = np.array([[a, b, c] for a in (-1, 1) for b in (-1, 1) for c in (-1, 1)]) * half
            low = geometry.transform_points(poses[i], corners)[..., 2].min(-1)
            np.testing.assert_allclose(low, 0.0, atol=1e-9)
            px, z = geometry.project_world(k, cam0, poses[i, :1, :3, 3])
            assert z[0] > 0 and 0 <= px[0, 0] <= s.width and 0 <= px[0, 1] <= s.height
            for j in range(i):
                gap = np.linalg.norm(poses[i, :, :2, 3] - poses[j, :, :2, 3], axis=1)
                radii = 0.5 * math.hypot(*o.size[:2]) + 0.5 * math.hypot(*s.objects[j].size[:2])
                assert gap.min() > radii, (s.video_id, o.caption, s.objects[j].caption)


def _obj(motion: str, **kw: float) -> P.ObjectSpec:
    parts, size = build_parts("car", (1.0, 0.5, 0.45), (200, 0, 0))
    return P.ObjectSpec(object_id=1, category="car", color="red", size_class="small", size=size, has_front=True,
                        caption="the car", parts=parts, start_xy=(0.5, -1.0), start_yaw=0.7, motion=motion, **kw)


def test_object_motion_semantics() -> None:
    t = P.frame_times(13, 4.0)  # 3 s
    first_r = geometry.quat_to_matrix(geometry.yaw_to_quat(np.array(0.7)))

    def in_own_frame(poses: np.ndarray) -> np.ndarray:
        return first_r.T @ (poses[-1, :3, 3] - poses[0, :3, 3])

    static = P.object_poses(_obj("static"), t)
    assert (static == static[0]).all()
    fwd = in_own_frame(P.object_poses(_obj("forward", speed=0.5), t))
    np.testing.assert_allclose(fwd, [1.5, 0, 0], atol=SNAP)
    back = in_own_frame(P.object_poses(_obj("backward", speed=0.5), t))
    np.testing.assert_allclose(back, [-1.5, 0, 0], atol=SNAP)
    tr = P.object_poses(_obj("translate", speed=1.0, direction=-2.0), t)
    np.testing.assert_allclose(tr[-1, :3, 3] - tr[0, :3, 3], [3 * math.cos(-2.0), 3 * math.sin(-2.0), 0], atol=SNAP)
    np.testing.assert_allclose(geometry.yaw_of(tr[:, :3, :3]), 0.7, atol=SNAP)  # heading unchanged
    for motion, rate in (("rotate_cw", -0.4), ("rotate_ccw", 0.4)):
        rot = P.object_poses(_obj(motion, yaw_rate=rate), t)
        assert (rot[:, :3, 3] == rot[0, :3, 3]).all()
        assert geometry.wrap_angle(geometry.yaw_of(rot[-1, :3, :3]) - 0.7) == pytest.approx(3 * rate)
    turn = P.object_poses(_obj("turn", speed=1.0, yaw_rate=0.5), t)
    step = np.diff(turn[:, :2, 3], axis=0)
    heading = geometry.yaw_of(turn[:, :3, :3])
    # it moves along its own (changing) heading, curving left for a positive yaw rate
    mid = (heading[1:] + heading[:-1]) / 2
    np.testing.assert_allclose(geometry.wrap_angle(np.arctan2(step[:, 1], step[:, 0]) - mid), 0.0, atol=1e-9)
    assert heading[-1] - heading[0] == pytest.approx(1.5)
    assert np.linalg.norm(step, axis=1).sum() == pytest.approx(3.0, rel=1e-2)


def _cam(**kw: float | tuple) -> np.ndarray:
    spec = P.CameraSpec(kind="x", components=(), eye=(6.0, -2.0, 3.0), target=(0.0, 0.5, 0.4), **kw)
    return P.camera_poses(spec, 9)


def test_camera_motion_semantics() -> None:
    static = _cam()
    assert (static == static[0]).all()
    fwd0 = static[0, :3, 2]

    def heading(c2w: np.ndarray) -> np.ndarray:
        return np.arctan2(c2w[..., 1, 2], c2w[..., 0, 2])

    pan = _cam(pan_deg=30.0)
    np.testing.assert_allclose(pan[:, :3, 3], static[:, :3, 3], atol=SNAP)
    assert np.degrees(geometry.wrap_angle(heading(pan[-1]) - heading(pan[0]))) == pytest.approx(30.0)  # positive = turns left (CCW)
    tilt = _cam(tilt_deg=20.0)
    assert np.degrees(math.asin(-tilt[-1, 2, 2]) - math.asin(-tilt[0, 2, 2])) == pytest.approx(-20.0)  # looks up
    roll = _cam(roll_deg=25.0)
    np.testing.assert_allclose(roll[:, :3, 2], np.broadcast_to(fwd0, (9, 3)), atol=SNAP)
    x_cam0 = static[0, :3, :3].T @ roll[-1, :3, 0]  # final x axis in the first camera frame: rotated towards +y
    assert math.degrees(math.atan2(x_cam0[1], x_cam0[0])) == pytest.approx(25.0)
    for axis, name in ((2, "dolly"), (0, "truck"), (1, "pedestal")):
        move = [0.0, 0.0, 0.0]
        move[axis] = -2.0
        m = _cam(move_cam=tuple(move))
        local = static[0, :3, :3].T @ (m[-1, :3, 3] - m[0, :3, 3])
        np.testing.assert_allclose(local, move, atol=SNAP, err_msg=name)
        np.testing.assert_allclose(m[:, :3, :3], static[:, :3, :3], atol=SNAP)
    orbit = _cam(orbit_deg=35.0)
    target = np.array([0.0, 0.5, 0.4])
    k = geometry.kubric_intrinsics(35, 32, 65, 65)
    dist = np.linalg.norm(orbit[:, :3, 3] - target, axis=1)
    np.testing.assert_allclose(dist, dist[0], atol=SNAP)
    for c2w in orbit:
        px, _ = geometry.project_world(k, c2w, target[None])
        np.testing.assert_allclose(px[0], [32, 32], atol=1e-9)


def test_sampled_magnitudes_exceed_label_thresholds(specs: list[P.VideoSpec]) -> None:
    """Moving things move clearly (>= 1 m / >= 15 deg over the video); static ones exactly not at all."""
    for s in specs:
        c2w = P.camera_poses(s.camera, s.n_frames)
        travel = np.linalg.norm(c2w[-1, :3, 3] - c2w[0, :3, 3])
        if s.camera.kind == "push_pull":  # there and back: the farthest point is mid-video
            assert travel < 1e-9 and s.camera.move_return
            travel = np.linalg.norm(c2w[:, :3, 3] - c2w[0, :3, 3], axis=1).max()
        angle = np.degrees(np.arccos(np.clip((np.trace(c2w[0, :3, :3].T @ c2w[-1, :3, :3]) - 1) / 2, -1, 1)))
        assert c2w[:, 2, 2].max() <= 1e-9  # the optical axis never points above the horizon
        if s.camera.kind == "static":
            assert (c2w == c2w[0]).all()
        else:
            assert travel >= 0.99 or angle >= 14.9, (s.video_id, s.camera)
        for o in s.objects:
            p = P.object_poses(o, _times(s))
            if o.motion == "static":
                assert (p == p[0]).all()
            elif o.motion.startswith("rotate"):
                turned = np.degrees(abs(geometry.wrap_angle(geometry.yaw_of(p[-1, :3, :3]) - geometry.yaw_of(p[0, :3, :3]))))
                assert turned >= 59.9 or turned == pytest.approx(360 - abs(np.degrees(o.yaw_rate * _times(s)[-1])))
            else:
                assert np.linalg.norm(np.diff(p[:, :2, 3], axis=0), axis=1).sum() >= 1.49


def test_pass_by_and_push_pull_make_distances_turn(specs: list[P.VideoSpec]) -> None:
    """pass_by objects come closest to a non-translating object at mid-video, clear of it; push_pull cameras
    dolly there and back, so both distance kinds decrease then increase (or, pulling out, increase then decrease)."""
    n_pass = n_push = 0
    for s, i, poses in _with_motion(specs, "pass_by"):
        n_pass += 1
        gaps = [np.linalg.norm(poses[i][:, :2] - poses[j][:, :2], axis=1) for j, x in enumerate(s.objects)
                if x.motion in ("static", "rotate_cw", "rotate_ccw")]
        mid = (s.n_frames - 1) / 2
        # some object that keeps its place is passed: closest at mid-video, clearly farther at both ends
        assert any(abs(int(np.argmin(g)) - mid) <= 1 and min(g[0], g[-1]) >= 1.15 * g.min() for g in gaps), s.video_id
    for s in specs:
        if s.camera.kind == "push_pull":
            n_push += 1
            d = np.linalg.norm(P.camera_poses(s.camera, s.n_frames)[:, :3, 3] - np.asarray(s.camera.target), axis=1)
            k = int(np.argmax(np.abs(d - d[0])))
            assert abs(k - (s.n_frames - 1) / 2) <= 1 and abs(d[k] / d[0] - 1) >= 0.25, (s.video_id, d[[0, k, -1]])
    assert n_pass >= 5 and n_push >= 5, (n_pass, n_push)


def test_a_cluttered_scene_places_over_a_hundred_objects_in_view() -> None:
    """generate.max_objects of 110 with a mostly static mix: every object is placed, rests on the ground, starts
    in view and never overlaps another (the same checks as the default scenes), and the camera stands back."""
    params = GenerateParams(n_frames=8, width=192, height=192, min_objects=110, max_objects=110,
                            object_motion_mix={"static": 0.7, "rotate_cw": 0.1, "rotate_ccw": 0.1, "forward": 0.1})
    spec = P.sample_video(params, 1234, 0)
    assert len(spec.objects) == 110
    test_objects_rest_on_ground_never_overlap_and_start_in_view([spec])
    eye, target = np.asarray(spec.camera.eye), np.asarray(spec.camera.target)
    assert np.linalg.norm(eye - target) > P.CAM_DIST_M[0] * math.sqrt(110 / P.CROWD_OBJECTS)


def test_convoy_objects_travel_with_a_moving_object_at_a_constant_distance(specs: list[P.VideoSpec]) -> None:
    """Issue 24.1: a convoy object and some straight-moving object both travel >= 1.5 m while the distance between
    their centres stays the same (so a constant distance is also an answer about things that move)."""
    n = 0
    for s, i, paths in _with_motion(specs, "convoy"):
        n += 1
        travel = np.linalg.norm(paths[i][-1] - paths[i][0])
        gaps = [np.linalg.norm(paths[i] - paths[j], axis=1) for j, x in enumerate(s.objects)
                if j != i and x.motion in P.STRAIGHT]
        assert travel >= 1.49 and any(np.ptp(g) < 1e-9 for g in gaps), s.video_id
    assert n >= 5, n


def _with_motion(specs: list[P.VideoSpec], motion: str):
    """(spec, object index, every object's (T, 3) centres) for each object of ``specs`` with ``motion``."""
    for s in specs:
        centres = [P.object_poses(o, _times(s))[:, :3, 3] for o in s.objects]
        for i, o in enumerate(s.objects):
            if o.motion == motion:
                yield s, i, centres
