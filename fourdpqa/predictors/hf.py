"""Hugging Face VLM predictor: a Qwen2.5-VL checkpoint (our fine-tuned tiny model, any HF id or local path)
answering through :class:`fourdpqa.vlm.runner.VLMRunner` — batched greedy generation, device auto."""

from __future__ import annotations

from pathlib import Path

from fourdpqa.predictors.base import Predictor, Sample


class HFPredictor(Predictor):
    """Loads the model once; ``frames`` / ``image_size`` default to what the checkpoint was trained with."""

    def __init__(self, model_path_or_id: str | Path, device: str = "auto", frames: int | None = None,
                 image_size: int | None = None, batch_size: int = 4, max_new_tokens: int = 24,
                 name: str | None = None):
        from fourdpqa.vlm.runner import VLMRunner

        self.name = name or f"hf:{Path(str(model_path_or_id)).name}"
        self.max_new_tokens = max_new_tokens
        self.runner = VLMRunner(model_path_or_id, device=device, frames=frames, image_size=image_size,
                                batch_size=batch_size)

    def predict(self, batch: list[Sample]) -> list[str]:
        return self.runner.generate([(list(s.frames), s.prompt) for s in batch], self.max_new_tokens)
