"""Answers that decline to answer (issue 14.7) are extracted as no answer, in every answer format: "N/A" used to
read as option A or "no", "No idea" and "I cannot answer. No video was provided." as "no". Answers that hedge but
commit, or that name an option which itself reads like an abstention, are still read."""

from __future__ import annotations

import pytest

from fourdpqa.answers import extract_choice, score_answer

RECORDS = {
    "mc": {"answer_format": "mc", "options": ["left", "right", "up", "down"], "answer": "A"},
    "yn": {"answer_format": "yn", "options": ["yes", "no"], "answer": "no"},
    "numeric": {"answer_format": "numeric", "options": [], "answer": "2.0"},
    "free": {"answer_format": "free", "options": [], "answer": "left", "answer_text": "left", "label": "left"},
}
ABSTENTIONS = ["N/A", "I cannot answer", "No idea", "I cannot answer. No video was provided.", "",
               "I'm sorry, I cannot provide the final answer.", "Unknown.", "I don't know. No frames were given."]


@pytest.mark.parametrize("response", ABSTENTIONS)
def test_abstention_is_no_answer_in_every_format(ledger, response):
    scores = {fmt: score_answer(rec, response) for fmt, rec in RECORDS.items()}
    handled = all(s.extracted is None and s.score == 0.0 for s in scores.values())
    ledger.record("evaluate", f"abstention {response!r}", handled=handled, lost=0)
    assert handled, scores


@pytest.mark.parametrize(("response", "options", "letter"), [
    ("I can't be certain, but the final answer is: B", ["left", "right"], "B"),
    ("I cannot see it well; it seems to move left.", ["left", "right"], "A"),
    ("not sure", ["left", "not sure", "right"], "B"),  # VLM4D offers "not sure" as an option
    ("None", ["1", "2", "0"], "C"),  # a count of none
    ("No", ["yes", "no"], "B"),
])
def test_hedged_or_option_like_answers_are_still_read(response, options, letter):
    assert extract_choice(response, options) == letter
