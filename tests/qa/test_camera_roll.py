"""Camera roll is phrased from the viewer's side: on frames rendered by the procedural renderer, the picture turns
the way the camera-movement answer says ("the image rotates clockwise / counter-clockwise")."""

from __future__ import annotations

import numpy as np
import pytest

from fourdpqa import labels, motion
from fourdpqa.params import GenerateParams
from fourdpqa.questions.camera import describe_camera
from fourdpqa.sources.procedural import camera_poses, frame_times, intrinsics, object_poses, sample_video
from fourdpqa.sources.render import SceneRenderer
from fourdpqa.thresholds import LabelThresholds
from tests.test_motion import make_motion


def _screen_rotation_deg(a: np.ndarray, b: np.ndarray, centre: tuple[float, float]) -> float:
    """Mean change of the angle of each object's mask centroid about the image centre, from instance map ``a`` to
    ``b`` (H, W); image axes x right, y down, so a positive angle turns the picture clockwise on screen."""
    turns = []
    for oid in set(np.unique(a).tolist()) & set(np.unique(b).tolist()) - {0}:
        (ya, xa), (yb, xb) = (np.argwhere(m == oid).mean(0) for m in (a, b))
        angle_a = np.arctan2(ya - centre[1], xa - centre[0])
        angle_b = np.arctan2(yb - centre[1], xb - centre[0])
        turns.append(np.degrees(np.angle(np.exp(1j * (angle_b - angle_a)))))
    assert turns, "no object visible in both frames"
    return float(np.median(turns))


@pytest.mark.parametrize("seed", [3, 7, 10])  # roll of +33, -35, -26 degrees
def test_roll_phrase_matches_the_rendered_picture(seed):
    params = GenerateParams(n_frames=8, width=96, height=96, min_objects=4, max_objects=6,
                            camera_motion_mix={"roll": 1.0}, object_motion_mix={"static": 1.0})
    spec = sample_video(params, seed, 0)
    cams = camera_poses(spec.camera, spec.n_frames)
    poses = np.stack([object_poses(o, frame_times(spec.n_frames, spec.fps)) for o in spec.objects])
    renderer = SceneRenderer(spec)
    k = intrinsics(spec)
    first, last = (renderer.render(k, cams[t], poses[:, t]).instances for t in (0, spec.n_frames - 1))
    turn = _screen_rotation_deg(first, last, (k[0, 2], k[1, 2]))
    assert abs(turn) > 5, turn  # a roll of 15-40 degrees is plainly visible

    m = make_motion(cams)
    label = labels.camera_movement_label(motion.camera_levelled_track(m), motion.camera_rotation(m), LabelThresholds())
    assert label in ("roll left", "roll right")
    text = describe_camera(label)
    assert ("image rotates clockwise" in text) == (turn > 0)
    assert ("image rotates counter-clockwise" in text) == (turn < 0)
    # and the camera rolls to the side the picture turns away from
    assert ("rolls to its left" in text) == (turn > 0)
