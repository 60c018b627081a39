"""Oracle-2's own geometry against an independent library (scipy) and hand-built camera poses."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from fourdpqa.oracle2.geometry import (
    gravity_view_deg, level_frame, rigid_fit, rotation_from_quaternion, turn_deg,
)

UP = np.array([0.0, 0.0, 1.0])


def level_camera(yaw_deg: float) -> np.ndarray:
    """world_from_cam (3, 3) of a level OpenCV camera whose optical axis has compass heading ``yaw_deg``."""
    a = np.radians(yaw_deg)
    forward = np.array([np.cos(a), np.sin(a), 0.0])
    right = np.array([np.sin(a), -np.cos(a), 0.0])
    return np.stack([right, [0.0, 0.0, -1.0], forward], 1)


def test_quaternion_matches_scipy():
    q = np.random.default_rng(0).normal(size=(20, 4))  # (w, x, y, z), not normalised
    expected = Rotation.from_quat(q[:, [1, 2, 3, 0]]).as_matrix()
    assert np.allclose(rotation_from_quaternion(q), expected, atol=1e-12)


def test_rigid_fit_recovers_a_known_motion():
    rng = np.random.default_rng(1)
    r = Rotation.random(random_state=2).as_matrix()
    a = rng.normal(size=(7, 3))
    b = a @ r.T + np.array([0.3, -2.0, 1.0])
    got_r, got_t, residual = rigid_fit(a, b)
    assert np.allclose(got_r, r, atol=1e-9) and np.allclose(got_t, [0.3, -2.0, 1.0], atol=1e-9) and residual < 1e-9


@pytest.mark.parametrize("degrees", [-20.0, 15.0])
def test_pan_tilt_and_roll_have_their_documented_signs(degrees):
    """Pan = turn of the optical axis about gravity, tilt / roll = where gravity's up points in the camera's own
    axes; each elementary rotation (built with scipy about world axes) shows in its own angle only."""
    base = level_camera(30.0)
    forward, right = base[:, 2], base[:, 0]
    turn = Rotation.from_rotvec(np.radians(degrees) * UP).as_matrix()  # left turn when > 0
    pitch_up = Rotation.from_rotvec(np.radians(degrees) * right).as_matrix()  # nose up when > 0
    # clockwise as seen from behind the camera (looking along +forward): right side drops when > 0
    roll_cw = Rotation.from_rotvec(np.radians(degrees) * forward).as_matrix()
    poses = np.stack([base, turn @ base, pitch_up @ base, roll_cw @ base])
    pan = turn_deg(poses[:, :, 2], UP)
    pitch, roll = gravity_view_deg(np.einsum("tji,j->ti", poses, UP))
    assert np.allclose(pan, [0, degrees, 0, 0], atol=1e-9)
    assert np.allclose(pitch - pitch[0], [0, 0, degrees, 0], atol=1e-9)
    assert np.allclose(roll - roll[0], [0, 0, 0, degrees], atol=1e-9)


def test_turns_past_half_a_circle_add_up():
    angles = np.radians(np.arange(0, 400, 20))  # 380 degrees counter-clockwise in 20-degree steps
    vectors = np.stack([np.cos(angles), np.sin(angles), 0.3 + 0 * angles], -1)  # tilted up: only the heading counts
    assert turn_deg(vectors, UP)[-1] == pytest.approx(380.0)
    assert turn_deg(vectors[::-1], UP)[-1] == pytest.approx(-380.0)


def test_level_frame_of_a_tilted_camera_stays_horizontal():
    """A camera looking 40 degrees down towards world +y: seen from it, the levelled forward is world +y, left is
    world -x, up is world +z (all expressed in the camera's own axes)."""
    down = Rotation.from_rotvec(np.radians(-40) * level_camera(90.0)[:, 0]).as_matrix() @ level_camera(90.0)
    rows = level_frame(down.T @ UP)  # gravity in the camera's axes
    assert np.allclose(rows @ down.T, [[0, 1, 0], [-1, 0, 0], [0, 0, 1]], atol=1e-9)
