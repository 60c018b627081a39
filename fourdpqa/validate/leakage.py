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
    return np.bitwise_count(np.bitwise_xor(a[:, None].astype(np.uint64), b[None, :].astype(np.uint64))).astype(int)


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


CHUNK = 256  # benchmark clips compared with every training clip at once


def _padded(hashes: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(n, k) uint64 hashes of clips with up to k sampled frames, and the (n, k) mask of real ones."""
    k = max((len(h) for h in hashes), default=1)
    out, mask = np.zeros((len(hashes), k), np.uint64), np.zeros((len(hashes), k), bool)
    for i, h in enumerate(hashes):
        out[i, :len(h)], mask[i, :len(h)] = h, True
    return out, mask


def near_duplicate_pairs(bench: list[np.ndarray], train: list[np.ndarray], max_distance: int) -> list[tuple[int, int]]:
    """(i, j) for every benchmark clip i that near-duplicates training clip j (:func:`near_duplicate`), from one
    distance matrix per chunk of benchmark clips: per sampled frame the nearest training frame, the median over
    the benchmark clip's frames."""
    if not bench or not train:
        return []
    t_hash, t_mask = _padded(train)
    out = []
    for start in range(0, len(bench), CHUNK):
        b_hash, b_mask = _padded(bench[start:start + CHUNK])
        d = np.bitwise_count(b_hash[:, :, None, None] ^ t_hash[None, None]).astype(float)  # (b, kb, t, kt)
        nearest = np.where(t_mask[None, None], d, np.inf).min(axis=3)  # (b, kb, t)
        median = np.nanmedian(np.where(b_mask[:, :, None], nearest, np.nan), axis=1)  # (b, t)
        out += [(start + int(i), int(j)) for i, j in zip(*np.nonzero(median <= max_distance), strict=True)]
    return out


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
    clips = {split: _clip_table(df) for split, df in (("train", train), ("benchmark", benchmark))}
    every = [(split, v, f) for split, table in clips.items() for _, v, f in table]
    hashes: dict[str, list[np.ndarray]] = {split: [] for split in clips}
    for split, vid, frames in tqdm(every, desc="check_leakage", unit="clip", disable=None):
        hashes[split].append(clip_hashes(load_frames(vid, sampled_frames(frames))))
    dupes = [[clips["benchmark"][i][0], clips["train"][j][0]]
             for i, j in near_duplicate_pairs(hashes["benchmark"], hashes["train"], max_distance)]
    passed = not shared and not dupes
    return CheckResult("check_leakage", passed, True,
                       f"{len(shared)} shared videos, {len(dupes)} near-duplicate clip pairs",
                       f"0 shared videos, 0 clip pairs within {max_distance} pHash bits",
                       {"shared_videos": shared, "near_duplicates": dupes[:50]})
