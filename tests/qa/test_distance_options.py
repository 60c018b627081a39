"""Distance-change MC options (types 2 and 7: 5 labels, 4 options) carry no text shortcut: an option's
correct-when-shown rate never exceeds the largest answer share (which assembly bounds), so an option's text is no
better a guess than "always answer the most common label"."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from fourdpqa.questions.base import mc_layout
from fourdpqa.questions.camera import CAM_OBJ_DISTANCE
from fourdpqa.questions.object_motion import OBJ_OBJ_CHANGE
from fourdpqa.labels import DISTANCE_CHANGE_LABELS

# answer labels of the default run's camera-object distance benchmark: steady changes common, turning ones rare
ANSWERS = ["increasing"] * 130 + ["constant"] * 130 + ["decreasing"] * 110 + ["increasing then decreasing"] * 50 \
    + ["decreasing then increasing"] * 20


@pytest.mark.parametrize("qt", [CAM_OBJ_DISTANCE, OBJ_OBJ_CHANGE], ids=lambda q: q.name)
def test_no_option_is_right_more_often_when_shown_than_the_top_answer_share(qt):
    rng = np.random.default_rng(0)
    shown, right = Counter(), Counter()
    for label in ANSWERS:
        options = mc_layout(rng, label, qt.distractors(label, {"objects": [1, 2]}, rng))
        assert len(options) == len(set(options)) == 4 and label in options and set(options) <= set(DISTANCE_CHANGE_LABELS)
        shown.update(options)
        right[label] += 1
    top_share = max(right.values()) / len(ANSWERS)  # 130 / 440
    rate = {lab: right[lab] / shown[lab] for lab in shown}
    assert max(rate.values()) <= top_share + 1e-9, rate  # a uniform 3 of 4 fillers: "increasing" 0.36
    # the steady labels are on offer in every question, so "is this option right" says no more than the answer share
    assert all(shown[lab] == len(ANSWERS) for lab in ("increasing", "decreasing", "constant"))
