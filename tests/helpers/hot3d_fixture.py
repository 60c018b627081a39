"""A HOT3D sequence with images, built from real files: no HOT3D ``recording.vrs`` is public at test size and
no Python VRS writer exists (VRS files are written by the C++ RecordFileWriter only; pyvrs and projectaria-tools
read), so the image path is exercised by pairing a real Aria recording with real HOT3D ground truth:

- ``recording.vrs`` = the real ADT sample's ``video.vrs`` (an Aria gen-1 recording: RGB 214-1 at 1408 px,
  SLAM 1201-1/2, a TIME_CODE stream), symlinked;
- the HOT3D Aria sequence P0003_c701bd11's ``headset_trajectory.csv`` / ``dynamic_objects.csv`` /
  ``box2d_objects.csv`` re-timed by ONE constant offset, so that its first RGB ground-truth timestamp falls on the
  recording's first RGB TIME_CODE timestamp (relative timing unchanged; the other two frames then match within
  ~40 us), restricted to the one object whose mesh is public (5462893327580, "cellphone");
- its MPS online calibration, metadata.json and the object library (instance.json + 5462893327580.glb), as is.

The images therefore show ADT's room, not HOT3D's scene: the fixture proves the reading, rectification, matching,
rendering and the standard tables, not that pixels and ground truth show the same thing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import polars as pl

DATA = Path(__file__).parents[1] / "data"
ARIA_SEQ = DATA / "hot3d" / "P0003_c701bd11"
LIBRARY = DATA / "hot3d" / "assets"
ADT_VIDEO = DATA / "adt" / "aria_digital_twin_test_data" / "video.vrs"
PHONE = 5462893327580
RECORDING_RGB_T0 = 73852862298728  # first TIME_CODE timestamp of stream 214-1 in ADT's video.vrs


def first_rgb_timestamp(seq: Path = ARIA_SEQ) -> int:
    """First ground-truth timestamp of the RGB stream (from the sequence's own RGB 2D boxes)."""
    boxes = pl.read_csv(seq / "box2d_objects.csv", schema_overrides={"stream_id": pl.Utf8})
    return int(boxes.filter(pl.col("stream_id") == "214-1")["timestamp[ns]"].min())


def _retime(src: Path, dst: Path, offset: int, only: int | None) -> None:
    df = pl.read_csv(src, schema_overrides={"stream_id": pl.Utf8}, infer_schema_length=None)
    if only is not None:
        df = df.filter(pl.col("object_uid") == only)
    df.with_columns(pl.col("timestamp[ns]") + offset).write_csv(dst, float_precision=None)


def make_sequence(root: Path, name: str = ARIA_SEQ.name) -> Path:
    """``root/<name>`` (the fixture above) and ``root/assets`` (the object library with the phone's mesh)."""
    seq = root / name
    (seq / "mps" / "slam").mkdir(parents=True)
    offset = RECORDING_RGB_T0 - first_rgb_timestamp()
    _retime(ARIA_SEQ / "headset_trajectory.csv", seq / "headset_trajectory.csv", offset, None)
    _retime(ARIA_SEQ / "dynamic_objects.csv", seq / "dynamic_objects.csv", offset, PHONE)
    _retime(ARIA_SEQ / "box2d_objects.csv", seq / "box2d_objects.csv", offset, PHONE)
    for rel in ("metadata.json", "mps/slam/online_calibration.jsonl"):
        (seq / rel).symlink_to((ARIA_SEQ / rel).resolve())
    (seq / "recording.vrs").symlink_to(ADT_VIDEO.resolve())
    lib = root / "assets"
    if not lib.exists():
        lib.mkdir()
        for f in ("instance.json", f"{PHONE}.glb"):
            (lib / f).symlink_to((LIBRARY / f).resolve())
    return seq


def retimed_rows(seq: Path) -> np.ndarray:
    """Timestamps of the fixture's headset trajectory (int64 ns), for checks against the recording."""
    return pl.read_csv(seq / "headset_trajectory.csv")["timestamp[ns]"].to_numpy()


def replace_file(p: Path, data: bytes) -> None:
    """Swap a symlinked fixture file for a private file holding ``data``."""
    p.unlink()
    p.write_bytes(data)


def copy_real(p: Path) -> Path:
    target = p.resolve()
    p.unlink()
    shutil.copyfile(target, p)
    return p
