"""Clip windows and object references: every reference is visible and unambiguous in its frame."""

from __future__ import annotations

import numpy as np
import pytest

from fourdpqa.motion import clip_motion
from fourdpqa.params import LabelThresholds
from fourdpqa.sampling import caption_text, clip_windows, make_reference
from tests.qa.conftest import N_T, build_scene, cam_track, obj_track

TH = LabelThresholds(min_object_pixels=4)


def test_clip_windows():
    rng = np.random.default_rng(0)
    wins = clip_windows(48, 32, 1, 3, rng)
    assert len(wins) == 3 and all(len(w) == 32 and w[-1] < 48 and (np.diff(w) == 1).all() for w in wins)
    assert len({int(w[0]) for w in wins}) == 3
    assert all((np.diff(w) == 2).all() for w in clip_windows(40, 16, 2, 2, rng))
    assert all((np.diff(w) == 1).all() for w in clip_windows(20, 16, 4, 2, rng))  # stride reduced to fit
    with pytest.raises(ValueError, match="fewer than"):
        clip_windows(10, 16, 1, 1, rng)


def test_caption_text():
    assert caption_text("A red car") == "the red car" and caption_text("the blue box") == "the blue box"


def test_references_are_unambiguous():
    # object 2 stands right behind object 1 (seen overlapping); object 3 is alone
    cams = cam_track((0, 0, 1.5), velocity=(0, 0, 0))
    objs = [((0.6, 0.6, 0.6), obj_track((6, 0.0, 0.3))), ((0.6, 2.0, 1.6), obj_track((7.5, 0.5, 0.8))),
            ((0.6, 0.6, 0.6), obj_track((6, -2.5, 0.3)))]
    scene = build_scene(cams, objs, captions=["red box", "red box", "green box"])
    m = clip_motion(scene, np.arange(N_T))
    assert make_reference(scene, m, 1, "caption", None, 1, TH, False) is None  # duplicate caption
    assert make_reference(scene, m, 3, "caption", None, 1, TH, False).text == "the green box"
    # a circle around object 1 would enclose much of the big object 2 behind it; its tight box does not
    assert make_reference(scene, m, 1, "circle", 0, 1, TH, False) is None
    assert make_reference(scene, m, 3, "circle", 0, 1, TH, False) is not None
    tight = make_reference(scene, m, 1, "box_mark", 0, 1, TH, True)
    bx0, by0, bx1, by1 = (round(v * s) for v, s in zip(tight.marks[0]["box"], (64, 48, 64, 48)))
    inside = scene.instances[0, by0:by1, bx0:bx1]
    assert (inside == 2).sum() <= 0.25 * (inside == 1).sum()
    box = make_reference(scene, m, 3, "box_mark", 5, 2, TH, True)
    assert box.frame == 0 and box.marks[0]["label"] == "2" and box.text == "object 2 (boxed in frame 0)"
    x0, y0, x1, y1 = box.marks[0]["box"]
    h, w = scene.meta.height, scene.meta.width
    ys, xs = np.nonzero(scene.instances[0] == 3)
    assert (x0, y0, x1, y1) == (round(xs.min() / w, 3), round(ys.min() / h, 3), round((xs.max() + 1) / w, 3), round((ys.max() + 1) / h, 3))
    pix = make_reference(scene, m, 1, "pixel", 4, 1, TH, False)  # a pixel is unambiguous even when overlapped
    x, y = (float(v) for v in pix.text.split("(")[1].split(")")[0].split(", "))
    assert scene.instances[4, round(y * h - 0.5), round(x * w - 0.5)] == 1
