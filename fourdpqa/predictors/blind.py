"""Text-only prior: answers from the question's type and options alone, never looking at the frames.

It learns, from the training table, which answer text is most frequent per question name (and which letter / yes-no /
number as a fallback). If it beats chance on the benchmark, the benchmark leaks answers through its wording or
its answer distribution — the blind-bias audit of the validate stage uses it for exactly that.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from statistics import median
from typing import Any

from fourdpqa.answers import LETTERS, normalize_text, requested_frames
from fourdpqa.predictors.base import Predictor, Sample
from fourdpqa.qa_format import serialise_trajectory


class BlindPredictor(Predictor):
    """Majority answer per question name learned by :meth:`fit`; unseen names fall back to "A" / "no" / 1.0."""

    name = "blind"

    def __init__(self) -> None:
        self.text_counts: dict[str, Counter[str]] = defaultdict(Counter)  # question_name -> answer text counts
        self.letter_counts: dict[str, Counter[str]] = defaultdict(Counter)
        self.yes_no: dict[str, Counter[str]] = defaultdict(Counter)
        self.numbers: dict[str, list[float]] = defaultdict(list)

    def fit(self, records: Iterable[Mapping[str, Any]]) -> "BlindPredictor":
        for r in records:
            name, fmt = r["question_name"], r["answer_format"]
            if fmt == "mc":
                self.letter_counts[name][str(r["answer"])] += 1
                self.text_counts[name][normalize_text(r["answer_text"])] += 1
            elif fmt == "yn":
                self.yes_no[name][normalize_text(r["answer"])] += 1
            elif fmt == "numeric":
                self.numbers[name].append(float(r["answer"]))
            elif fmt == "free":
                self.text_counts[name][normalize_text(r["answer"])] += 1
        return self

    def predict(self, batch: list[Sample]) -> list[str]:
        return [self._answer(s.record) for s in batch]

    def _answer(self, record: Mapping[str, Any]) -> str:
        name, fmt = record["question_name"], record["answer_format"]
        if fmt == "mc":
            return self._choose(record["options"], self.text_counts[name], self.letter_counts[name])
        if fmt == "yn":
            counts = self.yes_no[name]
            return max(("no", "yes"), key=lambda a: counts[a])  # ties -> "no"
        if fmt == "numeric":
            values = self.numbers[name]
            return f"{median(values):.2f}" if values else "1.00"
        if fmt == "free":
            counts = self.text_counts[name]
            return counts.most_common(1)[0][0] if counts else ""
        if fmt == "trajectory":  # no pixels, no idea where the point is: the image centre, visible
            return serialise_trajectory([(f, 0.5, 0.5, "visible") for f in requested_frames(record)])
        raise ValueError(f"QA {record.get('id')!r}: unknown answer_format {fmt!r}")

    @staticmethod
    def _choose(options: list[Any], texts: Counter[str], letters: Counter[str]) -> str:
        """The option whose text was most often the right answer; ties (and unseen texts) by letter frequency,
        then by display order."""
        valid = LETTERS[: len(options)]
        best = max(range(len(options)),
                   key=lambda i: (texts[normalize_text(options[i])], letters[valid[i]], -i))
        return valid[best]
