"""The one predictor interface: a batch of (clip frames, prompt, QA record) -> one text answer each.

Every model and baseline — random, text-only prior, geometry oracle, optical-flow heuristic, local Hugging Face
VLM, API VLM — answers through :meth:`Predictor.predict`, and every answer is scored by the same extractor
(:mod:`fourdpqa.answers`), so the Table-2 rows are comparable.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from fourdpqa.predictors.contract import MAX_RESPONSE_CHARS, checked_answers

Frame = np.ndarray | str | Path  # RGB uint8 (H, W, 3) array, or the path of an image file


@dataclass(frozen=True)
class Sample:
    """One question to answer.

    frames: the clip, in order — RGB uint8 arrays (H, W, 3) or image paths (read lazily by :func:`load_frames`).
    prompt: the exact text the model sees (``fourdpqa.qa_format.format_prompt`` for our records).
    record: the QA record (``schemas/qa.py`` fields; VLM4D samples carry their own fields).
    """

    frames: Sequence[Frame]
    prompt: str
    record: Mapping[str, Any]


class Predictor(ABC):
    """Answers questions about clips; ``name`` labels its row in reports."""

    name: str = "predictor"

    @abstractmethod
    def predict(self, batch: list[Sample]) -> list[str]:
        """One raw text answer per sample, in order."""

    def answer(self, batch: list[Sample], max_chars: int = MAX_RESPONSE_CHARS) -> list[str]:
        """:meth:`predict` under the evaluation contract: one sanitised text answer per sample, else a
        :class:`~fourdpqa.predictors.contract.PredictorContractError` naming this predictor and the questions."""
        return checked_answers(self.name, [s.record.get("id") for s in batch], self.predict(batch), max_chars)


def stable_seed(*parts: object) -> int:
    """A 63-bit integer from text parts that is the same on every run and machine (unlike Python's ``hash``)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def load_frame(frame: Frame) -> np.ndarray:
    """RGB uint8 (H, W, 3) of an array or image path; a missing/unreadable file raises naming the path."""
    if isinstance(frame, np.ndarray):
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"frame array must be uint8 (H, W, 3), got {frame.dtype} {frame.shape}")
        return frame
    bgr = cv2.imread(str(frame), cv2.IMREAD_COLOR)
    if bgr is None:
        raise OSError(f"cannot read frame image {frame}")
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
