"""The one reader of frames and videos: image paths or arrays to RGB uint8, video files to frame lists, and the
uniform frame sampling every model input uses. Below both ``predictors`` and ``vlm`` (neither imports the other
for it)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from fourdpqa.errors import BadInput

Frame = np.ndarray | str | Path  # RGB uint8 (H, W, 3) array, or the path of an image file


def load_frame(frame: Frame) -> np.ndarray:
    """RGB uint8 (H, W, 3) of an array or image path; a missing/unreadable file raises naming the path."""
    if isinstance(frame, np.ndarray):
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"frame array must be uint8 (H, W, 3), got {frame.dtype} {frame.shape}")
        return frame
    bgr = cv2.imread(str(frame), cv2.IMREAD_COLOR)
    if bgr is None:
        raise BadInput(f"cannot read frame image {frame}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def load_frames(frames: Sequence[Frame]) -> list[np.ndarray]:
    return [load_frame(f) for f in frames]


def uniform_indices(n_available: int, n_wanted: int) -> list[int]:
    """``n_wanted`` indices spread evenly over ``range(n_available)`` (all of them when fewer are available);
    the centre of each of ``n_wanted`` equal segments, as VLM video samplers do."""
    if n_available <= 0:
        raise ValueError("a clip needs at least one frame")
    if n_wanted >= n_available:
        return list(range(n_available))
    return [int((i + 0.5) * n_available / n_wanted) for i in range(n_wanted)]


def sample_frames(frames: Sequence[Frame], n_wanted: int) -> list[Frame]:
    return [frames[i] for i in uniform_indices(len(frames), n_wanted)]


def read_video(path: str | Path, n_frames: int | None = None) -> list[np.ndarray]:
    """Frames of a video file as RGB uint8 (H, W, 3): all of them, or ``n_frames`` sampled uniformly. Decoded
    sequentially (robust to files whose seeks are unreliable); a file without any decodable frame raises."""
    cap = cv2.VideoCapture(str(path))
    frames = []
    try:
        if not cap.isOpened():
            raise BadInput(f"cannot open video {path}")
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            frames.append(bgr)
    finally:
        cap.release()
    if not frames:
        raise BadInput(f"video {path} has no decodable frames")
    picked = frames if n_frames is None else sample_frames(frames, n_frames)
    return [cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in picked]
