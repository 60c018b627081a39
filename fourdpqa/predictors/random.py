"""Chance baseline: a uniformly random answer from each question's answer space (the paper's "Random" row).

Seeded per question id, so the same benchmark gives the same answers on every run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from fourdpqa.answers import LETTERS, requested_frames
from fourdpqa.predictors.base import Predictor, Sample
from fourdpqa.seeding import rng as seeded_rng
from fourdpqa.qa_format import serialise_trajectory


class RandomPredictor(Predictor):
    """MC: uniform letter; yes/no: fair coin; numeric: log-uniform in ``numeric_range``; free: uniform over the
    label vocabulary of the question name (when given); trajectory: uniform coordinates in [0, 1]."""

    name = "random"

    def __init__(self, seed: int = 0, numeric_range: tuple[float, float] = (0.1, 10.0),
                 label_vocab: Mapping[str, Sequence[str]] | None = None):
        if not 0 < numeric_range[0] < numeric_range[1]:
            raise ValueError(f"numeric_range must be 0 < low < high, got {numeric_range}")
        self.seed = seed
        self.numeric_range = numeric_range
        self.label_vocab = {k: sorted(set(v)) for k, v in (label_vocab or {}).items()}

    def predict(self, batch: list[Sample]) -> list[str]:
        return [self._answer(s.record) for s in batch]

    def _answer(self, record: Mapping) -> str:
        rng = seeded_rng(self.seed, "random-predictor", record["id"])
        fmt = record["answer_format"]
        if fmt == "mc":
            return LETTERS[int(rng.integers(len(record["options"])))]
        if fmt == "yn":
            return str(rng.choice(["yes", "no"]))
        if fmt == "numeric":
            lo, hi = np.log(self.numeric_range)
            return f"{float(np.exp(rng.uniform(lo, hi))):.2f}"
        if fmt == "free":
            vocab = self.label_vocab.get(record["question_name"], [])
            return str(vocab[int(rng.integers(len(vocab)))]) if vocab else ""
        if fmt == "trajectory":
            return serialise_trajectory([(f, *np.round(rng.uniform(0, 1, 2), 3), "visible")
                                         for f in requested_frames(record)])
        raise ValueError(f"QA {record.get('id')!r}: unknown answer_format {fmt!r}")
