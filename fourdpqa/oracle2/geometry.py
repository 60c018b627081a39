"""The little geometry oracle-2 needs, written apart from the generator's :mod:`fourdpqa.geometry` on purpose: a
sign or axis-order bug there must not be reproduced here, or the gate could not catch it.

Oracle-2 measures in the **first camera's frame** of a clip (OpenCV axes: x right, y down, z forward), not in the
world: the camera's own motion comes from rigid fits to the static background's 3-D point tracks (visual odometry
with known depth), objects from rigid fits to their own tracks, and the only thing taken from the world is the
direction of gravity (``up``, a unit vector in first-camera coordinates). Angles are signed rotations about
``up`` (counter-clockwise seen from above is positive), summed step by step so that turns past 180 degrees add up.
Quaternions are (w, x, y, z) as documented (docs/DESIGN.md "Conventions").
"""

from __future__ import annotations

import numpy as np


def rotation_from_quaternion(q: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation matrices from (..., 4) quaternions (w, x, y, z), normalised first."""
    q = np.asarray(q, dtype=np.float64)
    w, x, y, z = np.moveaxis(q / np.linalg.norm(q, axis=-1, keepdims=True), -1, 0)
    return np.stack([
        np.stack([w * w + x * x - y * y - z * z, 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        np.stack([2 * (x * y + w * z), w * w - x * x + y * y - z * z, 2 * (y * z - w * x)], -1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), w * w - x * x - y * y + z * z], -1),
    ], -2)


def rigid_fit(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(R (3, 3), t (3,), max residual in metres) of the rigid motion with b ≈ R a + t (Kabsch, no scaling).

    a, b: (n, 3) float64 corresponding points, n >= 3, not collinear."""
    ca, cb = a.mean(0), b.mean(0)
    u, _, vt = np.linalg.svd((a - ca).T @ (b - cb))
    d = np.sign(np.linalg.det(vt.T @ u.T)) or 1.0
    r = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    t = cb - r @ ca
    return r, t, float(np.linalg.norm(a @ r.T + t - b, axis=1).max())


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def flat(v: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Vectors (..., 3) with their component along ``up`` removed (laid on the ground plane)."""
    return v - (v @ up)[..., None] * up


def turn_deg(vectors: np.ndarray, up: np.ndarray) -> np.ndarray:
    """(T,) accumulated signed rotation, degrees, of the ground-plane direction of (T, 3) ``vectors`` about
    ``up`` relative to the first one (counter-clockwise seen from above > 0): the sum of the step-to-step angles."""
    h = unit(flat(vectors, up))
    steps = np.arctan2(np.cross(h[:-1], h[1:]) @ up, np.einsum("ti,ti->t", h[:-1], h[1:]))
    return np.degrees(np.concatenate([[0.0], np.cumsum(steps)]))


def level_frame(up: np.ndarray) -> np.ndarray:
    """(3, 3) rows (forward, left, up) in first-camera coordinates: forward is the optical axis (+z) laid on the
    ground plane (the image's up direction, -y, when the camera looks straight down), left = up x forward."""
    forward = flat(np.array([0.0, 0.0, 1.0]), up)
    if np.linalg.norm(forward) < 1e-6:
        forward = flat(np.array([0.0, -1.0, 0.0]), up)
    forward = unit(forward)
    return np.stack([forward, np.cross(up, forward), up])


def gravity_view_deg(up_in_cam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(pitch, roll) in degrees of cameras that see gravity's ``up`` as (T, 3) vectors in their own axes.

    pitch: elevation of the optical axis (+z) above the horizon; roll: how far the image's "up" (-y) is turned
    from the projection of ``up`` onto the image plane, positive when the camera turns clockwise as seen from
    behind it (its right side drops, so ``up`` leans towards the image's left, -x). Unwrapped over the frames."""
    pitch = np.degrees(np.arcsin(np.clip(up_in_cam[:, 2], -1.0, 1.0)))
    roll = np.unwrap(np.arctan2(-up_in_cam[:, 0], -up_in_cam[:, 1]))
    return pitch, np.degrees(roll)


def path_length(points: np.ndarray) -> float:
    """Length of a (T, 3) polyline."""
    return float(np.sqrt((np.diff(points, axis=0) ** 2).sum(-1)).sum())
