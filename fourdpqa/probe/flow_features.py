"""The probe's motion stream: dense optical flow between the sampled frames, reduced to a few numbers.

Like the temporal stream of two-stream video networks (which read precomputed optical flow), the probe is given
the flow rather than asked to learn it: with ~40 training videos a network trained from scratch does not learn to
tell a pan from a sideways move, both of which shift the picture, while the flow field's parallax (near content
moving faster than far content) does. Per consecutive pair of sampled frames: the affine fit of the flow
(``fourdpqa.predictors.flow.fit_affine``: shift, divergence, shear, i.e. pan / tilt / zoom / roll and their
parallax) and the mean flow over a 3 x 3 grid of the image, in units of the image width; summed over the first and
the second half of the clip (so "first closer, then farther" stays visible).
"""

from __future__ import annotations

import numpy as np

from fourdpqa.predictors.flow import fit_affine, pair_flow

GRID = 3
PAIR_DIM = 6 + 2 * GRID * GRID
FLOW_DIM = 2 * PAIR_DIM


def pair_features(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(PAIR_DIM,) float64 flow features from RGB uint8 frame ``a`` to ``b`` (same size)."""
    flow, textured = pair_flow(a, b, size=a.shape[1])  # at the frames' own size
    affine, _ = fit_affine(flow, 1.0, textured)
    h, w = flow.shape[:2]
    cells = flow[: h - h % GRID, : w - w % GRID].reshape(GRID, h // GRID, GRID, w // GRID, 2).mean((1, 3))
    return np.concatenate([affine, cells.ravel() / w])


def clip_flow(frames: np.ndarray) -> np.ndarray:
    """(FLOW_DIM,) float32 for RGB uint8 frames (T, H, W, 3): pair features summed over each half of the clip."""
    pairs = np.stack([pair_features(a, b) for a, b in zip(frames[:-1], frames[1:])])
    mid = max(len(pairs) // 2, 1)
    return np.concatenate([pairs[:mid].sum(0), pairs[mid:].sum(0)]).astype(np.float32)
