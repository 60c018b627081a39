"""Optional LLM paraphrase of question text through litellm (paper Sec. 3.2: diverse phrasing of templates).

Offline default (``phrasing.model: null``): template text is kept. With a model, every call is cached on disk
under the SHA-256 of (model, temperature, prompt), so reruns are free and reproducible; calls are rate limited,
time out, and are retried with exponential backoff. A paraphrase is **rejected** (template kept, counted) unless it
keeps every slot value verbatim — object references, frame indices, labels, timestamps — and the same set of
numbers as the template: a paraphrase that changes what is asked would make the stored answer wrong. API keys are
read by litellm from the environment; nothing here logs or stores request arguments.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fourdpqa.atomic import write_json
from fourdpqa.params import PhrasingParams

log = logging.getLogger("fourdpqa.phrasing")
NUMBER = re.compile(r"\d+(?:\.\d+)?")
PROMPT = (
    "Rewrite the following question about a video so that it reads naturally and differently, without changing "
    "its meaning. Keep each of these phrases exactly as written: {slots}. Do not add or remove numbers, options "
    "or facts. Reply with the rewritten question only.\n\nQuestion: {text}"
)


def slots_kept(template: str, paraphrase: str, slots: list[str]) -> bool:
    """Every slot string occurs (case-insensitively) and the multiset of numbers is unchanged."""
    low = paraphrase.lower()
    if any(s.lower() not in low for s in slots):
        return False
    return Counter(NUMBER.findall(template)) == Counter(NUMBER.findall(paraphrase))


class Phraser:
    """Paraphrases question texts; ``stats`` counts calls, cache hits, accepted, rejected and failed ones."""

    def __init__(self, params: PhrasingParams, completion: Callable[..., Any] | None = None,
                 extra_kwargs: dict | None = None, backoff_s: float = 1.0):
        if not params.model:
            raise ValueError("phrasing.model is not set: nothing to paraphrase with")
        self.params = params
        self.cache_dir = Path(params.cache_dir)
        self._completion = completion
        self.extra_kwargs = dict(extra_kwargs or {})
        self.backoff_s = backoff_s
        self._last_call = 0.0
        self.stats: Counter[str] = Counter()

    def _key(self, prompt: str) -> str:
        blob = json.dumps({"model": self.params.model, "temperature": self.params.temperature, "prompt": prompt}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def _messages(self, prompt: str) -> list[dict]:
        """The chat messages for ``prompt`` (subclasses send images, e.g. the object captioner)."""
        return [{"role": "user", "content": prompt}]

    def _call(self, prompt: str) -> str:
        if self._completion is None:
            import litellm

            self._completion = litellm.completion
        wait = 60.0 / self.params.requests_per_minute - (time.monotonic() - self._last_call)
        if wait > 0:
            time.sleep(wait)
        self._last_call = time.monotonic()
        self.stats["calls"] += 1
        resp = self._completion(model=self.params.model, messages=self._messages(prompt),
                                temperature=self.params.temperature, timeout=self.params.timeout_s, **self.extra_kwargs)
        return str(resp.choices[0].message.content or "").strip()

    def generate(self, prompt: str) -> str | None:
        """Cached completion of ``prompt``; ``None`` after ``max_retries`` failed attempts."""
        path = self.cache_dir / f"{self._key(prompt)}.json"
        if path.exists():
            self.stats["cache_hits"] += 1
            return json.loads(path.read_text())["text"]
        for attempt in range(self.params.max_retries + 1):
            try:
                text = self._call(prompt)
            except Exception as exc:  # noqa: BLE001 - any provider error means "keep the template"
                log.warning("phrasing call failed (attempt %d): %s", attempt + 1, type(exc).__name__)
                if attempt < self.params.max_retries:
                    time.sleep(self.backoff_s * 2 ** attempt)
                continue
            write_json(path, {"text": text})
            return text
        self.stats["errors"] += 1
        return None

    def paraphrase(self, text: str, slots: list[str]) -> tuple[str, bool]:
        """(text, phrased): the paraphrase if it kept every slot, else the template text."""
        out = self.generate(PROMPT.format(slots="; ".join(f'"{s}"' for s in slots) or "(none)", text=text))
        if out is None:
            self.stats["fallbacks"] += 1
            return text, False
        out = out.strip().strip('"').strip()
        if not out or not slots_kept(text, out, slots):
            self.stats["rejected"] += 1
            self.stats["fallbacks"] += 1
            return text, False
        self.stats["accepted"] += 1
        return out, True

    def phrase_records(self, records: list[dict]) -> list[dict]:
        """Records with paraphrased questions (``phrased`` set where accepted); answers are never touched."""
        out = []
        for rec in records:
            slots = json.loads(rec["measurement"]).get("slots", [])
            text, ok = self.paraphrase(rec["question"], slots)
            out.append({**rec, "question": text, "phrased": ok})
        log.info("phrasing: %s", dict(self.stats))
        return out
