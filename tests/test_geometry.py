"""Geometry conventions on hand-computed cases: projection, depth kinds, Blender -> OpenCV, rotations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from fourdpqa import geometry

K = np.array([[100.0, 0.0, 20.0], [0.0, 120.0, 10.0], [0.0, 0.0, 1.0]])


@pytest.mark.parametrize("lib", ["numpy", "torch"])
def test_project_unproject_round_trip(lib: str) -> None:
    rng = np.random.default_rng(0)
    pix = rng.uniform(-5, 45, (50, 2))
    z = rng.uniform(0.5, 30, 50)
    k = K
    if lib == "torch":
        pix, z, k = torch.tensor(pix), torch.tensor(z), torch.tensor(K)
    pts = geometry.unproject(k, pix, z)
    back, zz = geometry.project(k, pts)
    np.testing.assert_allclose(np.asarray(back), np.asarray(pix), atol=1e-9)
    np.testing.assert_allclose(np.asarray(zz), np.asarray(z), atol=1e-12)


def test_project_hand_case() -> None:
    px, z = geometry.project(K, np.array([[1.0, -0.5, 4.0]]))
    np.testing.assert_allclose(px[0], [20 + 100 * 0.25, 10 - 120 * 0.125])
    assert z[0] == 4.0


def test_ray_z_depth_hand_case() -> None:
    k = np.array([[10.0, 0.0, 1.0], [0.0, 10.0, 1.0], [0.0, 0.0, 1.0]])
    z = np.full((3, 3), 5.0, np.float32)
    ray = geometry.z_to_ray_depth(z, k)
    # pixel (x=1, y=1) is the principal point: ray == z; pixel (x=2, y=0) is off by (0.1, -0.1): sqrt(1.02)
    assert ray[1, 1] == pytest.approx(5.0)
    assert ray[0, 2] == pytest.approx(5.0 * math.sqrt(1.02), rel=1e-6)
    np.testing.assert_allclose(geometry.ray_to_z_depth(ray, k), z, rtol=1e-6)


def test_blender_to_opencv_identity_and_movi_like_camera() -> None:
    # A Blender camera with identity rotation looks down world -Z with +Y up: OpenCV axes x=+X, y=-Y, z=-Z.
    c2w = geometry.blender_to_opencv_world_from_cam(np.eye(4))
    np.testing.assert_allclose(c2w[:3, :3], np.diag([1.0, -1.0, -1.0]))
    # Rotating it 90 deg about X makes it look along +Y with +Z up (MOVi cameras look at the origin like this).
    q = np.array([math.cos(math.pi / 4), math.sin(math.pi / 4), 0.0, 0.0])
    blender = geometry.pose_matrix(q, np.array([0.0, -10.0, 0.0]))
    cv = geometry.blender_to_opencv_world_from_cam(blender)
    k = geometry.kubric_intrinsics(35.0, 32.0, 65, 65)
    pts = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    cam = geometry.transform_points(geometry.invert_pose(cv), pts)
    np.testing.assert_allclose(cam, [[0, 0, 10], [0, -1, 10], [1, 0, 10]], atol=1e-12)
    px, _ = geometry.project(k, cam)
    np.testing.assert_allclose(px[0], [32.0, 32.0])  # the origin lands on the principal point
    assert px[1, 1] < 32.0 and px[2, 0] > 32.0  # up is up in the image, +X is to the right


def test_kubric_intrinsics() -> None:
    k = geometry.kubric_intrinsics(35.0, 32.0, 256, 128)
    assert k[0, 0] == pytest.approx(35 / 32 * 256) and k[1, 1] == k[0, 0]
    assert (k[0, 2], k[1, 2]) == (127.5, 63.5)


def test_quaternion_matrix_round_trip_and_canonical_sign() -> None:
    rng = np.random.default_rng(1)
    q = rng.normal(size=(200, 4))
    q[:5] = [[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [1e-9, 0.7071, 0.7071, 0], [-1, 0, 0, 0]]  # 180 deg cases
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    r = geometry.quat_to_matrix(q)
    assert geometry.rotation_error(r).max() < 1e-9
    q2 = geometry.matrix_to_quat(r)
    assert (q2[:, 0] >= 0).all()
    np.testing.assert_allclose(geometry.quat_to_matrix(q2), r, atol=1e-9)
    np.testing.assert_allclose(np.abs((q2 * q).sum(1)), 1.0, atol=1e-9)


def test_yaw_and_pose_inverse() -> None:
    r = geometry.quat_to_matrix(geometry.yaw_to_quat(np.array(0.5)))
    assert geometry.yaw_of(r) == pytest.approx(0.5)
    np.testing.assert_allclose(r @ [1.0, 0, 0], [math.cos(0.5), math.sin(0.5), 0], atol=1e-12)  # CCW from above
    t = geometry.pose_matrix(r, np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(t @ geometry.invert_pose(t), np.eye(4), atol=1e-12)


def test_look_at_centres_target_with_up_on_top() -> None:
    eye, target = np.array([4.0, -3.0, 2.5]), np.array([0.5, 0.2, 0.3])
    c2w = geometry.look_at(eye, target)
    px, z = geometry.project_world(K, c2w, np.stack([target, target + [0, 0, 0.5]]))
    np.testing.assert_allclose(px[0], K[:2, 2], atol=1e-9)
    assert z[0] == pytest.approx(np.linalg.norm(target - eye))
    assert px[1, 1] < px[0, 1]  # a point above the target appears higher in the image


@pytest.mark.parametrize("up", [[0.0, -1.0, 0.0], [0.3, -2.0, 0.5], [0.0, 0.0, 1.0], [0.0, 0.0, -3.0], [1e-14, 0.0, -1.0]])
def test_level_rotation_takes_up_to_z_and_keeps_the_perpendicular_axis(up):
    r = geometry.level_rotation(np.array(up))
    u = np.array(up) / np.linalg.norm(up)
    np.testing.assert_allclose(r @ u, [0, 0, 1], atol=1e-12)
    assert geometry.rotation_error(r) < 1e-12
    axis = np.cross(u, [0, 0, 1])
    if np.linalg.norm(axis) > 1e-9:  # the rotation axis (horizontal) is left where it was: shortest arc
        np.testing.assert_allclose(r @ axis, axis, atol=1e-12)
