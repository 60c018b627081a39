"""The one predictor interface: a batch of (clip frames, prompt, QA record) -> one text answer each.

Every model and baseline — random, text-only prior, geometry oracle, optical-flow heuristic, local Hugging Face
VLM, API VLM — answers through :meth:`Predictor.predict`, and every answer is scored by the same extractor
(:mod:`fourdpqa.answers`), so the Table-2 rows are comparable.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fourdpqa.frames import Frame, load_frame, load_frames, sample_frames, uniform_indices
from fourdpqa.predictors.contract import MAX_RESPONSE_CHARS, checked_answers


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


__all__ = ["Frame", "Predictor", "Sample", "load_frame", "load_frames", "sample_frames", "uniform_indices"]
