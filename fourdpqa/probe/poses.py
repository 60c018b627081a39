"""An auxiliary target of the pixel probe: how the camera moved over each training clip, from the training scenes'
own camera poses.

The training split holds ~100 camera-motion questions, too few for a network trained from scratch to learn
what forward, pan or roll look like; every training clip, whatever its question, has the camera's poses. The
target of a clip sampled at frames f_0..f_{K-1} is the pose of f_{K//2} and f_{K-1} relative to f_0 (translation
and rotation vector, both in f_0's OpenCV camera axes): 12 numbers. Benchmark scenes are never read.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import polars as pl

from fourdpqa.errors import BadInput
from fourdpqa.geometry import invert_pose, pose_matrix
from fourdpqa.layout import scene_dir
from fourdpqa.probe.data import uniform

MOTION_DIM = 12
_MIRROR = np.diag([-1.0, 1.0, 1.0, 1.0])  # camera x flipped: the pose seen through a left-right mirrored image


def read_camera_poses(scenes_dir: str | Path, video_id: str) -> np.ndarray:
    """(T, 4, 4) camera-to-world poses (OpenCV camera axes) from a scene's ``cameras.parquet``, indexed by frame."""
    path = scene_dir(scenes_dir, video_id) / "cameras.parquet"
    cams = pl.read_parquet(path, columns=["frame", "qw", "qx", "qy", "qz", "tx", "ty", "tz"]).sort("frame")
    out = pose_matrix(cams.select("qw", "qx", "qy", "qz").to_numpy().astype(np.float64),
                      cams.select("tx", "ty", "tz").to_numpy().astype(np.float64))
    if not np.array_equal(cams["frame"].to_numpy(), np.arange(cams.height)):
        raise BadInput(f"{path}: camera frames are not 0..{cams.height - 1}")
    return out


def view_poses(poses: np.ndarray, mirrored: bool = False, reversed_: bool = False) -> np.ndarray:
    """The (K, 4, 4) poses of a clip shown mirrored left-right and / or played backwards."""
    if mirrored:
        poses = poses @ _MIRROR
    return poses[::-1] if reversed_ else poses


def clip_motion(poses: np.ndarray) -> np.ndarray:
    """(12,) float32: translation and rotation vector of the middle and the last pose relative to the first, in
    the first camera's axes."""
    first_inv = invert_pose(poses[0])
    out = []
    for k in (len(poses) // 2, len(poses) - 1):
        rel = first_inv @ poses[k]
        out += [rel[:3, 3], cv2.Rodrigues(rel[:3, :3])[0][:, 0]]
    return np.concatenate(out).astype(np.float32)


class TrainingMotion:
    """The motion target of training records, ``(record, mirrored, reversed_) -> (12,)``; poses are read once
    per video."""

    def __init__(self, scenes_dir: str | Path, frames: int):
        self.scenes_dir, self.frames = Path(scenes_dir), frames
        self._videos: dict[str, np.ndarray] = {}

    def __call__(self, record: dict, mirrored: bool = False, reversed_: bool = False) -> np.ndarray:
        vid = record["video_id"]
        if vid not in self._videos:
            self._videos[vid] = read_camera_poses(self.scenes_dir, vid)
        clip: Sequence[int] = record["clip_frames"]
        poses = self._videos[vid][np.asarray(clip)[uniform(len(clip), self.frames)]]
        return clip_motion(view_poses(poses, mirrored, reversed_))
