"""Label functions on constructed motions: clear motion -> its label, small motion -> none, borderline -> None."""

from __future__ import annotations

import numpy as np
import pytest

from fourdpqa import labels, motion
from fourdpqa.geometry import look_at
from fourdpqa.labels import NONE, STATIC
from fourdpqa.params import LabelThresholds
from tests.test_motion import looking, make_motion

TH = LabelThresholds()  # translation none/some 0.15/0.4 m, rotation 4/12 deg, distance change 5%/15%


def ramp(total: float, n: int = 10) -> np.ndarray:
    return np.linspace(0, total, n)


def camera_label(cams: np.ndarray) -> str | None:
    m = make_motion(cams)
    return labels.camera_movement_label(motion.camera_local_track(m), motion.camera_rotation(m), TH)


def test_camera_dolly_forward_two_metres():
    axis = np.array([1, 0, -0.4]) / np.linalg.norm([1, 0, -0.4])  # looking down; dolly = along the optical axis
    cams = np.stack([looking(np.array([0, 0, 2.0]) + s * axis, axis) for s in ramp(2.0)])
    assert camera_label(cams) == "forward"


def test_camera_pedestal_up_on_a_tilted_camera():
    cams0 = looking([0, 0, 2.0], [1, 0, -0.4])
    up_in_image = -cams0[:3, 1]  # camera -y
    cams = np.stack([looking(np.array([0, 0, 2.0]) + s * up_in_image, [1, 0, -0.4]) for s in ramp(1.5)])
    assert camera_label(cams) == "up"


def test_camera_small_motion_is_static_and_margin_is_unlabelled():
    small = np.stack([looking([x, 0, 1.5], [1, 0, 0]) for x in ramp(0.5 * TH.translation_none_m)])
    assert camera_label(small) == STATIC
    middle = np.stack([looking([0, y, 1.5], [1, 0, 0]) for y in ramp(0.5 * (TH.translation_none_m + TH.translation_some_m))])
    assert camera_label(middle) is None


def test_camera_truck_right_with_pan_left():
    # heading +x; right = -y. Pan left: yaw grows.
    cams = np.stack([looking([0, -y, 1.5], [np.cos(a), np.sin(a), 0]) for y, a in zip(ramp(1.0), ramp(np.radians(30)))])
    assert camera_label(cams) == "right+pan left"


def test_camera_back_and_forth_is_unlabelled():
    xs = np.concatenate([ramp(1.0, 6), ramp(1.0, 6)[::-1][1:] + 0.0])  # goes 1 m forward and back
    cams = np.stack([looking([x, 0, 1.5], [1, 0, 0]) for x in xs])
    assert camera_label(cams) is None


@pytest.mark.parametrize("series,expected", [
    (1 + ramp(0.5), "increasing"),
    (1 - ramp(0.5), "decreasing"),
    (1 + ramp(0.02), "constant"),
    (1 + ramp(0.1), None),  # 10 %: between 5 % and 15 %
    (np.concatenate([1 + ramp(0.5, 6), 1.5 - ramp(0.5, 6)[1:]]), "increasing then decreasing"),
    (np.concatenate([1 - ramp(0.4, 6), 0.6 + ramp(0.4, 6)[1:]]), "decreasing then increasing"),
])
def test_distance_change(series, expected):
    assert labels.distance_change_label(series, TH) == expected


@pytest.mark.parametrize("total,expected", [(30, "counter-clockwise"), (-30, "clockwise"), (2, NONE), (8, None)])
def test_rotation_top_down(total, expected):
    assert labels.rotation_label(ramp(total), TH) == expected


@pytest.mark.parametrize("fwd,left,expected", [
    (1.0, 0.0, "away from the camera"), (-1.0, 0.05, "toward the camera"), (0.1, 1.0, "left"),
    (0.0, -1.0, "right"), (1.0, 1.0, None), (0.05, 0.05, NONE), (0.25, 0.0, None),
])
def test_direction(fwd, left, expected):
    track = np.stack([ramp(fwd), ramp(left), np.zeros(10)], -1)
    assert labels.direction_label(track, TH) == expected


@pytest.mark.parametrize("disp,expected", [
    ((1.0, 0.0, 0), "forward"), ((-1.0, 0.1, 0), "backward"), ((0.0, 1.0, 0), None), ((0.05, 0, 0), NONE), ((0.3, 0, 0), None),
])
def test_agent_motion(disp, expected):
    assert labels.agent_motion_label(np.array(disp), TH) == expected


def test_agent_turn_and_compare():
    assert labels.agent_turn_label(ramp(40), TH) == "left"
    assert labels.agent_turn_label(ramp(-40), TH) == "right"
    assert labels.agent_turn_label(ramp(1), TH) == "straight"
    assert labels.compare_label(1.0, 2.0, 0.15) == "less"
    assert labels.compare_label(2.0, 1.0, 0.15) == "greater"
    assert labels.compare_label(1.0, 1.1, 0.15) is None


def test_camera_component_helpers():
    assert labels.opposite("pan left") == "pan right"
    assert labels.camera_axis_of("roll clockwise") == 5
    assert labels.camera_components("forward+tilt up") == ["forward", "tilt up"]
    assert look_at is not None
