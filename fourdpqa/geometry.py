"""Projection, rigid transforms and camera conventions — the one place they live.

Conventions (docs/DESIGN.md "Conventions"):
- quaternions are scalar-first ``(w, x, y, z)``, unit norm, canonicalised to ``w >= 0``;
- poses are 4x4 ``a_from_b`` matrices mapping points in frame *b* to frame *a*;
- cameras follow OpenCV: x right, y down, z forward; pixel (row i, col j) has its centre at (x=j, y=i);
- the world is gravity aligned with +z up.

Every function accepts NumPy arrays or torch tensors (same type out as in) and broadcasts over leading axes,
so the renderer and the batched track extraction share this code with the NumPy references. torch is never
imported here: a tensor argument means its caller already loaded it, and NumPy-only users (the QA stage) do not pay
torch's start-up (2-4 s of CPU).

Same bits on every CPU: small matrix products go through :func:`matmul` (plain multiplies and adds in a fixed
order) and vector lengths through :func:`norm`, never ``@`` / ``np.dot`` / ``np.linalg.norm`` of a vector, which
call BLAS kernels whose summation order and fused multiply-adds depend on the instruction set
(``tests/test_determinism.py``); :func:`snap` puts generated poses on a binary grid before anything is written.
"""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

if TYPE_CHECKING:
    import torch

Array = TypeVar("Array", np.ndarray, "torch.Tensor")

# Blender/OpenGL camera (x right, y up, looking down -z) -> OpenCV camera (x right, y down, z forward).
BLENDER_TO_OPENCV = np.diag([1.0, -1.0, -1.0, 1.0])


def _torch_of(x: Any) -> Any:
    """The torch module if ``x`` is a tensor, else None (torch is in ``sys.modules`` whenever a tensor exists)."""
    torch = sys.modules.get("torch")
    return torch if torch is not None and isinstance(x, torch.Tensor) else None


def _xp(x: Any) -> Any:
    return _torch_of(x) or np


def _eye(x: Array, n: int) -> Array:
    torch = _torch_of(x)
    if torch is not None:
        return torch.eye(n, dtype=x.dtype, device=x.device)
    return np.eye(n, dtype=x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64)


def matmul(a: Array, b: Array) -> Array:
    """``a @ b`` for (stacks of) small matrices (..., n, k) @ (..., k, m), accumulated over k in order with plain
    multiplies and adds: the same bits on every CPU and thread count (see the module docstring). For poses and
    3x3 rotations; a large product belongs to BLAS."""
    out = a[..., :, 0:1] * b[..., 0:1, :]
    for j in range(1, a.shape[-1]):
        out = out + a[..., :, j:j + 1] * b[..., j:j + 1, :]
    return out


def norm(v: Array) -> Array:
    """Euclidean length over the last axis (size 3), summed x, y, z in order (see :func:`matmul`)."""
    return _xp(v).sqrt(v[..., 0] * v[..., 0] + v[..., 1] * v[..., 1] + v[..., 2] * v[..., 2])


def snap(x: np.ndarray, bits: int = 32) -> np.ndarray:
    """``x`` rounded to the nearest multiple of 2**-bits (exactly: scaling by a power of two is exact).

    Generated poses are snapped before they are rendered or written, so that a last-bit difference in a
    transcendental function (libm versions differ in rare last bits) almost never reaches a file: two results
    differ only if they straddle a grid midpoint, about once per 2**(bits - 52 + exponent) values."""
    scale = float(2**bits)
    return np.rint(np.asarray(x, dtype=np.float64) * scale) / scale


def quat_to_matrix(q: Array) -> Array:
    """Rotation matrices (..., 3, 3) from quaternions (..., 4) in (w, x, y, z) order; q is normalised first."""
    xp = _xp(q)
    q = q / xp.sqrt((q * q).sum(-1, keepdims=True) if xp is np else (q * q).sum(-1, keepdim=True))
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    rows = [
        1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
        2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
        2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y),
    ]
    m = xp.stack(rows, -1)
    return m.reshape(*q.shape[:-1], 3, 3)


def matrix_to_quat(m: Array) -> Array:
    """Quaternions (..., 4) (w, x, y, z), w >= 0, from rotation matrices (..., 3, 3) (Shepperd's method)."""
    xp = _xp(m)
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    trace = m00 + m11 + m22
    cands = xp.stack(
        [
            xp.stack([1 + trace, m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1]], -1),
            xp.stack([m[..., 2, 1] - m[..., 1, 2], 1 + m00 - m11 - m22, m[..., 0, 1] + m[..., 1, 0], m[..., 0, 2] + m[..., 2, 0]], -1),
            xp.stack([m[..., 0, 2] - m[..., 2, 0], m[..., 0, 1] + m[..., 1, 0], 1 - m00 + m11 - m22, m[..., 1, 2] + m[..., 2, 1]], -1),
            xp.stack([m[..., 1, 0] - m[..., 0, 1], m[..., 0, 2] + m[..., 2, 0], m[..., 1, 2] + m[..., 2, 1], 1 - m00 - m11 + m22], -1),
        ],
        -2,
    )  # (..., 4 candidates, 4); candidate k has its k-th component = 4 * q_k^2
    diag = xp.stack([1 + trace, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22], -1)
    best = diag.argmax(-1)
    if xp is np:
        q = np.take_along_axis(cands, best[..., None, None].repeat(4, -1), -2)[..., 0, :]
    else:
        q = xp.gather(cands, -2, best[..., None, None].expand(*best.shape, 1, 4))[..., 0, :]
    q = q / xp.sqrt((q * q).sum(-1, keepdims=True) if xp is np else (q * q).sum(-1, keepdim=True))
    sign = xp.where(q[..., :1] < 0, -1.0, 1.0)
    return q * sign


def axis_angle_to_quat(axis: Array, angle: Array) -> Array:
    """Quaternion (w, x, y, z) for a rotation of ``angle`` radians about the unit ``axis`` (..., 3)."""
    xp = _xp(axis)
    half = angle / 2
    return xp.concatenate([xp.cos(half)[..., None], axis * xp.sin(half)[..., None]], -1)


def yaw_to_quat(yaw: Array) -> Array:
    """Quaternion for a rotation of ``yaw`` radians about world +z (counter-clockwise seen from above)."""
    xp = _xp(yaw)
    zeros = yaw * 0
    return xp.stack([xp.cos(yaw / 2), zeros, zeros, xp.sin(yaw / 2)], -1)


def pose_matrix(rotation: Array, translation: Array) -> Array:
    """4x4 pose (..., 4, 4) from a rotation (..., 3, 3) or quaternion (..., 4) and a translation (..., 3)."""
    xp = _xp(translation)
    r = quat_to_matrix(rotation) if rotation.shape[-1] == 4 else rotation
    top = xp.concatenate([r, translation[..., :, None]], -1)
    bottom = xp.zeros_like(top[..., :1, :])
    bottom[..., 0, 3] = 1.0
    return xp.concatenate([top, bottom], -2)


def invert_pose(t: Array) -> Array:
    """Inverse of rigid 4x4 poses (..., 4, 4) using R^T, -R^T t (exact for rigid transforms)."""
    xp = _xp(t)
    r = t[..., :3, :3]
    rt = r.swapaxes(-1, -2) if xp is np else r.transpose(-1, -2)
    trans = -matmul(rt, t[..., :3, 3:4])
    return pose_matrix(rt, trans[..., 0])


def transform_points(t: Array, points: Array) -> Array:
    """Apply poses (..., 4, 4) to points (..., N, 3) -> (..., N, 3)."""
    r = t[..., :3, :3]
    rt = r.swapaxes(-1, -2) if isinstance(r, np.ndarray) else r.transpose(-1, -2)
    return matmul(points, rt) + t[..., None, :3, 3]


def intrinsics_matrix(fx: Array, fy: Array, cx: Array, cy: Array) -> Array:
    """3x3 OpenCV intrinsics (..., 3, 3) from per-frame focal lengths and principal points (pixels)."""
    xp = _xp(fx)
    zeros, ones = fx * 0, fx * 0 + 1
    return xp.stack([fx, zeros, cx, zeros, fy, cy, zeros, zeros, ones], -1).reshape(*fx.shape, 3, 3)


def project(k: Array, points_cam: Array) -> tuple[Array, Array]:
    """Project camera-frame points (..., N, 3) with intrinsics (..., 3, 3).

    Returns pixel coordinates (..., N, 2) as (x, y) in the OpenCV convention and the z depth (..., N).
    Points with z <= 0 get non-finite or mirrored pixels: callers must test ``z > 0`` themselves.
    """
    z = points_cam[..., 2]
    xp = _xp(points_cam)
    safe = xp.where(xp.abs(z) < 1e-12, 1e-12, z)
    x = k[..., None, 0, 0] * points_cam[..., 0] / safe + k[..., None, 0, 2]
    y = k[..., None, 1, 1] * points_cam[..., 1] / safe + k[..., None, 1, 2]
    return xp.stack([x, y], -1), z


def unproject(k: Array, pixels: Array, z_depth: Array) -> Array:
    """Camera-frame points (..., N, 3) from pixels (..., N, 2) (x, y) and z depth (..., N)."""
    xp = _xp(pixels)
    x = (pixels[..., 0] - k[..., None, 0, 2]) / k[..., None, 0, 0] * z_depth
    y = (pixels[..., 1] - k[..., None, 1, 2]) / k[..., None, 1, 1] * z_depth
    return xp.stack([x, y, z_depth], -1)


def project_world(k: Array, world_from_cam: Array, points_world: Array) -> tuple[Array, Array]:
    """Project world points (..., N, 3) through a camera given as world_from_cam (..., 4, 4)."""
    return project(k, transform_points(invert_pose(world_from_cam), points_world))


def ray_norm_factor(k: np.ndarray, height: int, width: int) -> np.ndarray:
    """||K^-1 [x, y, 1]|| for every pixel centre (H, W): ray distance = z depth * this factor."""
    ys, xs = np.meshgrid(np.arange(height, dtype=np.float64), np.arange(width, dtype=np.float64), indexing="ij")
    a = (xs - k[0, 2]) / k[0, 0]
    b = (ys - k[1, 2]) / k[1, 1]
    return np.sqrt(a * a + b * b + 1.0)


def ray_to_z_depth(ray_depth: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Convert ray-distance depth (..., H, W) (distance to the camera centre) to z depth along the optical axis."""
    h, w = ray_depth.shape[-2:]
    return (ray_depth / ray_norm_factor(k, h, w)).astype(ray_depth.dtype)


def z_to_ray_depth(z_depth: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Inverse of :func:`ray_to_z_depth`."""
    h, w = z_depth.shape[-2:]
    return (z_depth * ray_norm_factor(k, h, w)).astype(z_depth.dtype)


def blender_to_opencv_world_from_cam(world_from_cam_blender: np.ndarray) -> np.ndarray:
    """Camera pose with Blender axes (looks down -z, +y up) -> the same camera with OpenCV axes."""
    return matmul(world_from_cam_blender, BLENDER_TO_OPENCV)


def kubric_intrinsics(focal_length_mm: float, sensor_width_mm: float, width: int, height: int) -> np.ndarray:
    """Pixel-space OpenCV K for a Kubric/Blender camera (square pixels; principal point at the image centre).

    Blender's image spans [0, W] in raster coordinates, so the centre is W/2 there, i.e. (W-1)/2 in the OpenCV
    pixel-centre convention used here.
    """
    f = focal_length_mm / sensor_width_mm * width
    return np.array([[f, 0.0, (width - 1) / 2.0], [0.0, f, (height - 1) / 2.0], [0.0, 0.0, 1.0]])


def rotation_error(r: np.ndarray) -> np.ndarray:
    """max |R^T R - I| and |det R - 1| per matrix (...,): 0 for a proper rotation."""
    rtr = np.swapaxes(r, -1, -2) @ r
    ortho = np.abs(rtr - np.eye(3)).max(axis=(-1, -2))
    return np.maximum(ortho, np.abs(np.linalg.det(r) - 1.0))


def yaw_of(rotation: np.ndarray) -> np.ndarray:
    """Heading angle (radians, CCW from world +x, seen from above) of the body +x axis of rotations (..., 3, 3)."""
    return np.arctan2(rotation[..., 1, 0], rotation[..., 0, 0])


def wrap_angle(a: np.ndarray | float) -> np.ndarray | float:
    """Wrap angles to (-pi, pi]."""
    return (np.asarray(a) + math.pi) % (2 * math.pi) - math.pi if isinstance(a, np.ndarray) else (a + math.pi) % (2 * math.pi) - math.pi


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray = np.array([0.0, 0.0, 1.0])) -> np.ndarray:
    """OpenCV world_from_cam (4, 4) for a camera at ``eye`` looking at ``target`` with world ``up`` on screen top."""
    z = target - eye
    z = z / norm(z)
    x = np.cross(z, up)
    if norm(x) < 1e-9:
        x = np.cross(z, np.array([0.0, 1.0, 0.0]))
    x = x / norm(x)
    y = np.cross(z, x)
    return pose_matrix(np.stack([x, y, z], -1), eye)


def level_rotation(up: np.ndarray) -> np.ndarray:
    """Rotation (3, 3) taking the direction ``up`` (3,) (any length) to world +z by the shortest arc.

    Used to gravity-align worlds whose axes are undocumented or arbitrary (VKITTI2, 4D reconstructions) from an
    estimated up direction; the heading about +z is left as it was.
    """
    u = np.asarray(up, dtype=np.float64)
    u = u / np.linalg.norm(u)
    axis = np.cross(u, [0.0, 0.0, 1.0])
    s, c = float(np.linalg.norm(axis)), float(u[2])
    if s < 1e-12:
        return np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    return quat_to_matrix(axis_angle_to_quat(axis / s, np.arctan2(s, c)))
