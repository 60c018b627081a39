"""Hugging Face VLM predictor: a Qwen2.5-VL checkpoint (our fine-tuned tiny model, any HF id or local path)
answering through :class:`fourdpqa.vlm.runner.VLMRunner` — batched greedy generation, device auto."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fourdpqa.predictors.base import Predictor, Sample
from schemas.qa import LETTERS


class HFPredictor(Predictor):
    """Loads the model once; ``frames`` / ``image_size`` default to what the checkpoint was trained with. With
    ``constrained``, MC and yes/no questions are answered by the most likely allowed answer (option letter or
    yes / no, :meth:`VLMRunner.choose`) instead of free generation."""

    def __init__(self, model_path_or_id: str | Path, device: str = "auto", frames: int | None = None,
                 image_size: int | None = None, batch_size: int = 4, max_new_tokens: int = 24,
                 name: str | None = None, constrained: bool = False):
        from fourdpqa.vlm.runner import VLMRunner

        self.name = name or f"hf:{Path(str(model_path_or_id)).name}"
        self.max_new_tokens = max_new_tokens
        self.constrained = constrained
        self.runner = VLMRunner(model_path_or_id, device=device, frames=frames, image_size=image_size,
                                batch_size=batch_size)

    def predict(self, batch: list[Sample]) -> list[str]:
        choices = [allowed_answers(s.record) if self.constrained else None for s in batch]
        free = [s for s, c in zip(batch, choices, strict=True) if c is None]
        generated = iter(self.runner.generate([(list(s.frames), s.prompt) for s in free], self.max_new_tokens))
        return [next(generated) if c is None else self.runner.choose([(list(s.frames), s.prompt, c)])[0]
                for s, c in zip(batch, choices, strict=True)]


def allowed_answers(record: Mapping[str, Any]) -> list[str] | None:
    """The answers a constrained model picks from: option letters for MC, yes / no; None for other formats."""
    if record.get("answer_format") == "mc":
        return list(LETTERS[: len(record["options"])])
    if record.get("answer_format") == "yn":
        return ["yes", "no"]
    return None
