"""Negated, hedged and multi-answer responses are abstentions (issue 25.5), like the VLM4D judge's "No Valid Answer":
"The answer is not B.", "B is wrong." and "Definitely not no." used to read as B / B / no, so a predictor answering
"Definitely not <truth>" scored 100%. Every phrasing below names the stored answer only to deny it or hedges between
answers; scoring it against a record whose answer is exactly that must give no answer and 0. Answers that commit
(also after ruling another option out) are still read."""

from __future__ import annotations

import pytest

from fourdpqa.answers import score_answer

MC = {"answer_format": "mc", "options": ["left", "right", "up", "down"], "answer": "B"}  # B = "right"
YN_NO = {"answer_format": "yn", "options": ["yes", "no"], "answer": "no"}
YN_YES = {"answer_format": "yn", "options": ["yes", "no"], "answer": "yes"}
NUMERIC = {"answer_format": "numeric", "options": [], "answer": "3.0"}

# (record, response): each denies or hedges the record's own answer
NEGATED = [
    (MC, "The answer is not B."), (MC, "B is wrong."), (MC, "Not B."), (MC, "Definitely not B"),
    (MC, "It is not B"), (MC, "It isn't B."), (MC, "(B) is incorrect."), (MC, "B is not correct."),
    (MC, "Option B is wrong."), (MC, "The correct answer is not (B)."), (MC, "Not option B."),
    (MC, "I would not choose B."), (MC, "B can be ruled out."), (MC, "Anything but B."),
    (MC, "The object does not move right."), (MC, "It is not moving right."), (MC, "Definitely not right."),
    (MC, "Not to the right."), (MC, "right is wrong"), (MC, "Rather than right, hard to say."),
    (MC, "It never moves right."), (MC, "Certainly not B"), (MC, "B? No, B is false."),
    (YN_NO, "Definitely not no."), (YN_NO, "Not no."), (YN_NO, "The answer is not no."),
    (YN_NO, "I would not say no."), (YN_NO, "No is wrong."), (YN_YES, "Not yes."), (YN_YES, "Definitely not yes"),
    (YN_YES, "The answer is not yes."), (YN_YES, "I wouldn't say yes."), (YN_YES, "Yes is incorrect."),
    (YN_YES, "Certainly not a yes."), (NUMERIC, "The answer is not 3."), (NUMERIC, "Not 3 m."),
    (NUMERIC, "It is definitely not 3."),
]
HEDGED = [
    (MC, "B or C"), (MC, "Either B or C."), (MC, "The answer is B or C."), (MC, "The answer is B and C."),
    (MC, "Final answer: B, C"), (MC, "B/C"), (MC, "The final answer is: B / D"), (MC, "right or up"),
    (MC, "Either right or left."), (MC, "It could be right or down."), (MC, "The answer is (B) or (D)."),
    (MC, "Answer: B & C"), (MC, "B and D"), (YN_NO, "yes or no"), (YN_NO, "Maybe yes, maybe no."),
    (YN_YES, "Yes and no."), (NUMERIC, "2 or 3 m"), (NUMERIC, "Between 2 and 3 metres."),
    (NUMERIC, "3 or 4"), (NUMERIC, "about 3 m or maybe 4 m"),
]


@pytest.mark.parametrize(("record", "response"), NEGATED + HEDGED,
                         ids=[f"{r['answer_format']}:{t}" for r, t in NEGATED + HEDGED])
def test_a_denied_or_hedged_answer_is_no_answer(ledger, record, response):
    score = score_answer(record, response)
    handled = score.extracted is None and score.score == 0.0
    ledger.record("evaluate", f"{record['answer_format']} response {response!r}", handled=handled, lost=0,
                  kind="silently wrong")
    assert handled, score


TRUTHS = [("left", "A"), ("right", "B"), ("up", "C"), ("down", "D")]


def test_a_predictor_answering_definitely_not_the_truth_scores_zero(ledger):
    """Before: 100%. Every phrasing of "not <truth>" over every truth (letter and text), MC and yes/no."""
    records = [{**MC, "answer": letter} for _, letter in TRUTHS] + [YN_NO, YN_YES]
    scores = []
    for rec in records:
        truth = rec["answer"]
        text = rec["options"][ord(truth) - 65] if rec["answer_format"] == "mc" else truth
        for template in ("Definitely not {}.", "The answer is not {}.", "{} is wrong.", "Not {}"):
            scores += [score_answer(rec, template.format(t)).score for t in {truth, text}]
    mean = sum(scores) / len(scores)
    ledger.record("evaluate", "predictor answering 'Definitely not <truth>'", handled=mean == 0.0, lost=0,
                  kind="silently wrong")
    assert mean == 0.0


@pytest.mark.parametrize(("record", "response", "extracted"), [
    (MC, "C, not B.", "C"), (MC, "It moves up, not right.", "C"), (MC, "The answer is B, not C.", "B"),
    (MC, "Not left: it moves right.", "B"), (MC, "B", "B"), (MC, "I think it's B.", "B"),
    (MC, "I'm not sure, but I would say B.", "B"), (MC, "Left is wrong, so the answer is B.", "B"),
    (YN_NO, "No, it does not move.", "no"), (YN_NO, "No.", "no"), (YN_YES, "Yes, it is not static.", "yes"),
    (NUMERIC, "about 3 m", "3.0"), (NUMERIC, "Not 2 but 3 m.", "3.0"), (NUMERIC, "It moved 3 m in 2 s.", "3.0"),
])
def test_committed_answers_are_still_read(record, response, extracted):
    assert score_answer(record, response).extracted == extracted
