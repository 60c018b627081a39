"""One retry policy for every LLM call of the pipeline (question phrasing, the API predictor), through litellm.

A call is tried once, plus ``max_retries`` times on a transient error only (timeout, rate limit, connection, 5xx),
waiting ``backoff_s`` and doubling (tenacity). The provider client's own retries are switched off (``max_retries=0``,
which litellm hands to the OpenAI client), so no call is retried twice over: before this, an unreachable model cost
about 15 s per question. One :class:`LLMClient` serves one stage run and also keeps

- a rate limit (``requests_per_minute``);
- a time budget: once ``budget_s`` of wall time has passed since its first call, it sends nothing more;
- a wall-clock bound on every attempt: ``timeout_s`` (never past the budget) counts from the request to the last
  byte of the reply, so an endpoint trickling a byte every few seconds (which resets an HTTP read timeout forever)
  is abandoned at the bound and the attempt counts as a timeout;
- a circuit breaker: once ``breaker_failures`` calls in a row have failed (after their retries), it sends nothing more.

:class:`CachedCompletion` adds the on-disk cache that question phrasing and object captioning share (a reply is
stored under the SHA-256 of model, temperature and prompt, so reruns are free and reproducible).

A call that is not sent or fails returns ``None``; the caller keeps its fallback (the template text, an empty and
scored-wrong answer) and ``stats`` counts attempts, retries, failures and calls not sent, for the stage report.
API keys are read by litellm from the environment; nothing here logs request arguments.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, stop_any, wait_exponential

from fourdpqa.atomic import write_json
from fourdpqa.params import LLMCallParams

log = logging.getLogger("fourdpqa.llm")
MAX_WAIT_S = 60.0  # longest backoff between two attempts


class CallTimedOut(TimeoutError):
    """An attempt got no complete reply within its wall-clock bound (a transient error: it may be retried)."""


def bounded(fn: Callable[[], Any], seconds: float) -> Any:
    """``fn()`` in a daemon thread, waited for at most ``seconds`` of wall time: :class:`CallTimedOut` after that
    (the abandoned request ends with its connection; nothing waits for it)."""
    if seconds <= 0:
        raise CallTimedOut("no time left in the budget for another attempt")
    box: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, daemon=True, name="fourdpqa-llm-call").start()
    if not done.wait(seconds):
        raise CallTimedOut(f"no complete reply within {seconds:.1f} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def litellm_module() -> Any:
    """litellm, imported offline-safe (its import otherwise tries to download a model price list)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    return litellm


def transient_errors(litellm: Any) -> tuple[type[BaseException], ...]:
    """Errors worth another attempt; anything else (bad key, bad request) fails the call at once."""
    return (CallTimedOut, litellm.Timeout, litellm.RateLimitError, litellm.APIConnectionError,
            litellm.ServiceUnavailableError, litellm.InternalServerError)


class LLMClient:
    """Completions of ``model`` under ``policy`` for one stage run.

    ``call_kwargs`` go to every completion (e.g. ``temperature``; tests pass litellm's ``mock_response``);
    ``completion`` replaces ``litellm.completion`` and ``sleep``/``clock`` the time functions (tests).
    """

    def __init__(self, model: str, policy: LLMCallParams, completion: Callable[..., Any] | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 **call_kwargs: Any) -> None:
        self.model = model
        self.policy = policy
        self.call_kwargs = call_kwargs
        self._completion = completion
        self._sleep = sleep
        self._clock = clock
        self._started: float | None = None
        self._last_attempt = -math.inf
        self._failed_in_row = 0
        self.stats: Counter[str] = Counter()

    @property
    def breaker_open(self) -> bool:
        return self._failed_in_row >= self.policy.breaker_failures

    def remaining_s(self) -> float:
        """Seconds left of the time budget."""
        spent = 0.0 if self._started is None else self._clock() - self._started
        return self.policy.budget_s - spent

    def complete(self, messages: list[dict], **kwargs: Any) -> str | None:
        """The reply text, or None when the call was not sent (breaker open, budget spent) or failed."""
        if self.breaker_open:
            self.stats["skipped_breaker"] += 1
            return None
        if self.remaining_s() <= 0:
            self.stats["skipped_budget"] += 1
            return None
        if self._started is None:
            self._started = self._clock()
        litellm = litellm_module()
        completion = self._completion or litellm.completion
        retrying = Retrying(
            retry=retry_if_exception_type(transient_errors(litellm)),
            stop=stop_any(stop_after_attempt(self.policy.max_retries + 1), lambda _: self.remaining_s() <= 0),
            wait=self._wait, sleep=self._sleep, reraise=True,
            before_sleep=lambda _: self.stats.update(["retries"]))
        try:
            text = retrying(self._attempt, completion, messages, kwargs)
        except Exception as exc:  # noqa: BLE001 - any provider error means "keep the fallback"
            self._failed_in_row += 1
            self.stats["failed"] += 1
            log.warning("LLM %s: call failed (%s)%s", self.model, type(exc).__name__,
                        f"; {self._failed_in_row} in a row: circuit breaker open, no more calls this run"
                        if self.breaker_open else "")
            return None
        self._failed_in_row = 0
        self.stats["succeeded"] += 1
        return text

    def _wait(self, state: RetryCallState) -> float:
        """Exponential backoff, never past the end of the budget."""
        backoff = wait_exponential(multiplier=self.policy.backoff_s, max=MAX_WAIT_S)(state)
        return max(0.0, min(backoff, self.remaining_s()))

    def _attempt(self, completion: Callable[..., Any], messages: list[dict], kwargs: dict[str, Any]) -> str:
        wait = 60.0 / self.policy.requests_per_minute - (self._clock() - self._last_attempt)
        if wait > 0:
            self._sleep(min(wait, max(self.remaining_s(), 0.0)))
        self._last_attempt = self._clock()
        self.stats["attempts"] += 1
        timeout = min(self.policy.timeout_s, max(self.remaining_s(), 0.0))
        response = bounded(lambda: completion(model=self.model, messages=messages, timeout=max(timeout, 0.1),
                                              max_retries=0, **{**self.call_kwargs, **kwargs}), timeout)
        return str(response.choices[0].message.content or "")


class CachedCompletion:
    """Completions of one model for one stage run through an :class:`LLMClient`, cached on disk: a reply is stored
    as ``<cache_dir>/<sha256 of (model, temperature, prompt)>.json``, so a rerun sends nothing it has sent before.
    ``messages(prompt)`` builds the request from the prompt string (e.g. with an image); ``stats`` counts cache
    hits, the client's own counts are in ``client.stats``."""

    def __init__(self, model: str, policy: LLMCallParams, cache_dir: str | Path, temperature: float,
                 completion: Callable[..., Any] | None = None, sleep: Callable[[float], None] = time.sleep,
                 messages: Callable[[str], list[dict]] | None = None, **call_kwargs: Any) -> None:
        self.model, self.temperature = model, temperature
        self.cache_dir = Path(cache_dir)
        self.messages = messages or (lambda prompt: [{"role": "user", "content": prompt}])
        self.client = LLMClient(model, policy, completion, sleep, temperature=temperature, **call_kwargs)
        self.stats: Counter[str] = Counter()

    def key(self, prompt: str) -> str:
        blob = json.dumps({"model": self.model, "temperature": self.temperature, "prompt": prompt}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def __call__(self, prompt: str) -> str | None:
        """The cached or new reply to ``prompt``; ``None`` when the call failed or was not sent (nothing cached)."""
        path = self.cache_dir / f"{self.key(prompt)}.json"
        if path.exists():
            self.stats["cache_hits"] += 1
            return json.loads(path.read_text())["text"]
        text = self.client.complete(self.messages(prompt))
        if text is not None:
            write_json(path, {"text": text})
        return text
