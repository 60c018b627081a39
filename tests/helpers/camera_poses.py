"""A scene folder holding only ``cameras.parquet``: what the pixel probe's auxiliary target reads."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl

from fourdpqa.layout import scene_dir


def write_cameras(root: Path, video_id: str, n: int) -> None:
    """A scene's cameras.parquet: turned 90 degrees about z (quaternion w, z = cos, sin 45 deg), at x = frame."""
    d = scene_dir(root, video_id)
    d.mkdir(parents=True)
    h = math.sqrt(0.5)
    pl.DataFrame({"frame": list(range(n)), "qw": [h] * n, "qx": [0.0] * n, "qy": [0.0] * n, "qz": [h] * n,
                  "tx": [float(i) for i in range(n)], "ty": [0.0] * n, "tz": [1.5] * n}).write_parquet(d / "cameras.parquet")
