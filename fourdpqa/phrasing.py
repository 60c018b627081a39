"""Optional LLM paraphrase of question text through litellm (paper Sec. 3.2: diverse phrasing of templates).

Offline default (``phrasing.model: null``): template text is kept. With a model, every call is cached on disk
under the SHA-256 of (model, temperature, prompt), so reruns are free and reproducible; calls follow the pipeline's
one retry policy (:mod:`fourdpqa.llm`: a wall-clock bound per call, retries of transient errors, rate limit, a time
budget and a circuit breaker for the whole stage run). A paraphrase that would make the stored answer wrong is
**rejected** and the template kept:

1. the rule-based check of :mod:`fourdpqa.paraphrase_check` (slots and their order, numbers and their order,
   sentence count, question kind, negations, answer-bearing words);
2. with ``phrasing.verify``, a second call answers the paraphrase — shown with the template's options and told the
   template's answer — and must give that answer (scored by :func:`fourdpqa.answers.score_answer`);
3. the caller's ``check`` (the qa stage passes oracle-2: a paraphrase whose referenced objects or geometry it reads
   differently from the template's is rejected here, so it never reaches assembly, whatever the verifier said).

``counts()`` (accepted, rejected per reason, fallbacks, and the calls' own counts) goes into the qa stage report.
API keys are read by litellm from the environment; nothing here logs or stores request arguments.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from fourdpqa.answers import score_answer
from fourdpqa.llm import CachedCompletion
from fourdpqa.paraphrase_check import meaning_changed
from fourdpqa.params import PhrasingParams
from fourdpqa.qa_format import format_prompt

log = logging.getLogger("fourdpqa.phrasing")
PROMPT = (
    "Rewrite the following question about a video so that it reads naturally and differently, without changing "
    "its meaning. Keep each of these phrases exactly as written: {slots}. Do not add or remove numbers, options "
    "or facts. Reply with the rewritten question only.\n\nQuestion: {text}"
)
VERIFY_PROMPT = (
    "A question about a video and its correct answer:\nQuestion: {question}\nCorrect answer: {answer}\n\n"
    "Using only that fact, answer this question about the same video.\n\n{reworded}"
)
AGREES = 0.999  # verification score needed (exact for choices; numbers and tracks must match too)
# why a phrased record may not replace its template record (None: it may), e.g. oracle-2 reading it differently
Check = Callable[[Mapping[str, Any], Mapping[str, Any]], str | None]


class Phraser:
    """Paraphrases question texts for one stage run; ``stats`` counts cache hits, accepted and rejected ones."""

    def __init__(self, params: PhrasingParams, completion: Callable[..., Any] | None = None,
                 extra_kwargs: dict | None = None, sleep: Callable[[float], None] = time.sleep):
        if not params.model:
            raise ValueError("phrasing.model is not set: nothing to paraphrase with")
        self.params = params
        self.generate = CachedCompletion(params.model, params, params.cache_dir, params.temperature, completion,
                                         sleep, **dict(extra_kwargs or {}))
        self.client = self.generate.client
        self.stats: Counter[str] = Counter()

    def verified(self, record: Mapping[str, Any], paraphrase: str) -> bool | None:
        """Whether the model, told the template's answer, answers the paraphrase the same way (None: no reply)."""
        answer = record.get("answer_text") or record["answer"]
        prompt = VERIFY_PROMPT.format(question=record["question"], answer=answer,
                                      reworded=format_prompt({**record, "question": paraphrase}))
        reply = self.generate(prompt)
        return None if reply is None else score_answer(record, reply).score >= AGREES

    def paraphrase(self, record: Mapping[str, Any], check: Check | None = None) -> tuple[str, bool]:
        """(text, phrased): the paraphrase of ``record["question"]`` if it passed every check, else the template."""
        text = str(record["question"])
        slots = (record.get("measurement") or {}).get("slots") or []
        reply = self.generate(PROMPT.format(slots="; ".join(f'"{s}"' for s in slots) or "(none)", text=text))
        reply = None if reply is None else reply.strip().strip('"').strip()
        reason = self._rejection(record, reply, slots)
        if reason is None and check is not None:
            why = check(record, {**record, "question": reply})
            if why:
                log.debug("paraphrase of %s rejected: %s", record.get("id"), why)
                reason = "rejected_oracle"
        if reason:
            self.stats[reason] += 1
            self.stats["fallbacks"] += 1
            return text, False
        self.stats["accepted"] += 1
        return str(reply), True

    def _rejection(self, record: Mapping[str, Any], reply: str | None, slots: list[str]) -> str | None:
        """The stats key saying why ``reply`` may not replace the template, or None when it may."""
        if reply is None:
            return "no_reply"
        why = meaning_changed(record, reply, slots) if reply else "is empty"
        if why:
            log.debug("paraphrase of %s rejected: %s", record.get("id"), why)
            return "rejected_slots" if why.startswith("drops a slot") else "rejected_meaning"
        if not self.params.verify:
            return None
        agrees = self.verified(record, reply)
        return None if agrees else ("no_reply" if agrees is None else "rejected_verification")

    def phrase_records(self, records: list[dict], check: Check | None = None) -> list[dict]:
        """Records with paraphrased questions (``phrased`` set where accepted); answers are never touched."""
        out = []
        for rec in records:
            text, ok = self.paraphrase(rec, check)
            out.append({**rec, "question": text, "phrased": ok})
        log.info("phrasing: %s", self.counts())
        return out

    def counts(self) -> dict[str, int]:
        """Paraphrase outcomes and the LLM calls behind them (``llm_*``), for the stage report."""
        return {**self.stats, **self.generate.stats, **{f"llm_{k}": v for k, v in self.client.stats.items()}}
