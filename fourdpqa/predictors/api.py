"""API VLM through litellm (any provider litellm speaks): clip frames as base64 JPEG images + the prompt.

Greedy (temperature 0). Calls follow the pipeline's one retry policy (:class:`fourdpqa.llm.LLMClient`: per-call
timeout, retries of transient errors with backoff, a time budget and a circuit breaker per evaluation run).
API keys are read by litellm from the environment; this module never reads, logs or stores them. A question whose
call fails or is not sent is answered with an empty string (scored wrong) and counted in
:attr:`ApiPredictor.failures`, so a flaky API lowers the score visibly instead of stopping the evaluation.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Mapping
from typing import Any

import cv2

from fourdpqa.llm import LLMClient
from fourdpqa.params import LLMCallParams
from fourdpqa.predictors.base import Predictor, Sample, load_frames, sample_frames

FALLBACK_ANSWER = ""


def encode_jpeg(rgb: Any, quality: int = 90) -> str:
    """RGB uint8 (H, W, 3) -> ``data:image/jpeg;base64,...`` URL."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding of a frame failed")
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


def build_messages(sample: Sample, n_frames: int) -> list[dict]:
    """One user message: the sampled frames in order, then the prompt text."""
    frames = load_frames(sample_frames(sample.frames, n_frames))
    content: list[dict] = [{"type": "image_url", "image_url": {"url": encode_jpeg(f)}} for f in frames]
    content.append({"type": "text", "text": sample.prompt})
    return [{"role": "user", "content": content}]


class ApiPredictor(Predictor):
    """``model`` is a litellm model name (e.g. ``gpt-4o``, ``gemini/gemini-2.5-pro``); ``calls`` bounds the calls
    (``params.evaluate.api_calls``). ``completion_kwargs`` are passed through to ``litellm.completion`` (tests pass
    ``mock_response``) and ``completion`` replaces it."""

    def __init__(self, model: str, frames: int = 8, max_tokens: int = 256, calls: LLMCallParams | None = None,
                 completion_kwargs: Mapping[str, Any] | None = None, completion: Callable[..., Any] | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.model = model
        self.name = f"api:{model}"
        self.frames = frames
        self.client = LLMClient(model, calls or LLMCallParams(timeout_s=60.0, backoff_s=2.0), completion, sleep,
                                temperature=0.0, max_tokens=max_tokens, **dict(completion_kwargs or {}))
        self.failures = 0

    @property
    def calls(self) -> int:
        """Requests sent, retries included."""
        return self.client.stats["attempts"]

    def predict(self, batch: list[Sample]) -> list[str]:
        return [self._ask(s) for s in batch]

    def _ask(self, sample: Sample) -> str:
        answer = self.client.complete(build_messages(sample, self.frames))
        if answer is None:
            self.failures += 1
            return FALLBACK_ANSWER
        return answer
