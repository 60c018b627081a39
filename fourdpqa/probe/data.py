"""Inputs of the pixel-learnability probe: small clips read from the exported frames (marks burned in) and the
question / option words as token ids.

A clip is ``frames`` frames sampled uniformly from a record's exported JPEGs, resized to ``size`` x ``size``:
uint8 (T, 3, S, S), RGB. Records of one exported clip share the decoded array.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import polars as pl

from schemas.qa import LETTERS

_WORD = re.compile(r"[a-z]+|\d+")
YN_CANDIDATES = ("yes", "no")
_SIDES = re.compile(r"\b(left|right|counter-clockwise|clockwise)\b")
_SWAP = {"left": "right", "right": "left", "counter-clockwise": "clockwise", "clockwise": "counter-clockwise"}
_XY = re.compile(r"\((\d\.\d{3}), (\d\.\d{3})\)")
# Played backwards, a motion runs the other way: these words swap (mirror pairs stay: a left move reversed is a
# right move, a clockwise roll a counter-clockwise one). Only types whose whole text reverses this way get it.
_REVERSE_PAIRS = (("forward", "backward"), ("left", "right"), ("up", "down"), ("counter-clockwise", "clockwise"),
                  ("increasing", "decreasing"), ("increases", "decreases"), ("increase", "decrease"),
                  ("toward", "away from"))
_REVERSE = {**dict(_REVERSE_PAIRS), **{b: a for a, b in _REVERSE_PAIRS}}
_REVERSE_WORDS = re.compile(r"\b(" + "|".join(sorted(map(re.escape, _REVERSE), key=len, reverse=True)) + r")\b")
REVERSIBLE = ("camera_movement", "camera_object_distance", "object_object_distance_change", "object_direction")


def words(text: str) -> list[str]:
    """Lower-case words and word bigrams ("pans_left" differs from "moves ... left")."""
    w = _WORD.findall(text.lower())
    return w + [f"{a}_{b}" for a, b in zip(w, w[1:])]


def mirror_text(text: str) -> str:
    """The text of the left-right mirrored clip: sides and turning senses swap, normalised x -> 1 - x."""
    text = _SIDES.sub(lambda m: _SWAP[m.group(1)], text)
    return _XY.sub(lambda m: f"({1 - float(m.group(1)):.3f}, {m.group(2)})", text)


def reverse_text(text: str) -> str:
    """The text of the clip played backwards (question types in :data:`REVERSIBLE`): motion words swap."""
    return _REVERSE_WORDS.sub(lambda m: _REVERSE[m.group(1)], text)


def uniform(n_available: int, n_wanted: int) -> np.ndarray:
    """Centres of ``n_wanted`` equal segments of ``range(n_available)`` (repeats when the clip is shorter)."""
    return np.minimum(((np.arange(n_wanted) + 0.5) * n_available / n_wanted).astype(int), n_available - 1)


def read_clip(dataset_dir: Path, frame_paths: Sequence[str], frames: int, size: int) -> np.ndarray:
    """(frames, 3, size, size) uint8 RGB from a record's exported frame paths (relative to ``dataset_dir``)."""
    out = []
    for i in uniform(len(frame_paths), frames):
        path = dataset_dir / frame_paths[int(i)]
        bgr = cv2.imread(str(path), cv2.IMREAD_REDUCED_COLOR_2)
        if bgr is None:
            raise OSError(f"cannot read exported frame {path}")
        rgb = cv2.cvtColor(cv2.resize(bgr, (size, size), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
        out.append(rgb.transpose(2, 0, 1))
    return np.stack(out)


class Vocabulary:
    """Word -> id over the training texts (0 = padding / unknown)."""

    def __init__(self, texts: Sequence[str]):
        vocab = sorted({w for t in texts for w in words(t)})
        self.index = {w: i + 1 for i, w in enumerate(vocab)}

    def __len__(self) -> int:
        return len(self.index) + 1

    def encode(self, text: str, length: int) -> np.ndarray:
        """(length,) int64 ids, truncated / zero-padded."""
        ids = [self.index.get(w, 0) for w in words(text)][:length]
        return np.array(ids + [0] * (length - len(ids)), dtype=np.int64)


@dataclass
class Batchable:
    """Arrays of N records. clips: (N, T, 3, S, S) uint8; question: (N, Lq) int64; candidates: (N, 4, Lc) int64
    (yes/no records use 2 and pad with empty candidates, masked by ``n_candidates`` (N,)); target: (N,) index of the
    correct candidate; group: (N,) int64 id of the (type, format) the record belongs to."""

    clips: np.ndarray
    question: np.ndarray
    candidates: np.ndarray
    n_candidates: np.ndarray
    target: np.ndarray
    group: np.ndarray


def candidates_of(record: dict) -> list[str]:
    return list(record["options"]) if record["answer_format"] == "mc" else list(YN_CANDIDATES)


def target_of(record: dict) -> int:
    return LETTERS.index(record["answer"]) if record["answer_format"] == "mc" else YN_CANDIDATES.index(record["answer"])


def build_arrays(df: pl.DataFrame, dataset_dir: Path, vocab: Vocabulary, groups: dict[str, int], frames: int,
                 size: int, mirrored: bool = False, reversed_: bool = False, question_len: int = 64,
                 option_len: int = 24) -> Batchable:
    """Arrays of every MC / yes-no row of ``df`` whose (type, format) group is known; with ``mirrored`` each row
    is followed by its left-right mirror image (clip flipped, texts through :func:`mirror_text`), which doubles
    the training data and shows every side of a left/right or clockwise question; with ``reversed_`` rows of a
    :data:`REVERSIBLE` type also come played backwards (frames in reverse order, :func:`reverse_text`), which
    shows each motion and its opposite (the training split has few camera-motion questions)."""
    cache: dict[tuple[str, ...], np.ndarray] = {}
    clips, questions, cands, n_cands, targets, group = [], [], [], [], [], []
    for r in df.iter_rows(named=True):
        key = f"{r['question_name']}/{r['answer_format']}"
        if key not in groups:
            continue
        paths = tuple(r["frames"])
        if paths not in cache:
            cache[paths] = read_clip(dataset_dir, paths, frames, size)
        opts = candidates_of(r)
        views = [(cache[paths], r["question"], opts)]
        if mirrored:
            views.append((cache[paths][..., ::-1], mirror_text(r["question"]), [mirror_text(o) for o in opts]))
        if reversed_ and r["question_name"] in REVERSIBLE:
            views += [(clip[::-1], reverse_text(q), [reverse_text(o) for o in os_]) for clip, q, os_ in views]
        for clip, question, options in views:
            clips.append(clip)
            questions.append(vocab.encode(question, question_len))
            cands.append(np.stack([vocab.encode(o, option_len) for o in options]
                                  + [np.zeros(option_len, np.int64)] * (4 - len(options))))
            n_cands.append(len(options))
            targets.append(target_of(r))
            group.append(groups[key])
    return Batchable(np.stack(clips), np.stack(questions), np.stack(cands), np.array(n_cands), np.array(targets),
                     np.array(group, dtype=np.int64))
