"""Paraphrasing through litellm's mock_response: slot-dropping paraphrases are rejected, the cache answers reruns,
provider errors keep the template."""

from __future__ import annotations

import json

import litellm

from fourdpqa.params import PhrasingParams
from fourdpqa.phrasing import Phraser, slots_kept

Q = "In frame 3, is the red car closer to the camera than object 2 (boxed in frame 0)?"
SLOTS = ["the red car", "object 2 (boxed in frame 0)", "closer to the camera than", "frame 3"]


def _params(tmp_path, **kw) -> PhrasingParams:
    return PhrasingParams(model="gpt-4o-mini", cache_dir=str(tmp_path / "cache"), requests_per_minute=1e6, **kw)


class Counting:
    """litellm.completion wrapper that counts calls (the cache test needs to know none happened)."""

    def __init__(self):
        self.n = 0

    def __call__(self, **kw):
        self.n += 1
        return litellm.completion(**kw)


def test_paraphrase_keeping_slots_is_accepted_and_cached(tmp_path):
    good = "Looking at frame 3: is the red car closer to the camera than object 2 (boxed in frame 0)?"
    calls = Counting()
    ph = Phraser(_params(tmp_path), completion=calls, extra_kwargs={"mock_response": good}, backoff_s=0)
    assert ph.paraphrase(Q, SLOTS) == (good, True)
    assert calls.n == 1
    again = Phraser(_params(tmp_path), completion=calls, extra_kwargs={"mock_response": "something else"}, backoff_s=0)
    assert again.paraphrase(Q, SLOTS) == (good, True)  # served from the on-disk cache
    assert calls.n == 1 and again.stats["cache_hits"] == 1


def test_paraphrase_dropping_a_slot_is_rejected(tmp_path):
    dropped = "In frame 3, is the car nearer to the camera than object 2 (boxed in frame 0)?"
    ph = Phraser(_params(tmp_path), extra_kwargs={"mock_response": dropped}, backoff_s=0)
    assert ph.paraphrase(Q, SLOTS) == (Q, False)
    assert ph.stats["rejected"] == 1 and ph.stats["fallbacks"] == 1
    changed_number = "In frame 4, is the red car closer to the camera than object 2 (boxed in frame 0)? frame 3"
    assert not slots_kept(Q, changed_number, SLOTS)


def test_provider_error_keeps_template_and_counts(tmp_path):
    ph = Phraser(_params(tmp_path, max_retries=2), extra_kwargs={"mock_response": Exception("provider down")}, backoff_s=0)
    assert ph.paraphrase(Q, SLOTS) == (Q, False)
    assert ph.stats["calls"] == 3 and ph.stats["errors"] == 1 and ph.stats["fallbacks"] == 1
    assert not list(tmp_path.rglob("*.json"))  # failures are not cached


def test_phrase_records_uses_stored_slots(tmp_path):
    rec = {"question": Q, "measurement": json.dumps({"spec": {}, "values": {}, "slots": SLOTS}), "answer": "yes", "phrased": False}
    good = "Is the red car closer to the camera than object 2 (boxed in frame 0) in frame 3?"
    out = Phraser(_params(tmp_path), extra_kwargs={"mock_response": good}, backoff_s=0).phrase_records([rec])
    assert out[0]["question"] == good and out[0]["phrased"] and out[0]["answer"] == "yes"
