"""LLM calls are bounded (issue 14.8): one retry policy (no second layer of client retries), a circuit breaker
and a time budget per stage run, with the counts reported. The endpoint is local (127.0.0.1), never the network."""

from __future__ import annotations

import re
import time

import litellm
import numpy as np
import pytest

from fourdpqa.params import LLMCallParams, PhrasingParams
from fourdpqa.phrasing import Phraser
from fourdpqa.predictors.api import FALLBACK_ANSWER, ApiPredictor
from fourdpqa.predictors.base import Sample
from tests.helpers.llm_mock import FailingEndpoint, ScriptedModel

N = 12
FRAMES = [np.full((16, 16, 3), 30 * i, np.uint8) for i in range(4)]
RECORD = {"id": "q", "answer_format": "yn", "options": ["yes", "no"], "answer": "yes", "answer_text": "yes"}
CALLS = LLMCallParams(max_retries=2, backoff_s=0.01, breaker_failures=3, timeout_s=5, requests_per_minute=1e6)


@pytest.mark.parametrize(("case", "status", "tries"), [("API model unavailable (HTTP 503)", 503, 3),
                                                      ("API key rejected (HTTP 401)", 401, 1)])
def test_api_predictor_stops_calling_a_failing_endpoint(monkeypatch, ledger, case, status, tries):
    """3 failed calls (each 1 try + 2 retries when transient, 1 try when not), then no request at all: every
    question answered empty (scored wrong) and counted as failed."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-failing-endpoint-0")
    samples = [Sample(FRAMES, f"Question {i}? Answer with yes or no.", {**RECORD, "id": f"q{i}"}) for i in range(N)]
    with FailingEndpoint(status) as endpoint:
        api = ApiPredictor("openai/gpt-4o-mini", frames=2, calls=CALLS, completion_kwargs={"api_base": endpoint.url})
        answers = api.predict(samples)
    stats = api.client.stats
    ok = (endpoint.hits == 3 * tries == api.calls and api.failures == N and answers == [FALLBACK_ANSWER] * N
          and stats["skipped_breaker"] == N - 3)
    ledger.record("evaluate", case, handled=ok, lost=0)
    assert ok, (endpoint.hits, dict(stats), api.failures)


def test_phrasing_stops_at_its_time_budget(tmp_path, ledger):
    """A model taking 0.4 s per reply and a 1.2 s budget: a few paraphrases, then templates without calls."""
    model = ScriptedModel(lambda q: re.sub(r"^Does the box move forward during (clip \d+)\?$", r"During \1, does the box move forward?", q))

    def slow(**kw):
        time.sleep(0.4)
        return model(**kw)

    params = PhrasingParams(model="gpt-4o-mini", cache_dir=str(tmp_path / "cache"), requests_per_minute=1e6,
                            budget_s=1.2, verify=False)
    # litellm's first completion in a process loads half a second of modules: warm it outside the measured budget
    litellm.completion(model="gpt-4o-mini", messages=[{"role": "user", "content": "warm"}], mock_response="ok")
    records = [{**RECORD, "id": f"q{i}", "question": f"Does the box move forward during clip {i}?",
                "measurement": {"slots": ["forward"]}} for i in range(N)]
    phraser = Phraser(params, completion=slow)
    start = time.monotonic()
    out = phraser.phrase_records(records)
    elapsed = time.monotonic() - start
    c = phraser.counts()
    phrased = [o["phrased"] for o in out]
    templates_kept = all(o["question"] == r["question"] for o, r in zip(out, records) if not o["phrased"])
    # the call still running when the budget ends is cut there (it counts as failed), later ones are not sent
    ok = (1 <= c["llm_attempts"] <= 4 and c["llm_skipped_budget"] == N - c["llm_attempts"]
          and c["llm_succeeded"] == sum(phrased) and c.get("llm_failed", 0) <= 1
          and phrased == sorted(phrased, reverse=True) and templates_kept)
    ledger.record("qa", "phrasing model slower than the time budget", handled=ok and elapsed < 1.2 + 1, lost=0)
    assert ok, c
    assert elapsed < 1.2 + 1, elapsed  # unbounded: N x 0.4 s
