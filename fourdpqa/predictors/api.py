"""API VLM through litellm (any provider litellm speaks): clip frames as base64 JPEG images + the prompt.

Greedy (temperature 0), a per-call timeout and bounded retries with exponential backoff on transient errors.
API keys are read by litellm from the environment; this module never reads, logs or stores them. A question whose
call still fails is answered with an empty string (scored wrong) and counted in :attr:`ApiPredictor.failures`, so
a flaky API lowers the score visibly instead of stopping the evaluation.
"""

from __future__ import annotations

import base64
import logging
import os
import time
from collections.abc import Mapping
from typing import Any

import cv2
import openai

from fourdpqa.predictors.base import Predictor, Sample, load_frames, sample_frames

log = logging.getLogger(__name__)
FALLBACK_ANSWER = ""


def _litellm() -> Any:
    """Import litellm offline-safe (its import otherwise tries to download a model price list)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    return litellm


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
    """``model`` is a litellm model name (e.g. ``gpt-4o``, ``gemini/gemini-2.5-pro``). ``completion_kwargs`` are
    passed through to ``litellm.completion`` (tests pass ``mock_response``)."""

    def __init__(self, model: str, frames: int = 8, max_tokens: int = 256, timeout_s: float = 60.0,
                 max_retries: int = 3, backoff_s: float = 2.0, completion_kwargs: Mapping[str, Any] | None = None):
        self.model = model
        self.name = f"api:{model}"
        self.frames = frames
        self.max_tokens = max_tokens
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.completion_kwargs = dict(completion_kwargs or {})
        self.failures = 0
        self.calls = 0

    def predict(self, batch: list[Sample]) -> list[str]:
        return [self._ask(s) for s in batch]

    def _ask(self, sample: Sample) -> str:
        litellm = _litellm()
        transient = (litellm.Timeout, litellm.RateLimitError, litellm.APIConnectionError,
                     litellm.ServiceUnavailableError, litellm.InternalServerError)
        messages = build_messages(sample, self.frames)
        qid = sample.record.get("id")
        for attempt in range(self.max_retries + 1):
            self.calls += 1
            try:
                response = litellm.completion(model=self.model, messages=messages, temperature=0.0,
                                              max_tokens=self.max_tokens, timeout=self.timeout_s,
                                              **self.completion_kwargs)
                return str(response.choices[0].message.content or "")
            except transient as exc:
                if attempt == self.max_retries:
                    log.warning("api %s: question %s failed after %d tries (%s)", self.model, qid,
                                attempt + 1, type(exc).__name__)
                    break
                time.sleep(self.backoff_s * 2**attempt)
            except openai.OpenAIError as exc:  # auth, bad request, ... (litellm's errors derive from openai's)
                log.warning("api %s: question %s failed (%s)", self.model, qid, type(exc).__name__)
                break
        self.failures += 1
        return FALLBACK_ANSWER
