"""litellm API predictor with mocked responses: message layout, greedy call, retries, fallback, no key leaks."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from fourdpqa.answers import score_answer
from fourdpqa.llm import litellm_module as _litellm
from fourdpqa.params import LLMCallParams
from fourdpqa.predictors.api import FALLBACK_ANSWER, ApiPredictor, build_messages
from fourdpqa.predictors.base import Sample

FRAMES = [np.full((16, 16, 3), 20 * i, np.uint8) for i in range(6)]
RECORD = {"id": "q1", "answer_format": "mc", "options": ["left", "right", "up", "down"], "answer": "B"}
SAMPLE = Sample(FRAMES, "Which way?\nA. left\nB. right\nC. up\nD. down", RECORD)


def test_messages_hold_sampled_frames_then_prompt() -> None:
    (message,) = build_messages(SAMPLE, n_frames=3)
    assert message["role"] == "user"
    kinds = [c["type"] for c in message["content"]]
    assert kinds == ["image_url"] * 3 + ["text"]
    assert message["content"][0]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert message["content"][-1]["text"] == SAMPLE.prompt


def test_mocked_answer_is_scored() -> None:
    api = ApiPredictor("gpt-4o-mini", frames=2, completion_kwargs={"mock_response": "Therefore, the final answer is: B"})
    (answer,) = api.predict([SAMPLE])
    assert score_answer(RECORD, answer).score == 1.0
    assert api.failures == 0 and api.calls == 1


def test_transient_errors_are_retried_then_fall_back(monkeypatch, caplog) -> None:
    litellm = _litellm()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-very-secret-key-123")
    error = litellm.RateLimitError("slow down", llm_provider="openai", model="gpt-4o-mini")
    api = ApiPredictor("gpt-4o-mini", frames=2, calls=LLMCallParams(max_retries=2, backoff_s=0.0),
                       completion_kwargs={"mock_response": error})
    with caplog.at_level(logging.DEBUG):
        answers = api.predict([SAMPLE, SAMPLE])
    assert answers == [FALLBACK_ANSWER, FALLBACK_ANSWER]
    assert api.failures == 2 and api.calls == 6  # 1 try + 2 retries, per question
    assert score_answer(RECORD, answers[0]).score == 0.0
    assert "sk-test-very-secret-key-123" not in caplog.text


def test_retry_recovers(monkeypatch) -> None:
    litellm = _litellm()
    real = litellm.completion
    calls = {"n": 0}

    def flaky(**kw):
        calls["n"] += 1
        if calls["n"] == 1:
            raise litellm.Timeout("timed out", model="gpt-4o-mini", llm_provider="openai")
        assert kw["temperature"] == 0.0 and kw["timeout"] == 5.0 and kw["max_retries"] == 0  # no client retries
        return real(mock_response="(C)", **kw)

    monkeypatch.setattr(litellm, "completion", flaky)
    api = ApiPredictor("gpt-4o-mini", frames=2, calls=LLMCallParams(timeout_s=5.0, backoff_s=0.0))
    assert api.predict([SAMPLE]) == ["(C)"]
    assert api.failures == 0 and calls["n"] == 2


def test_non_transient_error_is_not_retried() -> None:
    litellm = _litellm()
    error = litellm.AuthenticationError("bad key", llm_provider="openai", model="gpt-4o-mini")
    api = ApiPredictor("gpt-4o-mini", frames=2, calls=LLMCallParams(max_retries=3, backoff_s=0.0),
                       completion_kwargs={"mock_response": error})
    assert api.predict([SAMPLE]) == [FALLBACK_ANSWER]
    assert api.calls == 1 and api.failures == 1


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3), np.float32)])
def test_bad_frames_are_rejected(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="uint8"):
        build_messages(Sample([bad], "q", RECORD), 1)
