"""Answer extraction on real-world answer styles, and the scores built on it (exact match, MRA, TAP-Vid AJ)."""

from __future__ import annotations

import pytest

from fourdpqa.answers import extract_choice, extract_number, extract_trajectory, extract_yes_no, score_answer

OPTIONS = ["forward", "backward", "forward and left", "not moving"]

# (model output, letter it selects among OPTIONS; None = selects nothing)
CHOICE_CASES = [
    ("B", "B"),
    ("b", "B"),
    ("(B)", "B"),
    ("B.", "B"),
    ("[C]", "C"),
    ("D:", "D"),
    ("**B**", "B"),
    ("The answer is B", "B"),
    ("The answer is (C).", "C"),
    ("Answer: D", "D"),
    ("answer: b", "B"),
    ("Therefore, the final answer is: B", "B"),
    ("A. forward\nB. backward\nThe camera clearly recedes. Therefore, the final answer is: B", "B"),
    ("Looking at frames 1-8, the ground expands... **Final Answer: C**", "C"),
    ("B. backward", "B"),
    ("(C) forward and left", "C"),
    ("C) forward and left", "C"),
    ("backward", "B"),
    ("Backward.", "B"),
    ("  not   moving ", "D"),
    ("The camera is not moving.", "D"),
    ("It moves forward and left.", "C"),  # "forward" is nested in the longer option that matches
    ("The correct option is A", "A"),
    ("Option C is correct.", "C"),
    ("I think it's B", "B"),
    ("A car drives by; I believe the camera goes backward", "B"),  # article "A" is not a letter
    ("A. forward\nB. backward\nThe camera recedes, so backward.", "B"),  # options restated, then concluded
    ("A. forward\nB. backward\nHard to tell.", None),
    ("The answer is a bit unclear, but the camera goes backward", "B"),
    ("Final answer: c.", "C"),
    ("Therefore, the final answer is: $\\boxed{B}$", "B"),
    ("The final answer is: $C$.", "C"),
    ("Therefore, the final answer is: 'D'.", "D"),
    ("Both forward and backward seem possible. In the end it moves backward.", "B"),  # last sentence decides
    ("Therefore, the final answer is: B or C", None),  # hedged
    ("Therefore, the final answer is: $C$ or $D$ for a wall-mounted cabinet.", None),
    ("E", None),
    ("I am not sure.", None),
    ("forward or backward", None),  # two unrelated options named
    ("", None),
]


@pytest.mark.parametrize(("response", "letter"), CHOICE_CASES)
def test_extract_choice_styles(response: str, letter: str | None) -> None:
    assert extract_choice(response, OPTIONS) == letter


def test_extract_choice_int_and_spacing_options() -> None:
    options = [1, 2, 3, 0]  # VLM4D counting choices are ints
    assert extract_choice("2", options) == "B"
    assert extract_choice("The answer is 1", options) == "A"
    assert extract_choice("The motorbike jumps to the left only once.", options) == "A"
    assert extract_choice("He looks down at his shoes three times.", options) == "C"
    assert extract_choice("It never turns left.", options) == "D"
    assert extract_choice("0", options) == "D"
    assert extract_choice("3.0", options) == "C"
    assert extract_choice("right", ["left", "Right ", "above ", "not moving"]) == "B"
    assert extract_choice("ABOVE", ["left", "Right ", "above ", "not moving"]) == "C"


@pytest.mark.parametrize(("response", "said"), [
    ("yes", "yes"), ("Yes.", "yes"), ("YES", "yes"), ("no", "no"), ("No, it does not.", "no"),
    ("**No**", "no"), ("The answer is yes", "yes"), ("Answer: no", "no"), ("True", "yes"),
    ("I would say yes, the distance grows.", "yes"), ("maybe", None), ("maybe yes, maybe no", None),
])
def test_extract_yes_no(response: str, said: str | None) -> None:
    assert extract_yes_no(response) == said


@pytest.mark.parametrize(("response", "value"), [
    ("3.5", 3.5), ("about 2 meters", 2.0), ("The answer is 1,250.5 m", 1250.5), ("-0.75", -0.75),
    (".5 m/s", 0.5), ("1e-1", 0.1), ("three", 3.0), ("Answer: 4.2 (the car moved 4.2 m)", 4.2), ("none", None),
])
def test_extract_number(response: str, value: float | None) -> None:
    assert extract_number(response) == value


def _rec(fmt: str, answer: str, options: list[str] | None = None, **kw: str) -> dict:
    return {"id": "q", "answer_format": fmt, "answer": answer, "options": options or [], **kw}


def test_exact_match_scores() -> None:
    mc = _rec("mc", "C", OPTIONS, answer_text="forward and left")
    assert score_answer(mc, "Therefore, the final answer is: C").score == 1.0
    assert score_answer(mc, "forward and left").score == 1.0
    assert score_answer(mc, "B").score == 0.0
    assert score_answer(mc, "no idea").extracted is None
    yn = _rec("yn", "no", ["yes", "no"])
    assert score_answer(yn, "No.").score == 1.0
    assert score_answer(yn, "B").score == 1.0  # lettered yes/no answered with the letter of "no"
    assert score_answer(yn, "yes").score == 0.0
    free = _rec("free", "increasing", answer_text="increasing", label="increasing")
    assert score_answer(free, "Increasing.").score == 1.0
    assert score_answer(free, "decreasing").score == 0.0


@pytest.mark.parametrize(("pred", "gt", "expected"), [
    # relative error r; MRA = share of theta in {.50, .55, ..., .95} with r <= 1 - theta
    ("10", "10", 1.0),  # r = 0: all 10 thresholds
    ("11", "10", 0.9),  # r = .1: theta <= .90 -> 9 of 10
    ("12.5", "10", 0.6),  # r = .25: theta <= .75 -> .50 .55 .60 .65 .70 .75 = 6
    ("about 7 m", "10", 0.5),  # r = .3: theta <= .70 -> 5
    ("0.2", "0.4", 0.1),  # r = .5: only theta = .50
    ("4", "10", 0.0),  # r = .6 > .5: none
    ("garbage", "10", 0.0),  # unparseable: worst case
])
def test_mra_hand_computed(pred: str, gt: str, expected: float) -> None:
    assert score_answer(_rec("numeric", gt), pred).score == pytest.approx(expected)


def test_trajectory_score_hand_computed() -> None:
    record = _rec("trajectory", "3: (0.100, 0.200) visible; 7: out of view; 5: (0.500, 0.500) occluded")
    assert score_answer(record, "5: (0.500, 0.500) occluded; 3: (0.100, 0.200) visible; 7: out of view").score == 1.0
    # Frame 3 off by 0.01 * 256 = 2.56 px (within 4, 8, 16 px); frame 5 wrongly visible (a false positive);
    # frame 7 missing (read as out of view, correct). Jaccard_d = TP / (1 + FP): d=1,2 -> 0/(1+2); d>=4 -> 1/2.
    partial = score_answer(record, "3: (0.11, 0.2) visible; 5: (0.9,0.9)")
    assert partial.score == pytest.approx((0 + 0 + 0.5 + 0.5 + 0.5) / 5)
    assert score_answer(record, "I cannot track it").score == 0.0
    assert extract_trajectory("2 : ( 0.5 , 0.25 ) Visible") == {2: (0.5, 0.25, "visible")}
