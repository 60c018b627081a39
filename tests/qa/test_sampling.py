"""Clip windows and object references: every reference is visible and unambiguous in its frame."""

from __future__ import annotations

import numpy as np
import pytest

from fourdpqa.motion import clip_motion
from fourdpqa.prompts import marks_overlap
from fourdpqa.sampling import caption_text, clip_windows, make_reference, refer, unambiguous
from fourdpqa.thresholds import LabelThresholds
from tests.qa.conftest import N_T, build_scene, cam_track, obj_track

TH = LabelThresholds(min_object_pixels=4)


def test_clip_windows():
    rng = np.random.default_rng(0)
    wins = clip_windows(48, 32, 1, 3, rng)
    assert len(wins) == 3 and all(len(w) == 32 and w[-1] < 48 and (np.diff(w) == 1).all() for w in wins)
    assert len({int(w[0]) for w in wins}) == 3
    assert all((np.diff(w) == 2).all() for w in clip_windows(40, 16, 2, 2, rng))
    assert all((np.diff(w) == 1).all() for w in clip_windows(20, 16, 4, 2, rng))  # stride reduced to fit
    for n in (1, 2, 10):  # a video shorter than a clip is one clip of all its frames
        assert [w.tolist() for w in clip_windows(n, 16, 1, 3, rng)] == [list(range(n))]
    assert [w.tolist() for w in clip_windows(5, 1, 1, 5, rng)] == [[0], [1], [2], [3], [4]]


@pytest.mark.parametrize("n_frames,clip,stride,overlap,count,expected", [
    (48, 32, 1, 0.0, 3, 1), (96, 32, 1, 0.0, 3, 3), (100, 32, 1, 0.0, 5, 3), (64, 16, 2, 0.0, 3, 2),
    (48, 32, 1, 0.5, 3, 2), (48, 32, 1, 1.0, 3, 3),
])
def test_clip_windows_respect_the_overlap_share(n_frames, clip, stride, overlap, count, expected):
    """No two windows share more than ``overlap`` of their time span (0 = disjoint: independent facts)."""
    for seed in range(20):
        wins = clip_windows(n_frames, clip, stride, count, np.random.default_rng(seed), overlap)
        assert len(wins) == expected
        spans = sorted((int(w[0]), int(w[-1])) for w in wins)
        assert all(0 <= a and b < n_frames for a, b in spans)
        span = spans[0][1] - spans[0][0] + 1
        for (a0, b0), (a1, b1) in zip(spans, spans[1:]):
            shared = max(0, b0 - a1 + 1)
            assert shared <= overlap * span, (spans, shared)


def test_mark_share_rule_on_constructed_masks():
    """A mark may hold at most 10% of any other object's visible pixels (counted here by hand)."""
    inst = np.zeros((20, 20), np.uint16)
    inst[2:12, 2:12] = 1  # target, 100 px
    inst[14:19, 2:12] = 2  # other object, 50 px
    region = np.zeros((20, 20), bool)
    region[1:13, 1:13] = True
    assert unambiguous(inst, region, 1, 0.1)
    region[13:15, 1:13] = True  # now 10 of object 2's 50 px (20 %) are inside
    assert (inst[region] == 2).sum() == 10 and not unambiguous(inst, region, 1, 0.1)
    assert unambiguous(inst, region, 1, 0.25)


def test_nested_circle_is_rejected():
    """A small box standing in front of a wide one: a circle around the wide box would enclose the small one
    entirely, so it is rejected; the small box's own circle holds almost nothing of the wide one."""
    cams = cam_track((0, 0, 1.5), velocity=(0, 0, 0))
    objs = [((0.5, 8.0, 3.0), obj_track((9, 0.0, 1.5))), ((0.8, 0.8, 0.8), obj_track((5, 0.2, 0.9)))]
    scene = build_scene(cams, objs, captions=["wall", "cube"], width=128, height=96)
    m = clip_motion(scene, np.arange(N_T))
    h, w = scene.meta.height, scene.meta.width
    inst = scene.instances[0]
    assert make_reference(scene, m, 1, "circle", 0, 1, TH, False) is None
    small = make_reference(scene, m, 2, "circle", 0, 1, TH, False)
    assert small is not None
    # independent check of the accepted mark: rasterise its disc and count the wide box's pixels inside
    (xn, yn), r = small.marks[0]["xy"], small.marks[0]["radius"] * max(h, w)
    yy, xx = np.mgrid[:h, :w]
    disc = (xx - (xn * w - 0.5)) ** 2 + (yy - (yn * h - 0.5)) ** 2 <= r * r
    assert (inst[disc] == 2).sum() == (inst == 2).sum()
    assert (inst[disc] == 1).sum() <= 0.1 * (inst == 1).sum()
    assert (inst[disc] == 2).sum() > (inst[disc] == 1).sum()


def test_a_mark_holding_more_of_another_object_than_of_its_target_is_rejected():
    """Issue 24.5: 10% of a big neighbour can outnumber a small target inside its mark (counted here by hand)."""
    inst = np.zeros((40, 40), np.uint16)
    inst[:, 20:] = 2  # a wall: 800 px
    inst[10:15, 14:19] = 1  # a small target: 25 px, just in front of it
    region = np.zeros((40, 40), bool)
    region[8:17, 12:24] = True  # holds the target and 9 x 4 = 36 px of the wall (4.5 % of it)
    assert (inst[region] == 2).sum() == 36 <= 0.1 * 800 and (inst[region] == 1).sum() == 25
    assert not unambiguous(inst, region, 1, 0.1)
    region[:, 20:] = False  # the mark stops short of the wall: the target is all it holds
    assert unambiguous(inst, region, 1, 0.1)


def test_marks_of_one_question_never_overlap():
    circle = {"kind": "circle", "frame": 0, "xy": [0.5, 0.5], "radius": 0.2, "label": "1"}
    inner = {"kind": "circle", "frame": 0, "xy": [0.52, 0.5], "radius": 0.05, "label": "2"}
    far = {"kind": "circle", "frame": 0, "xy": [0.1, 0.9], "radius": 0.05, "label": "2"}
    assert marks_overlap([circle, inner], 448, 448)  # nested circles
    assert not marks_overlap([circle, far], 448, 448)
    assert not marks_overlap([circle, dict(inner, frame=3)], 448, 448)  # different frames are different pictures
    # circle 2 clear of circle 1, but circle 1's number label (drawn up-right of it) sits on circle 2
    label_hit = {"kind": "circle", "frame": 0, "xy": [0.66, 0.33], "radius": 0.02, "label": "2"}
    assert np.hypot(0.16, 0.17) > 0.2 + 0.02 and marks_overlap([circle, label_hit], 448, 448)
    box_a = {"kind": "box", "frame": 0, "box": [0.1, 0.1, 0.3, 0.3], "label": "1"}
    box_b = {"kind": "box", "frame": 0, "box": [0.29, 0.5, 0.5, 0.7], "label": "2"}
    assert not marks_overlap([box_a, box_b], 448, 448)
    assert marks_overlap([box_a, dict(box_b, box=[0.25, 0.25, 0.5, 0.7])], 448, 448)


def test_refer_falls_back_when_marks_would_overlap():
    """Two boxes side by side: their circles would touch, so a circle-only mix finds no reference and a mix with
    captions falls back to captions."""
    cams = cam_track((0, 0, 1.5), velocity=(0, 0, 0))
    objs = [((0.6, 0.6, 0.6), obj_track((6, 0.35, 0.3))), ((0.6, 0.6, 0.6), obj_track((6, -0.35, 0.3)))]
    scene = build_scene(cams, objs, captions=["red box", "blue box"])
    m = clip_motion(scene, np.arange(N_T))
    rng = np.random.default_rng(0)
    assert refer(scene, m, [1, 2], [0, 0], rng, {"circle": 1.0}, TH, (448, 448)) is None
    refs = refer(scene, m, [1, 2], [0, 0], rng, {"circle": 0.9, "caption": 0.1}, TH, (448, 448))
    assert [r.mode for r in refs] == ["caption", "caption"]


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
    # a circle around object 1 would enclose much of the big object 2 behind it
    assert make_reference(scene, m, 1, "circle", 0, 1, TH, False) is None
    assert make_reference(scene, m, 3, "circle", 0, 1, TH, False) is not None
    tight = make_reference(scene, m, 1, "box_mark", 0, 1, TH, True)
    if tight is not None:  # a box is kept only if it holds at most 10% of object 2's visible pixels (recounted)
        bx0, by0, bx1, by1 = (round(v * s) for v, s in zip(tight.marks[0]["box"], (64, 48, 64, 48)))
        assert (scene.instances[0, by0:by1, bx0:bx1] == 2).sum() <= 0.1 * (scene.instances[0] == 2).sum()
    box = make_reference(scene, m, 3, "box_mark", 5, 2, TH, True)
    assert box.frame == 0 and box.marks[0]["label"] == "2" and box.text == "object 2 (boxed in frame 0)"
    x0, y0, x1, y1 = box.marks[0]["box"]
    h, w = scene.meta.height, scene.meta.width
    ys, xs = np.nonzero(scene.instances[0] == 3)  # the object's tight box, one pixel of margin around it
    expected = (max(xs.min() - 1, 0) / w, max(ys.min() - 1, 0) / h, min(xs.max() + 2, w) / w, min(ys.max() + 2, h) / h)
    assert (x0, y0, x1, y1) == tuple(round(v, 3) for v in expected)
    pix = make_reference(scene, m, 1, "pixel", 4, 1, TH, False)  # a pixel is unambiguous even when overlapped
    x, y = (float(v) for v in pix.text.split("(")[1].split(")")[0].split(", "))
    assert scene.instances[4, round(y * h - 0.5), round(x * w - 0.5)] == 1
