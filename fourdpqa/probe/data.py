"""Inputs of the pixel-learnability probe: small clips read from the exported frames (marks burned in) and the
question / option words as token ids.

A clip is ``frames`` frames sampled uniformly from a record's exported JPEGs, resized to ``size`` x ``size``:
uint8 (T, 3, S, S), RGB. Records of one exported clip share the decoded array.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import polars as pl

from fourdpqa.errors import BadInput
from fourdpqa.probe.flow_features import clip_flow
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
# "first rises, then falls" played backwards still rises, then falls: once the words swap, so does their order.
_TURN = re.compile(r"\bfirst (\w+)(,? (?:and )?then )(\w+)")
_FRAME = re.compile(r"\bframe (\d+)\b")
REVERSIBLE = ("camera_movement", "camera_object_distance", "object_object_distance_change", "object_direction")


def words(text: str) -> list[str]:
    """Lower-case words and word bigrams ("pans_left" differs from "moves ... left")."""
    w = _WORD.findall(text.lower())
    return w + [f"{a}_{b}" for a, b in zip(w, w[1:])]


def mirror_text(text: str) -> str:
    """The text of the left-right mirrored clip: sides and turning senses swap, normalised x -> 1 - x."""
    text = _SIDES.sub(lambda m: _SWAP[m.group(1)], text)
    return _XY.sub(lambda m: f"({1 - float(m.group(1)):.3f}, {m.group(2)})", text)


def reverse_text(text: str, n_frames: int | None = None) -> str:
    """The text of the clip played backwards (question types in :data:`REVERSIBLE`): motion words swap, a
    rise-then-fall stays one, and with ``n_frames`` "frame k" becomes "frame n_frames - 1 - k" (the same picture,
    now counted from the other end)."""
    text = _REVERSE_WORDS.sub(lambda m: _REVERSE[m.group(1)], text)
    text = _TURN.sub(lambda m: f"first {m.group(3)}{m.group(2)}{m.group(1)}", text)
    if n_frames is not None:
        text = _FRAME.sub(lambda m: f"frame {n_frames - 1 - int(m.group(1))}", text)
    return text


def uniform(n_available: int, n_wanted: int) -> np.ndarray:
    """Centres of ``n_wanted`` equal segments of ``range(n_available)`` (repeats when the clip is shorter)."""
    return np.minimum(((np.arange(n_wanted) + 0.5) * n_available / n_wanted).astype(int), n_available - 1)


def read_frames(dataset_dir: Path, frame_paths: Sequence[str], frames: int) -> np.ndarray:
    """(frames, H/2, W/2, 3) uint8 RGB: ``frames`` of a record's exported frames (paths relative to
    ``dataset_dir``) sampled uniformly, decoded at half resolution."""
    out = []
    for i in uniform(len(frame_paths), frames):
        path = dataset_dir / frame_paths[int(i)]
        bgr = cv2.imread(str(path), cv2.IMREAD_REDUCED_COLOR_2)
        if bgr is None:
            raise BadInput(f"cannot read exported frame {path}")
        out.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return np.stack(out)


def to_clip(frames: np.ndarray, size: int) -> np.ndarray:
    """(T, 3, size, size) uint8 from RGB frames (T, H, W, 3)."""
    return np.stack([cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA).transpose(2, 0, 1) for f in frames])


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
    """Arrays of N records over V distinct clip views. clips: (V, T, 3, S, S) uint8, each view (a clip, maybe
    mirrored and / or reversed) once; view: (N,) index of each record's view; question: (N, Lq) int64; candidates:
    (N, 4, Lc) int64 (yes/no records use 2 and pad with empty candidates, masked by ``n_candidates`` (N,)); target:
    (N,) index of the correct candidate; group: (N,) int64 id of the (type, format) the record belongs to; flow: (N, F)
    float32 optical-flow features of each record's view (:mod:`fourdpqa.probe.flow_features`); motion: (N, M) float32
    auxiliary target of each view (how the camera moved, :mod:`fourdpqa.probe.poses`), NaN where unknown; shift:
    (V, 16) float32 the weightless shift-correlation features of each view, computed once
    (:func:`fourdpqa.probe.fit.shift_features`; None until then)."""

    clips: np.ndarray
    view: np.ndarray
    question: np.ndarray
    candidates: np.ndarray
    n_candidates: np.ndarray
    target: np.ndarray
    group: np.ndarray
    flow: np.ndarray
    motion: np.ndarray
    shift: np.ndarray | None = None

    @property
    def yes_no(self) -> np.ndarray:
        """(N,) bool: yes / no records (candidates "yes", "no")."""
        return self.n_candidates == len(YN_CANDIDATES)


MotionOf = Callable[[dict, bool, bool], np.ndarray]  # (record, mirrored, reversed_) -> (M,) auxiliary target


def candidates_of(record: dict) -> list[str]:
    return list(record["options"]) if record["answer_format"] == "mc" else list(YN_CANDIDATES)


def target_of(record: dict) -> int:
    return LETTERS.index(record["answer"]) if record["answer_format"] == "mc" else YN_CANDIDATES.index(record["answer"])


def build_arrays(df: pl.DataFrame, dataset_dir: Path, vocab: Vocabulary, groups: dict[str, int], frames: int,
                 size: int, mirrored: bool = False, reversed_: bool = False, motion_of: MotionOf | None = None,
                 motion_dim: int = 12, question_len: int = 64, option_len: int = 24) -> Batchable:
    """Arrays of every MC / yes-no row of ``df`` whose (type, format) group is known; with ``mirrored`` each row
    is followed by its left-right mirror image (clip flipped, texts through :func:`mirror_text`), which doubles
    the training data and shows every side of a left/right or clockwise question; with ``reversed_`` rows of a
    :data:`REVERSIBLE` type also come played backwards (frames in reverse order, :func:`reverse_text`), which
    shows each motion and its opposite (the training split has few camera-motion questions). ``motion_of`` gives
    each view's auxiliary target (NaN without it). Each distinct view is decoded, resized and its flow measured
once, however many records ask about it."""
    decoded: dict[tuple[str, ...], np.ndarray] = {}
    seen: dict[tuple, int] = {}  # (frame paths, mirrored, reversed) -> view index
    clips, view_flows = [], []
    views, flows, questions, cands, n_cands, targets, group, motion = [], [], [], [], [], [], [], []
    unknown = np.full(motion_dim, np.nan, np.float32)

    def view(paths: tuple[str, ...], m: bool, rev: bool) -> int:
        if (paths, m, rev) not in seen:
            f = decoded[paths][:, :, ::-1] if m else decoded[paths]
            f = np.ascontiguousarray(f[::-1] if rev else f)
            clip = to_clip(f, size)
            seen[paths, m, rev] = len(clips)
            clips.append(clip)
            view_flows.append(clip_flow(clip.transpose(0, 2, 3, 1)))
        return seen[paths, m, rev]

    for r in df.iter_rows(named=True):
        key = f"{r['question_name']}/{r['answer_format']}"
        if key not in groups:
            continue
        paths = tuple(r["frames"])
        if paths not in decoded:
            decoded[paths] = read_frames(dataset_dir, paths, frames)
        opts = candidates_of(r)
        record_views = [(r["question"], opts, False, False)]
        if mirrored:
            record_views.append((mirror_text(r["question"]), [mirror_text(o) for o in opts], True, False))
        if reversed_ and r["question_name"] in REVERSIBLE:
            n = len(paths)
            record_views += [(reverse_text(q, n), [reverse_text(o, n) for o in os_], m, True)
                             for q, os_, m, _ in record_views]
        for question, options, m, rev in record_views:
            v = view(paths, m, rev)
            views.append(v)
            flows.append(view_flows[v])
            motion.append(motion_of(r, m, rev) if motion_of is not None else unknown)
            questions.append(vocab.encode(question, question_len))
            cands.append(np.stack([vocab.encode(o, option_len) for o in options]
                                  + [np.zeros(option_len, np.int64)] * (4 - len(options))))
            n_cands.append(len(options))
            targets.append(target_of(r))
            group.append(groups[key])
    return Batchable(np.stack(clips), np.array(views, dtype=np.int64), np.stack(questions), np.stack(cands),
                     np.array(n_cands), np.array(targets), np.array(group, dtype=np.int64), np.stack(flows),
                     np.stack(motion).astype(np.float32))
