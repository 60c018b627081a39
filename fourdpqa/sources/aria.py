"""Helpers shared by the Aria-recorded sources (ADT, HOT3D): the lazy projectaria-tools import, fisheye ->
pinhole rectification, gravity levelling and checked CSV/JSON reading.

Rectification goes through projectaria-tools' own camera models (``get_linear_camera_calibration`` +
``distort_by_calibration_and_apply_rotation``), never a hand-written Fisheye624: the output camera is a pinhole
with the source camera's centre and optical axis, optionally turned 90° clockwise about that axis so that Aria
frames (stored sideways) come out upright. Sharing the optical axis keeps z depth values unchanged, so depth and
labels are resampled with nearest neighbour and no value conversion.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import polars as pl

from fourdpqa import geometry
from fourdpqa.scene import SceneError

# Upright output camera axes in the raw (sideways) Aria camera: rotating the raw image 90° clockwise maps a raw
# pixel offset (x, y) to (-y, x), i.e. p_upright = R @ p_raw with R = [[0,-1,0],[1,0,0],[0,0,1]]; this is R^T.
RAW_FROM_UPRIGHT = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])


def projectaria() -> SimpleNamespace:
    """The projectaria-tools modules the Aria adapters use, imported only when such a source is configured."""
    try:
        from projectaria_tools.core import calibration, data_provider, image
        from projectaria_tools.core.sophus import SE3, SO3
        from projectaria_tools.core.stream_id import StreamId
    except ImportError as exc:  # pragma: no cover - exercised only without the optional dependency
        raise ImportError("sources of kind 'adt' or 'hot3d' need projectaria-tools: pip install 'fourdpqa[aria]'") from exc
    return SimpleNamespace(calibration=calibration, data_provider=data_provider, image=image, SE3=SE3, SO3=SO3,
                           StreamId=StreamId)


@dataclass(frozen=True)
class Pinhole:
    """The rectified output camera: size (pixels), focal length (pixels) and whether frames are turned upright."""

    width: int
    height: int
    focal: float
    upright: bool = True

    @classmethod
    def from_options(cls, video_id: str, opts: dict[str, Any]) -> "Pinhole":
        w, h, f = opts["width"], opts["height"], opts["focal"]
        if not (isinstance(w, int) and isinstance(h, int) and w >= 8 and h >= 8 and isinstance(f, (int, float)) and f > 0):
            raise SceneError(video_id, "params.yaml", f"options width/height must be ints >= 8 and focal > 0, got {w}, {h}, {f}")
        return cls(w, h, float(f), bool(opts["upright"]))


class Rectifier:
    """Resamples images of one fisheye camera into the :class:`Pinhole` camera (same centre and optical axis)."""

    def __init__(self, source_calib: Any, out: Pinhole):
        pa = projectaria()
        self._pa, self.source, self.out = pa, source_calib, out
        r = RAW_FROM_UPRIGHT if out.upright else np.eye(3)
        device_from_raw = source_calib.get_transform_device_camera().to_matrix()
        self.device_from_cam = device_from_raw @ geometry.pose_matrix(r, np.zeros(3))
        self.target = pa.calibration.get_linear_camera_calibration(
            out.width, out.height, out.focal, "rectified", pa.SE3.from_matrix(self.device_from_cam))
        self._raw_from_out = pa.SO3.from_matrix(r)

    @cached_property
    def k(self) -> np.ndarray:
        """(3, 3) float64 OpenCV intrinsics of the output camera (pixel centres at integer coordinates)."""
        (fx, fy), (cx, cy) = self.target.get_focal_lengths(), self.target.get_principal_point()
        return geometry.intrinsics_matrix(np.float64(fx), np.float64(fy), np.float64(cx), np.float64(cy))

    def __call__(self, img: np.ndarray, nearest: bool) -> np.ndarray:
        """(H_raw, W_raw[, 3]) image -> (height, width[, 3]); ``nearest`` for depth and labels (no mixing)."""
        im = self._pa.image.InterpolationMethod
        method = im.NEAREST_NEIGHBOR if nearest else im.BILINEAR
        return np.asarray(self._pa.calibration.distort_by_calibration_and_apply_rotation(
            np.ascontiguousarray(img), self.target, self.source, self._raw_from_out, method))

    def coverage(self) -> np.ndarray:
        """(H_raw, W_raw) bool: raw pixels whose ray lies inside the output view (for visible fractions)."""
        ones = np.ones((self.out.height, self.out.width), np.uint8)
        back = self._pa.calibration.distort_by_calibration_and_apply_rotation(
            ones, self.source, self.target, self._raw_from_out.inverse(), self._pa.image.InterpolationMethod.NEAREST_NEIGHBOR)
        return np.asarray(back) > 0


def pinhole_cameras(k: np.ndarray, world_from_cam: np.ndarray, times: np.ndarray) -> pl.DataFrame:
    """The cameras table of a fixed pinhole ``k`` (3, 3) with (T, 4, 4) poses at ``times`` (T,) seconds."""
    n = len(times)
    q = geometry.matrix_to_quat(world_from_cam[:, :3, :3])
    return pl.DataFrame({
        "frame": np.arange(n, dtype=np.int64), "time_s": np.asarray(times, np.float64),
        "fx": np.full(n, k[0, 0]), "fy": np.full(n, k[1, 1]), "cx": np.full(n, k[0, 2]), "cy": np.full(n, k[1, 2]),
        "qw": q[:, 0], "qx": q[:, 1], "qy": q[:, 2], "qz": q[:, 3],
        "tx": world_from_cam[:, 0, 3], "ty": world_from_cam[:, 1, 3], "tz": world_from_cam[:, 2, 3],
    })


def level_from_gravity(gravity: np.ndarray) -> np.ndarray:
    """(4, 4) rotation taking a world with gravity vector ``gravity`` (3,) to the standard +z-up world
    (the smallest rotation turning -gravity onto +z)."""
    up = -np.asarray(gravity, np.float64)
    up /= np.linalg.norm(up)
    axis = np.cross(up, [0.0, 0.0, 1.0])
    s, c = np.linalg.norm(axis), float(up[2])
    if s < 1e-12:
        r = np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    else:
        r = geometry.quat_to_matrix(geometry.axis_angle_to_quat(axis / s, np.arctan2(s, c)))
    return geometry.pose_matrix(r, np.zeros(3))


def read_csv(video_id: str, path: Path, columns: list[str], **kwargs: Any) -> pl.DataFrame:
    """A CSV with at least ``columns`` (exact names, units included: a column in other units is rejected)."""
    if not path.exists():
        raise SceneError(video_id, str(path), "missing file")
    try:
        df = pl.read_csv(path, **kwargs)
    except Exception as exc:  # noqa: BLE001 - any parse failure is a bad file
        raise SceneError(video_id, str(path), f"unreadable CSV: {exc}") from exc
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SceneError(video_id, str(path), f"missing columns {missing} (units are part of the name); header: {df.columns}")
    num = [c for c in columns if df.schema[c].is_numeric()]
    bad = df.select(num).with_row_index("row").filter(~pl.all_horizontal(pl.col(num).cast(pl.Float64).is_finite()))
    if bad.height:
        raise SceneError(video_id, str(path), f"NaN/inf values in rows {bad['row'].head(10).to_list()}")
    return df


def read_json(video_id: str, path: Path) -> Any:
    if not path.exists():
        raise SceneError(video_id, str(path), "missing file")
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SceneError(video_id, str(path), f"unreadable JSON: {exc}") from exc


def quats_wxyz(video_id: str, path: Path, df: pl.DataFrame, cols: list[str], tol: float = 1e-3) -> np.ndarray:
    """(N, 4) unit (w, x, y, z) quaternions from the columns named in ``cols`` (given in w, x, y, z order)."""
    q = df.select(cols).to_numpy().astype(np.float64)
    norm = np.linalg.norm(q, axis=1)
    bad = np.flatnonzero(np.abs(norm - 1.0) > tol)
    if bad.size:
        raise SceneError(video_id, str(path), f"quaternion not unit norm (non-orthonormal rotation) in rows {bad[:10].tolist()}")
    return q / norm[:, None]


def check_vrs(video_id: str, path: Path) -> None:
    """A VRS file exists and opens (a truncated or foreign file fails here, not deep inside the reader)."""
    if not path.exists():
        raise SceneError(video_id, str(path), "missing file")
    provider = projectaria().data_provider.create_vrs_data_provider(str(path))
    if provider is None or not provider.get_all_streams():
        raise SceneError(video_id, str(path), "unreadable or truncated VRS file (no streams could be read)")
