"""Paraphrasing through litellm's mock_response: slot-dropping paraphrases are rejected, the cache answers reruns,
provider errors keep the template, a paraphrase the verification call answers differently is rejected."""

from __future__ import annotations


from fourdpqa.params import PhrasingParams
from fourdpqa.paraphrase_check import slots_kept
from fourdpqa.phrasing import Phraser
from tests.helpers.llm_mock import ScriptedModel

Q = "In frame 3, is the red car closer to the camera than object 2 (boxed in frame 0)?"
SLOTS = ["the red car", "object 2 (boxed in frame 0)", "closer to the camera than", "frame 3"]
GOOD = "Looking at frame 3: is the red car closer to the camera than object 2 (boxed in frame 0)?"
REC = {"id": "v-c0-q08-000", "question": Q, "answer_format": "yn", "options": ["yes", "no"], "answer": "yes",
       "answer_text": "yes", "measurement": {"spec": {}, "values": {}, "slots": SLOTS}}


def _params(tmp_path, **kw) -> PhrasingParams:
    return PhrasingParams(model="gpt-4o-mini", cache_dir=str(tmp_path / "cache"), requests_per_minute=1e6,
                          backoff_s=0, **kw)


def test_paraphrase_keeping_slots_is_verified_accepted_and_cached(tmp_path):
    model = ScriptedModel(lambda q: GOOD)
    ph = Phraser(_params(tmp_path), completion=model)
    assert ph.paraphrase(REC) == (GOOD, True)
    assert len(model.prompts) == 2 and GOOD in model.prompts[1] and "Correct answer: yes" in model.prompts[1]
    again = Phraser(_params(tmp_path), completion=ScriptedModel(lambda q: "something else", lambda told: "no"))
    assert again.paraphrase(REC) == (GOOD, True)  # paraphrase and verdict served from the on-disk cache
    assert again.counts()["cache_hits"] == 2 and "llm_attempts" not in again.counts()


def test_paraphrase_dropping_a_slot_is_rejected(tmp_path):
    dropped = "In frame 3, is the car nearer to the camera than object 2 (boxed in frame 0)?"
    ph = Phraser(_params(tmp_path), extra_kwargs={"mock_response": dropped})
    assert ph.paraphrase(REC) == (Q, False)
    assert ph.stats["rejected_slots"] == 1 and ph.stats["fallbacks"] == 1
    changed_number = "In frame 4, is the red car closer to the camera than object 2 (boxed in frame 0)? frame 3"
    assert not slots_kept(Q, changed_number, SLOTS)


def test_provider_error_keeps_template_and_counts(tmp_path):
    ph = Phraser(_params(tmp_path, max_retries=2), extra_kwargs={"mock_response": Exception("provider down")})
    assert ph.paraphrase(REC) == (Q, False)
    counts = ph.counts()
    # litellm reports the mocked exception as an InternalServerError: transient, so 1 try + 2 retries
    assert counts["llm_attempts"] == 3 and counts["llm_retries"] == 2 and counts["llm_failed"] == 1
    assert counts["no_reply"] == 1 and counts["fallbacks"] == 1
    assert not list(tmp_path.rglob("*.json"))  # failures are not cached


def test_phrase_records_uses_stored_slots(tmp_path):
    good = "Is the red car closer to the camera than object 2 (boxed in frame 0) in frame 3?"
    out = Phraser(_params(tmp_path), completion=ScriptedModel(lambda q: good)).phrase_records([{**REC, "phrased": False}])
    assert out[0]["question"] == good and out[0]["phrased"] and out[0]["answer"] == "yes"
