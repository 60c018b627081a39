"""Time-reversed probe training views: the text of a clip played backwards names the opposite motion."""

from __future__ import annotations

import pytest

from fourdpqa.probe.data import reverse_text


@pytest.mark.parametrize(("text", "backwards"), [
    ("The camera moves forward and to the left while it pans right and tilts up",
     "The camera moves backward and to the right while it pans left and tilts down"),
    ("Does the camera roll to its left (the image rotating clockwise) during the video?",
     "Does the camera roll to its right (the image rotating counter-clockwise) during the video?"),
    ("It first increases, then decreases", "It first decreases, then increases"),
    ("Does the distance first increase and then decrease?", "Does the distance first decrease and then increase?"),
    ("It keeps increasing", "It keeps decreasing"),
    ("It stays about the same", "It stays about the same"),
    ("The red car moves away from the camera", "The red car moves toward the camera"),
])
def test_reverse_text_names_the_opposite_motion(text, backwards):
    assert reverse_text(text) == backwards
    assert reverse_text(backwards) == text
