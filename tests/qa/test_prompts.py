"""Visual marks land where the record says, at any resolution, and only on their frame."""

from __future__ import annotations

import numpy as np

from fourdpqa.prompts import BOX_COLOR, CIRCLE_COLOR, draw_marks


def test_circle_and_box_positions_and_frames():
    marks = [{"kind": "circle", "frame": 2, "xy": [0.5, 0.5], "radius": 0.25, "label": ""},
             {"kind": "box", "frame": 0, "box": [0.25, 0.25, 0.75, 0.5], "label": ""}]
    for size in (64, 128):
        img = np.zeros((size, size, 3), np.uint8)
        assert (draw_marks(img, marks, 1) == 0).all()  # no mark on frame 1
        out = draw_marks(img, marks, 2)
        red = np.argwhere((out == CIRCLE_COLOR).all(-1))
        dist = np.hypot(red[:, 0] - (size / 2 - 0.5), red[:, 1] - (size / 2 - 0.5))
        assert len(red) and np.abs(dist - 0.25 * size).max() <= 1.5 + size / 160
        box = np.argwhere((draw_marks(img, marks, 0) == BOX_COLOR).all(-1))
        assert box[:, 1].min() == size // 4 and box[:, 1].max() == 3 * size // 4 - 1
        assert box[:, 0].min() == size // 4 and box[:, 0].max() == size // 2 - 1
    assert (img == 0).all()  # input untouched


def test_typed_mark_with_label():
    img = np.zeros((96, 96, 3), np.uint8)
    typed = {"kind": "box", "frame": 0, "label": "1", "xy": None, "radius": None, "box": [0.4, 0.4, 0.9, 0.9]}
    out = draw_marks(img, [typed], 0)  # a row of the typed marks column: the circle fields are null
    assert (out != 0).any(-1).sum() > (draw_marks(img, [{"kind": "box", "frame": 0, "box": [0.4, 0.4, 0.9, 0.9], "label": ""}], 0) != 0).any(-1).sum()
