"""The probe's auxiliary target: camera motion over a clip in the first camera's axes, from hand-built poses."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from fourdpqa.layout import scene_dir
from fourdpqa.probe.poses import TrainingMotion, clip_motion, read_camera_poses, view_poses
from tests.helpers.camera_poses import write_cameras

R0 = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # 90 degrees about world z


def pose(rotation: np.ndarray, position) -> np.ndarray:
    out = np.eye(4)
    out[:3, :3], out[:3, 3] = rotation, position
    return out


def yaw(theta: float) -> np.ndarray:
    """Rotation about the camera's y axis (OpenCV: down), i.e. a pan."""
    c, s = math.cos(theta), math.sin(theta)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


@pytest.fixture
def trajectory() -> np.ndarray:
    """3 poses: the camera moves 2 m along world x while panning by 0.2 rad, turned 90 degrees about z at the start."""
    return np.stack([pose(R0 @ yaw(0.1 * i), [i * 1.0, 0.0, 1.5]) for i in range(3)])


def test_motion_is_the_world_move_seen_from_the_first_camera(trajectory):
    m = clip_motion(trajectory)
    # world +x seen from a camera turned 90 degrees about z: its -y axis (R0^T @ x = -y)
    np.testing.assert_allclose(m[0:3], [0.0, -1.0, 0.0], atol=1e-6)  # middle pose
    np.testing.assert_allclose(m[3:6], [0.0, 0.1, 0.0], atol=1e-6)
    np.testing.assert_allclose(m[6:9], [0.0, -2.0, 0.0], atol=1e-6)  # last pose
    np.testing.assert_allclose(m[9:12], [0.0, 0.2, 0.0], atol=1e-6)


def test_a_mirrored_view_swaps_sideways_moves_pans_and_rolls():
    sideways = np.stack([pose(yaw(0.1 * i), [i * 1.0, 0.5 * i, 0.2 * i]) for i in range(3)])
    m, mirrored = clip_motion(sideways), clip_motion(view_poses(sideways, mirrored=True))
    flip = np.array([-1, 1, 1, 1, -1, -1] * 2)  # x translation, y and z rotation change sign
    np.testing.assert_allclose(mirrored, m * flip, atol=1e-6)


def test_a_reversed_view_moves_back_from_the_last_pose(trajectory):
    m = clip_motion(view_poses(trajectory, reversed_=True))
    # from the last camera (turned 0.2 rad further), the first lies 2 m back along world -x
    back = (R0 @ yaw(0.2)).T @ np.array([-2.0, 0.0, 0.0])
    np.testing.assert_allclose(m[6:9], back, atol=1e-6)
    np.testing.assert_allclose(m[9:12], [0.0, -0.2, 0.0], atol=1e-6)


def test_scene_poses_are_read_from_the_quaternions(tmp_path):
    write_cameras(tmp_path, "v1", 20)
    poses = read_camera_poses(tmp_path, "v1")
    assert poses.shape == (20, 4, 4)
    np.testing.assert_allclose(poses[7, :3, :3], R0, atol=1e-12)
    np.testing.assert_allclose(poses[7, :3, 3], [7.0, 0.0, 1.5])


def test_a_training_clip_uses_the_probes_sampled_frames_of_its_clip(tmp_path):
    write_cameras(tmp_path, "v1", 20)
    motion = TrainingMotion(tmp_path, frames=2)
    record = {"video_id": "v1", "clip_frames": list(range(10, 18))}
    # 2 frames out of 8: the centres of two halves, clip frames 12 and 16: 4 m along world x = camera -y
    np.testing.assert_allclose(motion(record)[6:9], [0.0, -4.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(motion(record, False, True)[6:9], [0.0, 4.0, 0.0], atol=1e-6)


def test_a_scene_with_missing_camera_frames_is_named(tmp_path):
    write_cameras(tmp_path, "v1", 5)
    path = scene_dir(tmp_path, "v1") / "cameras.parquet"
    pl.read_parquet(path).filter(pl.col("frame") != 2).write_parquet(path)
    with pytest.raises(ValueError, match=r"v1.*cameras.parquet.*not 0\.\.3"):
        read_camera_poses(tmp_path, "v1")
