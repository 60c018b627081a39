"""The little geometry oracle-2 needs, written apart from the generator's :mod:`fourdpqa.geometry` on purpose: a
sign or axis-order bug there must not be reproduced here, or the gate could not catch it.

Conventions are the documented ones (docs/DESIGN.md "Conventions"): quaternions (w, x, y, z); poses map
object/camera coordinates to the world; cameras are OpenCV (x right, y down, z forward); the world is z-up.
"""

from __future__ import annotations

import numpy as np

UP = np.array([0.0, 0.0, 1.0])


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


def heading_deg(vectors: np.ndarray) -> np.ndarray:
    """(T,) unwrapped compass heading in degrees of (T, 3) world vectors, counter-clockwise from +x seen from above
    (turning left increases it)."""
    return np.degrees(np.unwrap(np.arctan2(vectors[:, 1], vectors[:, 0])))


def view_angles_deg(world_from_cam: np.ndarray) -> np.ndarray:
    """(T, 3) unwrapped (yaw, pitch, roll) of (T, 3, 3) camera rotations, degrees.

    yaw: heading of the optical axis (left turn > 0); pitch: its elevation above the horizon (looking up > 0);
    roll: angle of the camera's x axis below the horizontal right direction, i.e. the camera body turning clockwise
    as seen from behind it (its right side dropping) is > 0."""
    forward, right_axis = world_from_cam[:, :, 2], world_from_cam[:, :, 0]
    yaw = heading_deg(forward)
    pitch = np.degrees(np.arcsin(np.clip(forward[:, 2], -1.0, 1.0)))
    level_right = np.cross(forward, UP)
    norm = np.linalg.norm(level_right, axis=1, keepdims=True)
    level_right = np.where(norm > 1e-9, level_right / np.maximum(norm, 1e-12), right_axis)
    level_down = np.cross(forward, level_right)  # completes (right, down, forward) as in the image
    roll = np.arctan2(np.einsum("ti,ti->t", right_axis, level_down), np.einsum("ti,ti->t", right_axis, level_right))
    return np.stack([yaw, pitch, np.degrees(np.unwrap(roll))], -1)


def levelled_axes(world_from_cam: np.ndarray) -> np.ndarray:
    """(3, 3) rows (forward, left, up) in world of a camera levelled to gravity: forward is the optical axis laid
    flat (or the image's up direction when looking straight down), up is +z."""
    forward = world_from_cam[:, 2].copy()
    forward[2] = 0.0
    if np.linalg.norm(forward) < 1e-6:
        forward = -world_from_cam[:, 1].copy()
        forward[2] = 0.0
    forward /= np.linalg.norm(forward)
    return np.stack([forward, np.cross(UP, forward), UP])


def path_length(points: np.ndarray) -> float:
    """Length of a (T, 3) polyline."""
    return float(np.sqrt((np.diff(points, axis=0) ** 2).sum(-1)).sum())
