"""Leakage: no benchmark video in training and no benchmark clip that near-duplicates a training clip (DCT
perceptual hashes of frames), e.g. the same footage under another id."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import polars as pl
from tqdm import tqdm

from fourdpqa.layout import scene_dir
from fourdpqa.scene import read_frames, read_meta
from fourdpqa.validate.result import CheckResult


def phash(image: np.ndarray) -> int:
    """64-bit DCT perceptual hash of an RGB/gray uint8 image: 32x32 gray, 2-D DCT, the 8x8 lowest frequencies
    compared with their median (DC term excluded from the median). Robust to resizing, JPEG and small noise."""
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    small = cv2.resize(gray, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = cv2.dct(small)[:8, :8].flatten()
    bits = low > np.median(low[1:])
    return int(np.packbits(bits.astype(np.uint8)).view(">u8")[0])


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise Hamming distances between uint64 hash arrays a (n,) and b (m,) -> (n, m) int."""
    x = np.bitwise_xor(a[:, None].astype(np.uint64), b[None, :].astype(np.uint64))
    return np.unpackbits(x.view(np.uint8).reshape(*x.shape, 8), axis=-1).sum(-1)


def sampled_frames(frames: list[int], n_samples: int = 8) -> list[int]:
    """Up to ``n_samples`` evenly spaced entries of a clip's frame indices (first and last included)."""
    idx = np.unique(np.linspace(0, len(frames) - 1, min(n_samples, len(frames))).round().astype(int))
    return [frames[i] for i in idx]


def clip_hashes(frames: np.ndarray, n_samples: int = 8) -> np.ndarray:
    """pHashes of up to ``n_samples`` evenly spaced frames of a clip (T, H, W, 3) -> (k,) uint64."""
    return np.array([phash(frames[i]) for i in sampled_frames(list(range(len(frames))), n_samples)], dtype=np.uint64)


def near_duplicate(a: np.ndarray, b: np.ndarray, max_distance: int) -> bool:
    """Clip ``a`` near-duplicates clip ``b`` when most (median) of a's sampled frames have a frame of b within
    ``max_distance`` bits — catches re-encoded, resized or time-shifted copies, not merely similar scenery."""
    return bool(np.median(hamming(a, b).min(axis=1)) <= max_distance)


FrameLoader = Callable[[str, list[int]], np.ndarray]


def scene_frame_loader(scenes_root: str | Path) -> FrameLoader:
    """Frames of ``video_id`` at scene frame indices, read from the standard scenes (only those PNGs decoded)."""

    def load(video_id: str, frames: list[int]) -> np.ndarray:
        folder = scene_dir(scenes_root, video_id)
        return read_frames(folder, read_meta(folder), [int(f) for f in frames])

    return load


def _clip_table(df: pl.DataFrame) -> list[tuple[str, str, list[int]]]:
    clips = df.select("clip_id", "video_id", "clip_frames").unique("clip_id", keep="first").sort("clip_id")
    return [(r["clip_id"], r["video_id"], list(r["clip_frames"])) for r in clips.iter_rows(named=True)]


def check_leakage(train: pl.DataFrame, benchmark: pl.DataFrame, load_frames: FrameLoader, max_distance: int) -> CheckResult:
    """No benchmark video id in training, and no benchmark clip that near-duplicates a training clip (pHash of
    frames), e.g. the same footage under another id. Blocking: leakage inflates benchmark scores."""
    shared = sorted(set(train["video_id"].unique().to_list()) & set(benchmark["video_id"].unique().to_list()))
    train_clips = [(cid, clip_hashes(load_frames(v, sampled_frames(f)))) for cid, v, f in _clip_table(train)]
    dupes: list[list[str]] = []
    for cid, vid, frames in tqdm(_clip_table(benchmark), desc="check_leakage", unit="clip", disable=None):
        h = clip_hashes(load_frames(vid, sampled_frames(frames)))
        dupes.extend([cid, tcid] for tcid, th in train_clips if near_duplicate(h, th, max_distance))
    passed = not shared and not dupes
    return CheckResult("check_leakage", passed, True,
                       f"{len(shared)} shared videos, {len(dupes)} near-duplicate clip pairs",
                       f"0 shared videos, 0 clip pairs within {max_distance} pHash bits",
                       {"shared_videos": shared, "near_duplicates": dupes[:50]})
