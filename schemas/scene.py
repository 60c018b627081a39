"""Pandera (polars) models of the standard scene tables (docs/DESIGN.md "Standard scene")."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

_QUAT_TOL = 1e-3


def _unit_quaternion(data: PolarsData) -> pl.LazyFrame:
    norm = (pl.col("qw") ** 2 + pl.col("qx") ** 2 + pl.col("qy") ** 2 + pl.col("qz") ** 2).sqrt()
    return data.lazyframe.select(((norm - 1.0).abs() < _QUAT_TOL).alias("unit_quaternion"))


class _RigidPose(pa.DataFrameModel):
    """A rigid transform per row: rotation quaternion (w, x, y, z) and translation in metres."""

    qw: pl.Float64
    qx: pl.Float64
    qy: pl.Float64
    qz: pl.Float64
    tx: pl.Float64
    ty: pl.Float64
    tz: pl.Float64


class CameraSchema(_RigidPose):
    """One row per frame: time, OpenCV intrinsics (pixels) and world_from_cam (quaternion wxyz + translation)."""

    frame: pl.Int64 = pa.Field(ge=0, unique=True)
    time_s: pl.Float64 = pa.Field(ge=0)
    fx: pl.Float64 = pa.Field(gt=0)
    fy: pl.Float64 = pa.Field(gt=0)
    cx: pl.Float64
    cy: pl.Float64

    class Config:
        strict = True

    @pa.dataframe_check(error="camera rotation quaternion is not unit norm (non-orthonormal rotation)")
    def unit_quaternion(cls, data: PolarsData) -> pl.LazyFrame:
        return _unit_quaternion(data)


class ObjectSchema(pa.DataFrameModel):
    """One row per object; object_id equals its value in ``instances.npy``. Object frame: +x front, +z up,
    origin at the centre of its 3D box of size (l, w, h) along (x, y, z)."""

    object_id: pl.Int64 = pa.Field(ge=1, le=65535, unique=True)
    category: pl.Utf8
    caption: pl.Utf8 = pa.Field(str_length={"min_value": 1})
    size_l: pl.Float64 = pa.Field(gt=0)
    size_w: pl.Float64 = pa.Field(gt=0)
    size_h: pl.Float64 = pa.Field(gt=0)
    has_front: pl.Boolean
    is_dynamic: pl.Boolean

    class Config:
        strict = False  # sources may add attribute columns (colour, size class, ...)


class ObjectPoseSchema(_RigidPose):
    """One row per (frame, object): world_from_object and the visible fraction of the object's silhouette."""

    frame: pl.Int64 = pa.Field(ge=0)
    object_id: pl.Int64 = pa.Field(ge=1)
    visible_fraction: pl.Float64 = pa.Field(ge=0, le=1)

    class Config:
        strict = True
        unique = ["frame", "object_id"]

    @pa.dataframe_check(error="object rotation quaternion is not unit norm (non-orthonormal rotation)")
    def unit_quaternion(cls, data: PolarsData) -> pl.LazyFrame:
        return _unit_quaternion(data)
