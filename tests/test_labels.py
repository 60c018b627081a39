"""Label functions on constructed motions: clear motion -> its label, small motion -> none, borderline -> None."""

from __future__ import annotations

import numpy as np
import pytest

from fourdpqa import labels, motion
from fourdpqa.geometry import look_at
from fourdpqa.labels import NONE, STATIC
from fourdpqa.thresholds import LabelThresholds
from tests.test_motion import looking, make_motion

TH = LabelThresholds()  # translation none/some 0.15/0.4 m, rotation 4/12 deg, distance change 5%/15%


def ramp(total: float, n: int = 10) -> np.ndarray:
    return np.linspace(0, total, n)


def camera_label(cams: np.ndarray, th: LabelThresholds = TH) -> str | None:
    m = make_motion(cams)
    return labels.camera_movement_label(motion.camera_levelled_track(m), motion.camera_rotation(m), th)


def test_camera_dolly_along_a_level_axis_is_forward():
    cams = np.stack([looking([x, 0, 2.0], [1, 0, 0]) for x in ramp(2.0)])
    assert camera_label(cams) == "forward"


def test_camera_translation_is_levelled_like_rotation():
    """Translation is named in the gravity-levelled first-camera frame: a dolly along a downward-looking optical
    axis also descends (2 m along a 21.8 deg slope: 1.86 m forward, 0.74 m down); a pedestal along the tilted
    image-up vector leans forward; an orbit about the vertical keeps its height, so it is never "up"."""
    axis = np.array([1, 0, -0.4]) / np.linalg.norm([1, 0, -0.4])
    assert camera_label(np.stack([looking(np.array([0, 0, 2.0]) + s * axis, axis) for s in ramp(2.0)])) == "forward+down"
    up_in_image = -looking([0, 0, 2.0], axis)[:3, 1]  # camera -y, tilted forward by 21.8 deg
    assert camera_label(np.stack([looking(np.array([0, 0, 2.0]) + s * up_in_image, axis) for s in ramp(1.5)])) == "forward+up"
    # orbit 40 deg about a target 6 m ahead while looking down at it: height constant, so no up/down component
    target = np.array([6.0, 0.0, 0.0])
    eyes = [target + 6 * np.array([-np.cos(a), -np.sin(a), 0.0]) + [0, 0, 2.4] for a in ramp(np.radians(40))]
    orbit = np.stack([looking(e, target - e) for e in eyes])
    m = make_motion(orbit)
    assert np.abs(motion.camera_levelled_track(m)[:, 2]).max() < 1e-9
    lab = camera_label(orbit)
    assert lab is not None and "up" not in lab.split("+") and "down" not in lab.split("+") and "pan left" in lab


def test_translation_thresholds_relative_to_median_depth():
    """With ``translation_scale: median_depth`` a 1 m move is "some" in a 2 m room and "none" in a 40 m street."""
    th = LabelThresholds(translation_scale="median_depth", translation_none_m=0.05, translation_some_m=0.2)
    cams = np.stack([looking([x, 0, 1.5], [1, 0, 0]) for x in ramp(1.0)])
    assert camera_label(cams, labels.scale_translation(th, 2.0)) == "forward"
    assert camera_label(cams, labels.scale_translation(th, 40.0)) == STATIC
    assert labels.scale_translation(TH, 40.0) is TH


def test_agents_are_categories_with_intent():
    assert labels.is_agent("person", TH) and labels.is_agent("Car", TH) and labels.is_agent("dog", TH)
    assert not labels.is_agent("chair", TH) and not labels.is_agent("box", TH)
    assert labels.is_agent("forklift", LabelThresholds(agent_categories=["forklift"]))


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
    assert labels.camera_axis_of("roll right") == 5 and labels.opposite("roll right") == "roll left"
    assert labels.camera_components("forward+tilt up") == ["forward", "tilt up"]
    assert look_at is not None
