"""The probe's shift-correlation layer measures where each image quadrant moves: a panning view moves every
quadrant alike, a zoom spreads them apart (checked on synthetic textures moved by a known amount)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from fourdpqa.probe.model import ShiftCorrelation

T = 8


@pytest.fixture(scope="module")
def texture() -> np.ndarray:
    rng = np.random.default_rng(0)
    return cv2.GaussianBlur(rng.integers(0, 255, (96, 96, 3)).astype(np.uint8), (5, 5), 1.5)


def shifts_of(frames: np.ndarray) -> np.ndarray:
    """(2 halves, 4 quadrants [top-left, top-right, bottom-left, bottom-right], (dx, dy)) of (T, S, S, 3) frames."""
    clip = torch.from_numpy(np.ascontiguousarray(frames.transpose(0, 3, 1, 2)))[None]
    return ShiftCorrelation()(clip).reshape(2, 4, 2).numpy()


def test_a_view_moving_down_moves_every_quadrant_up_by_the_pixels_it_moved(texture):
    frames = np.stack([texture[2 * t:64 + 2 * t, 8:72] for t in range(T)])  # content rises 2 px a frame at 64 px
    s = shifts_of(frames)
    # 3 frame pairs in the first half, 4 in the second; the layer works on the halved image: 1 px per pair
    np.testing.assert_allclose(s[0, :, 1], -3.0, atol=0.05)
    np.testing.assert_allclose(s[1, :, 1], -4.0, atol=0.05)
    np.testing.assert_allclose(s[..., 0], 0.0, atol=0.05)


def test_zooming_out_gathers_the_quadrants_towards_the_centre(texture):
    frames = np.stack([cv2.resize(texture[16 - 2 * t:80 + 2 * t, 16 - 2 * t:80 + 2 * t], (64, 64)) for t in range(T)])
    dx, dy = shifts_of(frames)[0, :, 0], shifts_of(frames)[0, :, 1]
    assert (dx[[0, 2]] > 0.05).all() and (dx[[1, 3]] < -0.05).all()  # left quadrants move right, right ones left
    assert (dy[[0, 1]] > 0.05).all() and (dy[[2, 3]] < -0.05).all()  # top ones move down, bottom ones up
