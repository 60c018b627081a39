"""The probe's flow stream reads how the picture moved: a known shift or zoom, checked against the pixels moved."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fourdpqa.probe.flow_features import FLOW_DIM, GRID, PAIR_DIM, clip_flow

W = 64


@pytest.fixture(scope="module")
def texture() -> np.ndarray:
    rng = np.random.default_rng(0)
    big = cv2.GaussianBlur(rng.integers(0, 255, (3 * W, 3 * W, 3)).astype(np.uint8), (5, 5), 1.5)
    return big


def shifted(texture: np.ndarray, dx: int, dy: int, t: int = 8) -> np.ndarray:
    """(t, W, W, 3): a window over ``texture`` whose content moves (dx, dy) pixels per frame."""
    return np.stack([texture[W - i * dy:2 * W - i * dy, W - i * dx:2 * W - i * dx] for i in range(t)])


def test_content_moving_right_reads_as_that_many_pixels_per_pair_in_every_cell(texture):
    feats = clip_flow(shifted(texture, 2, 0))
    assert feats.shape == (FLOW_DIM,)
    first, second = feats[:PAIR_DIM], feats[PAIR_DIM:]
    for half, pairs in ((first, 3), (second, 4)):  # 7 pairs: 3 in the first half, 4 in the second
        assert half[0] == pytest.approx(pairs * 2 / W, rel=0.15)  # affine shift du, in image widths
        assert abs(half[3]) < 0.1 * pairs * 2 / W  # no vertical shift
        cells = half[6:].reshape(GRID, GRID, 2)
        np.testing.assert_allclose(cells[..., 0], pairs * 2 / W, rtol=0.2)


def test_a_mirrored_clip_moves_the_other_way_and_a_reversed_one_back(texture):
    clip = shifted(texture, 0, 2)
    down = clip_flow(clip)
    assert down[3] == pytest.approx(3 * 2 / W, rel=0.15)  # content moving down: dv > 0
    assert clip_flow(np.ascontiguousarray(clip[::-1]))[3] == pytest.approx(-3 * 2 / W, rel=0.15)
    right = clip_flow(shifted(texture, 2, 0))
    mirrored = clip_flow(np.ascontiguousarray(shifted(texture, 2, 0)[:, :, ::-1]))
    assert mirrored[0] == pytest.approx(-right[0], rel=0.1)


def test_zooming_in_spreads_the_content_apart(texture):
    centre = texture[W:2 * W, W:2 * W]
    frames = np.stack([cv2.resize(centre[s:W - s, s:W - s], (W, W), interpolation=cv2.INTER_LINEAR)
                       for s in range(0, 8, 1)])
    feats = clip_flow(frames)
    divergence = (feats[1] + feats[5]) / 2  # (a2 + a6) / 2: du grows with x, dv with y
    assert divergence > 0.02
    cells = feats[6:PAIR_DIM].reshape(GRID, GRID, 2)
    assert cells[1, 0, 0] < 0 < cells[1, 2, 0]  # left column moves left, right column right
