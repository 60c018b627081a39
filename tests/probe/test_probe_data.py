"""Probe training views: the text of a clip played backwards names the opposite motion, and each view carries
its own camera-motion target."""

from __future__ import annotations

import cv2
import numpy as np
import polars as pl
import pytest

from fourdpqa.probe.data import Vocabulary, build_arrays, reverse_text
from fourdpqa.probe.flow_features import FLOW_DIM


@pytest.mark.parametrize(("text", "backwards"), [
    ("The camera moves forward and to the left while it pans right and tilts up",
     "The camera moves backward and to the right while it pans left and tilts down"),
    ("Does the camera roll to its left (the image rotating clockwise) during the video?",
     "Does the camera roll to its right (the image rotating counter-clockwise) during the video?"),
    ("It first increases, then decreases", "It first increases, then decreases"),  # a peak stays a peak
    ("Does the distance first decrease and then increase?", "Does the distance first decrease and then increase?"),
    ("It keeps increasing", "It keeps decreasing"),
    ("It stays about the same", "It stays about the same"),
    ("The red car moves away from the camera", "The red car moves toward the camera"),
])
def test_reverse_text_names_the_opposite_motion(text, backwards):
    assert reverse_text(text) == backwards
    assert reverse_text(backwards) == text


def test_a_distance_that_peaks_still_peaks_when_played_backwards():
    """d = 1, 3, 2 (up, then down) reversed is 2, 3, 1: still up, then down; a monotonic rise becomes a fall."""
    d = [1.0, 3.0, 2.0]
    def label(x: list[float]) -> str:
        up = x[1] > x[0]
        return "It first increases, then decreases" if up and x[2] < x[1] else "It keeps decreasing"
    assert reverse_text(label(d)) == label(d[::-1])
    assert reverse_text("It keeps increasing") == "It keeps decreasing"


def test_reverse_text_counts_a_named_frame_from_the_other_end():
    q = "How does the distance to the circled object in frame 12 change from the first to the last frame?"
    assert reverse_text(q, 32) == q.replace("frame 12", "frame 19")
    assert reverse_text(reverse_text(q, 32), 32) == q


def test_every_training_view_gets_the_camera_motion_of_that_view(tmp_path):
    """The auxiliary target follows the view: mirrored and reversed copies ask for their own motion."""
    frames = []
    for i in range(4):
        rel = f"clips/a/{i}.jpg"
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(tmp_path / rel), np.full((32, 32, 3), 40 * i, np.uint8))
        frames.append(rel)
    rows = [{"id": "r1", "question_name": "camera_movement", "answer_format": "yn", "question": "Does the camera pan left?",
             "options": ["yes", "no"], "answer": "yes", "frames": frames},
            {"id": "r2", "question_name": "depth", "answer_format": "yn", "question": "Is it near?",
             "options": ["yes", "no"], "answer": "no", "frames": frames}]
    asked = []

    def motion_of(record: dict, mirrored: bool, reversed_: bool) -> np.ndarray:
        asked.append((record["id"], mirrored, reversed_))
        return np.array([float(mirrored), float(reversed_)], np.float32)

    df = pl.DataFrame(rows)
    vocab = Vocabulary(df["question"].to_list())
    groups = {"camera_movement/yn": 0, "depth/yn": 1}
    a = build_arrays(df, tmp_path, vocab, groups, 4, 16, mirrored=True, reversed_=True, motion_of=motion_of, motion_dim=2)
    # camera_movement is reversible: 4 views; depth is not: plain and mirrored only
    assert asked == [("r1", False, False), ("r1", True, False), ("r1", False, True), ("r1", True, True),
                     ("r2", False, False), ("r2", True, False)]
    np.testing.assert_array_equal(a.motion, [[0, 0], [1, 0], [0, 1], [1, 1], [0, 0], [1, 0]])
    np.testing.assert_array_equal(a.clips[a.view[2]], a.clips[a.view[0]][::-1])  # the reversed view runs backwards
    assert a.yes_no.all() and a.flow.shape == (6, FLOW_DIM)
    # each distinct view is built once: r2's plain and mirrored views are r1's
    assert len(a.clips) == 4 and a.view.tolist() == [0, 1, 2, 3, 0, 1]
    np.testing.assert_array_equal(a.flow[4:], a.flow[:2])
    unknown = build_arrays(df, tmp_path, vocab, groups, 4, 16, motion_dim=2)
    assert np.isnan(unknown.motion).all()  # benchmark rows: no target
