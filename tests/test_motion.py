"""Motion measurements on hand-built poses with known answers (sign conventions are the easiest thing to get wrong)."""

from __future__ import annotations

import numpy as np
import pytest

from fourdpqa import motion
from fourdpqa.geometry import axis_angle_to_quat, look_at, pose_matrix, quat_to_matrix, yaw_to_quat
from fourdpqa.motion import ClipMotion


def make_motion(cam: np.ndarray, objs: list[np.ndarray] | None = None, fps: float = 10.0) -> ClipMotion:
    objs = objs or []
    t = len(cam)
    return ClipMotion(
        video_id="v", source="toy", frames=np.arange(t), times=np.arange(t) / fps,
        cam_pos=cam[:, :3, 3], cam_rot=cam[:, :3, :3], object_ids=list(range(1, len(objs) + 1)),
        obj_pos=np.stack([o[:, :3, 3] for o in objs]) if objs else np.zeros((0, t, 3)),
        obj_rot=np.stack([o[:, :3, :3] for o in objs]) if objs else np.zeros((0, t, 3, 3)),
        visible=np.ones((len(objs), t)), pixels=np.full((len(objs), t), 100),
    )


def looking(eye, direction) -> np.ndarray:
    return look_at(np.asarray(eye, float), np.asarray(eye, float) + np.asarray(direction, float))


def test_camera_angles_signs():
    base = looking([0, 0, 1], [1, 0, 0])
    # pan left = turn the optical axis counter-clockwise seen from above
    left = looking([0, 0, 1], [np.cos(0.3), np.sin(0.3), 0])
    up = looking([0, 0, 1], [np.cos(0.2), 0, np.sin(0.2)])
    # roll clockwise seen from behind: rotate about the camera's own +z (x axis turns towards y = down)
    roll_r = quat_to_matrix(axis_angle_to_quat(np.array([0.0, 0.0, 1.0]), np.array(0.25)))
    rolled = base.copy()
    rolled[:3, :3] = base[:3, :3] @ roll_r
    ang = motion.camera_angles(np.stack([base, left, up, rolled])[:, :3, :3])
    ang = ang - ang[0]
    np.testing.assert_allclose(ang[1], [np.degrees(0.3), 0, 0], atol=1e-6)
    np.testing.assert_allclose(ang[2], [0, np.degrees(0.2), 0], atol=1e-6)
    np.testing.assert_allclose(ang[3], [0, 0, np.degrees(0.25)], atol=1e-6)


def test_camera_translation_heading_vs_first_camera():
    # camera pitched 30 degrees down, moving 2 m horizontally along its heading
    d = [np.cos(np.radians(30)), 0, -np.sin(np.radians(30))]
    cams = np.stack([looking([x, 0, 2], d) for x in np.linspace(0, 2, 5)])
    tr = motion.camera_translation(make_motion(cams))
    np.testing.assert_allclose(tr["heading"], [2, 0, 0], atol=1e-9)
    # in the down-tilted camera frame the same motion has an "up" (-y, towards the image top) component of 1 m
    np.testing.assert_allclose(tr["first_cam"], [0, -2 * np.sin(np.radians(30)), 2 * np.cos(np.radians(30))], atol=1e-9)


def test_own_frame_displacement_and_frames():
    # object facing +y (yaw 90 deg, north) moving along world -x (west): that is to its left, own +y
    t = np.arange(6)
    poses = pose_matrix(yaw_to_quat(np.full(6, np.pi / 2)), np.stack([-0.2 * t, np.zeros(6), np.zeros(6) + 0.5], -1))
    cams = np.stack([looking([-5, -5, 1], [1, 1, 0])] * 6)
    m = make_motion(cams, [poses])
    np.testing.assert_allclose(motion.own_frame_displacement(m, 1), [0, 1.0, 0], atol=1e-9)
    np.testing.assert_allclose(motion.object_positions(m, 1, "world")[-1], [-1.0, 0, 0.5])
    cam_frame = motion.object_positions(m, 1, "camera")
    # consistent with projecting through the inverse pose
    expect = (poses[:, :3, 3] - cams[:, :3, 3]) @ cams[0, :3, :3]
    np.testing.assert_allclose(cam_frame, expect, atol=1e-9)


def test_path_length_speed_and_distances():
    t = np.arange(5)
    a = pose_matrix(yaw_to_quat(np.zeros(5)), np.stack([0.3 * t, 0 * t, 0 * t + 0.5], -1))
    b = pose_matrix(yaw_to_quat(np.zeros(5)), np.stack([0 * t + 3.0, 0 * t, 0 * t + 0.5], -1))
    cams = np.stack([looking([0, -4, 1], [0, 1, 0])] * 5)
    m = make_motion(cams, [a, b], fps=10)
    assert motion.path_length(m.obj_pos[0]) == pytest.approx(1.2)
    np.testing.assert_allclose(motion.speeds(m.obj_pos[0], m.times), 3.0)
    np.testing.assert_allclose(motion.object_object_distance(m, 1, 2), 3.0 - 0.3 * t)
    s = motion.summarise(m)
    assert s["objects"]["1"]["mean_speed_mps"] == pytest.approx(3.0)
    assert s["pairs"]["1-2"] == [3.0, 1.8]
    assert set(s["camera"]) == {"translation_first_cam", "translation_heading", "translation_fwd_left_up", "rotation_deg",
                                "path_length_m", "mean_speed_mps"}


def test_object_yaw_unwraps():
    yaw = np.linspace(0, 3 * np.pi, 20)  # 540 degrees counter-clockwise
    r = quat_to_matrix(yaw_to_quat(yaw))
    got = motion.object_yaw_deg(r)
    assert got[-1] - got[0] == pytest.approx(540.0)
