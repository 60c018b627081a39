"""Answer extraction and scoring: turn a model's free text into the record's answer space and score it.

Models answer in many styles ("B", "(B)", "**B**", "The answer is B", "Therefore, the final answer is: B", the option
text itself, "Yes.", "about 2.5 m"). Scoring with a naive first-token match (as lmms-eval's VSI-Bench task does)
marks many correct chain-of-thought answers wrong, so every predictor — and the VLM4D scorer — goes through the
extractors here. A response that names an answer only to deny it ("The answer is not B.", "B is wrong.",
"Definitely not no."), hedges between answers ("B or C", "2 or 3 m") or gives several ("B and C") gives no answer,
like the VLM4D judge's "No Valid Answer": a predictor answering "not <truth>" must score 0, not 100%. Scores: exact match for MC / yes-no / free, mean relative accuracy for numeric answers, TAP-Vid
average Jaccard for trajectory answers (metrics from :mod:`fourdpqa.metrics`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fourdpqa.errors import BadInput
from fourdpqa.metrics import TAPVID_SIZE, mra, tapvid_metrics
from fourdpqa.qa_format import parse_trajectory

LETTERS = "ABCDEFGH"
_MD = re.compile(r"[*_`#>]+")
_WS = re.compile(r"\s+")
# An option letter: a capital, or a lower-case letter standing alone before punctuation / the end ("answer: b."),
# so that "the answer is a bit unclear" does not read as "A".
_L = r"((?-i:[A-H])(?![a-zA-Z]|'[a-z])|[a-h](?=\s*(?:[.,;:)\]]|$)))"
# Between "answer is" and the letter: spaces, colons, quotes, "$", "\boxed{", brackets ("is: $\boxed{B}$", "is 'D'").
_GAP = r"(?:[\s:\-'\"`$(\[{*]|\\boxed|\\text|\\mathrm)*"
# Explicit conclusions, strongest first; the LAST occurrence in the text wins (CoT answers restate options early).
_EXPLICIT = [re.compile(p, re.I | re.M) for p in (
    rf"final\s+answer\s*(?:is)?{_GAP}(?:option\s*)?{_L}",
    rf"\banswer\s*(?:is|:|=){_GAP}(?:option\s*)?{_L}",
    rf"\b(?:correct|right|best)\s+(?:option|choice|answer)\s+(?:is)?{_GAP}{_L}",
    r"\b(?:option|choice)\s*\(?([A-H])\)?\s+is\s+(?:the\s+)?correct",
    r"\(([A-H])\)\s+is\s+(?:the\s+)?correct",
)]
_HEDGE = re.compile(r"[$}'\"`)\]]*\s*(?:or|/|and|&|,|\+)\s*[$'\"`(\[]*[A-H](?![\w'])(?!\s+[a-z])")
# A mention of an answer (letter, option text, yes/no, number) is denied when a negation leads to it over a few
# filler words ("not B", "isn't it option B", "definitely not no", "rather than left") or a verdict follows it
# ("B is wrong", "(C) is not correct", "left can be ruled out").
_FILLER = (r"(?:the|an?|option|choice|answer|letter|definitely|certainly|surely|really|just|simply|exactly|"
           r"necessarily|quite|it|it's|it\s+is|that|this|i\s+would|i'd|say|choose|pick|select|be|is|was|are|"
           r"moving|move|moves|going|to\s+the)")
_NEG_BEFORE = re.compile(
    r"(?:\bnot|n't|\bnever|\bnor|\bneither|\brather\s+than|\binstead\s+of|\bexcept(?:\s+for)?|\bother\s+than|"
    rf"\banything\s+but|\bruled?\s+out|\bexclud(?:e|ing)|\beliminat(?:e|ing))\s*[:,]?\s*(?:{_FILLER}\s+)*"
    r"[\s(\[\"'`*$]*$", re.I)
_NEG_AFTER = re.compile(
    r"^[)\]\"'`*$.:]*\s*(?:is|was|would\s+be|seems|appears|looks|can\s+be|must\s+be|should\s+be)?\s*"
    r"(?:not\s+(?:correct|right|true|valid|possible|likely|it\b|the\s+(?:correct\s+|right\s+|best\s+)?answer)|"
    r"wrong|incorrect|false|ruled\s+out|excluded|eliminated|unlikely|impossible|invalid)\b", re.I)
# Two numbers offered as alternatives ("2 or 3 m", "between 2 and 3 m"): no single answer.
_NUMBER_HEDGE = re.compile(r"\bbetween\s+[-+]?\.?\d[\d.,]*\s*[a-z%]*\s+and\s+[-+]?\.?\d|"
                           r"\d\s*(?:m|cm|s|%|metres?|meters?|seconds?|times)?\s+or\s+(?:about\s+|maybe\s+)?[-+]?\.?\d",
                           re.I)
_YN_HEDGE = re.compile(r"\b(yes|no)\s*,?\s*(?:or|and|/|&)\s*(?!\1\b)(?:yes|no)\b")
# Whole response is a bare letter: "B", "(b)", "B.", "[B]", "B:".
_BARE = re.compile(r"^[\[(]?\s*([A-Ha-h])\s*[\])]?\s*[.:)]?$")
# Response opens with a letter label: "B. left", "(B) left", "B) left", "B: left", "B - left".
_LEADING = re.compile(r"^[\[(]?([A-H])(?:[\]).:]|\s+-)\s*")
_STANDALONE = re.compile(r"(?<![\w'])([A-H])(?![\w'])")
_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+]?\.\d+")
_WORD_NUMBERS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_COUNT_WORDS = {**_WORD_NUMBERS, "once": 1, "twice": 2, "thrice": 3, "never": 0, "none": 0}
_YES = {"yes", "y", "true", "correct", "yeah", "yep"}
_NO = {"no", "n", "false", "incorrect", "nope"}
# A sentence that declines to answer: it opens with one of these (after an optional "sorry,"/"unfortunately,").
_I = r"(?:i|we|i'm|i am|we are)?\s*"
_ABSTAIN_OPENING = re.compile(
    r"^(?:(?:i'?m\s+|i\s+am\s+)?sorry\W*|i\s+apologi[sz]e\W*|unfortunately\W*|as\s+an\s+ai\b[^,]*,\s*)*(?:"
    r"n/?a\b|not\s+applicable|no\s+(?:idea|clue|answer|comment)|unknown|unanswerable|undetermined|unsure|"
    r"(?:i'?m\s+|i\s+am\s+)?not\s+(?:sure|certain)|"
    rf"{_I}(?:don'?t|do\s+not|cannot|can'?t|can\s+not|could\s+not|couldn'?t|am\s+unable\s+to|'m\s+unable\s+to|"
    r"are\s+unable\s+to|unable\s+to|am\s+not\s+able\s+to|'m\s+not\s+able\s+to)\s+"
    r"(?:know|answer|determine|tell|say|view|watch|access|process|analy[sz]e|provide|identify|help|assist|"
    r"be\s+(?:sure|certain))|"
    r"(?:it\s+is|it'?s|this\s+is)\s+(?:impossible|not\s+possible|unclear)\s+to|"
    r"(?:this|that|it|the\s+answer)\s+(?:cannot|can'?t|can\s+not)\s+be\s+(?:determined|answered|known|told)|"
    r"cannot\s+be\s+determined|"
    r"(?:there\s+(?:is|are|was|were)\s+)?(?:no|not\s+enough|insufficient)\s+"
    r"(?:video|videos|image|images|frames?|information|context|visual)\b|"
    r"(?:the\s+)?(?:video|image|frames?)\s+(?:is|are|was|were)\s+not\s+(?:provided|available|attached|shown|given)|"
    r"please\s+provide)", re.I)
# A contrast in the same sentence usually carries an answer after all ("I can't be sure, but it moves left").
_CONTRAST = re.compile(r"\b(?:but|however|though|although|yet|still|nevertheless|likely|probably|seems?)\b", re.I)


def normalize_text(value: Any) -> str:
    """Canonical form of an answer/option value: str, markdown and outer punctuation stripped, lower case,
    single spaces; integral numbers written without a fraction ("2.0" -> "2") so int/str options compare."""
    text = _WS.sub(" ", _MD.sub("", str(value))).strip().strip(".,;:!?\"'()[]").strip().lower()
    try:
        number = float(text)
    except ValueError:
        return text
    if math.isfinite(number) and number == int(number):
        return str(int(number))
    return text


def is_abstention(response: Any, options: Sequence[Any] = ()) -> bool:
    """True when the response declines to answer: empty, or every sentence opens with a refusal ("N/A",
    "I cannot answer.", "No idea", "I cannot answer. No video was provided.") and none states an answer or a
    contrast. A response that is itself one of the ``options`` (VLM4D offers "not sure") is an answer.

    Without this, "N/A" reads as option A or "no", and "No idea" as "no"."""
    text = _clean(str(response))
    if not text:
        return True
    if options and normalize_text(text) in {normalize_text(o) for o in options}:
        return False
    sentences = [s for s in re.split(r"(?<=[.!?;])\s+|\n+", text) if s.strip(" .!?;:-")]
    return all(_ABSTAIN_OPENING.match(s) and not _CONTRAST.search(s) and not any(p.search(s) for p in _EXPLICIT)
               for s in sentences)


def _clean(text: str) -> str:
    """Markdown removed, runs of spaces collapsed, line breaks kept (they separate restated options)."""
    return re.sub(r"[ \t]+", " ", _MD.sub("", text)).strip()


def denied(text: str, start: int, end: int) -> bool:
    """Whether the mention ``text[start:end]`` of an answer is negated or rejected (see ``_NEG_BEFORE``)."""
    before = text[max(0, start - 60):start].split("\n")[-1]
    return bool(_NEG_BEFORE.search(before) or _NEG_AFTER.match(text[end:end + 60]))


def extract_choice(response: str, options: Sequence[Any]) -> str | None:
    """Letter ("A", "B", ...) the response selects among ``options`` (display order), or None if it selects none.

    Order: explicit conclusion ("final answer is: B", last one wins) > bare letter > leading letter label >
    option text (exact, then the single longest option text mentioned, in the whole text or else its last line or
    sentence) >
    a single standalone capital letter.
    """
    if not options or is_abstention(response, options):
        return None
    valid = LETTERS[: len(options)]
    text = _clean(str(response))
    for pattern in _EXPLICIT:
        matches = [m for m in pattern.finditer(text) if m.group(1).upper() in valid]
        if matches:
            last = matches[-1]
            if _HEDGE.match(text, last.end()) or denied(text, *last.span(1)):  # "...: B or C", "...: B is wrong"
                return None
            return last.group(1).upper()
    m = _BARE.match(text)
    if m and m.group(1).upper() in valid:
        return m.group(1).upper()
    m = _LEADING.match(text)
    if m and m.group(1) in valid and "\n" not in text and not denied(text, *m.span(1)):  # a multi-line answer
        return m.group(1)  # opening "A." restates the options
    by_text = _match_option_text(text, options)
    if by_text is None:  # reasoning that weighs several options: the conclusion is the last line / sentence
        last = re.split(r"\n|(?<=[.!?])\s+", text.rstrip(" .!?\n"))[-1]
        by_text = _match_option_text(last, options) if last != text else None
    if by_text is not None:
        return valid[by_text]
    mentions = [m for m in _STANDALONE.finditer(text) if not (m.group(1) == "A" and re.match(r"A\s+[a-z]", text[m.start():]))]
    rejected = {m.group(1) for m in mentions if denied(text, *m.span(1))}  # "B? No, B is false." commits to nothing
    letters = {m.group(1) for m in mentions} - rejected
    letters &= set(valid)
    if len(letters) == 1:
        return letters.pop()
    return None


def _match_option_text(text: str, options: Sequence[Any]) -> int | None:
    """Index of the option the text names: the whole text equals one option, else the longest option phrase that
    occurs as whole words (options nested in it, e.g. "left" in "forward+left", do not count against it)."""
    norm = normalize_text(text)
    keys = [normalize_text(o) for o in options]
    if all(k.isdigit() for k in keys):  # counting questions answered in words ("twice", "three times")
        norm = re.sub(r"[a-z]+", lambda m: str(_COUNT_WORDS.get(m.group(0), m.group(0))), norm)
    if norm in keys and keys.count(norm) == 1:
        return keys.index(norm)
    spans = {i: [m.span() for m in re.finditer(rf"(?<![\w+]){re.escape(k)}(?![\w+])", norm)] for i, k in enumerate(keys) if k}
    found = [i for i, sp in spans.items() if sp and not any(denied(norm, *x) for x in sp)]
    if not found:
        return None
    longest = max(found, key=lambda i: len(keys[i]))
    others = [i for i in found if i != longest and keys[i] not in keys[longest]]
    return None if others else longest


def extract_yes_no(response: str) -> str | None:
    """"yes" / "no" the response commits to, or None (both or neither said, or an abstention)."""
    if is_abstention(response, ("yes", "no")):
        return None
    text = normalize_text(response)
    if _YN_HEDGE.search(text):  # "yes or no", "yes and no"
        return None
    m = re.search(r"(?:final\s+answer|answer)\s*(?:is|:)?\s*:?\s*(yes|no|true|false)\b", text)
    if m and not denied(text, *m.span(1)):
        return "yes" if m.group(1) in _YES else "no"
    words = re.findall(r"[a-z]+", text)
    if words and words[0] in _YES | _NO and not _NEG_AFTER.match(text[len(words[0]):]):
        return "yes" if words[0] in _YES else "no"
    said = {m.group(0) for m in re.finditer(r"\b(?:yes|no)\b", text) if not denied(text, *m.span())}
    return said.pop() if len(said) == 1 else None


def extract_number(response: str) -> float | None:
    """The number a response gives (after "answer is" when present; digits or an English number word)."""
    if is_abstention(response):
        return None
    text = _clean(str(response)).lower()
    if _NUMBER_HEDGE.search(text):
        return None
    m = re.search(r"answer\s*(?:is|:)\s*:?\s*(.*)", text, re.S)
    for part in ([m.group(1)] if m else []) + [text]:
        n = next((n for n in _NUMBER.finditer(part) if not denied(part, *n.span())), None)
        if n:
            return float(n.group(0).replace(",", ""))
        for word in re.finditer(r"[a-z]+", part):
            if word.group(0) in _WORD_NUMBERS and not denied(part, *word.span()):
                return float(_WORD_NUMBERS[word.group(0)])
    return None


@dataclass(frozen=True)
class Score:
    """One scored prediction: ``extracted`` is the normalised answer (None = unparseable), ``score`` in [0, 1]."""

    extracted: str | None
    score: float


def score_answer(record: Mapping[str, Any], response: str) -> Score:
    """Score ``response`` against a QA record (fields answer_format, options, answer, answer_text, label)."""
    fmt = record["answer_format"]
    options = list(record.get("options") or [])
    if fmt == "mc":
        letter = extract_choice(response, options)
        return Score(letter, float(letter is not None and letter == str(record["answer"]).strip().upper()))
    if fmt == "yn":
        said = extract_yes_no(response)
        if said is None and options:  # a lettered yes/no prompt answered with the letter
            letter = extract_choice(response, options)
            said = normalize_text(options[LETTERS.index(letter)]) if letter else None
        return Score(said, float(said is not None and said == normalize_text(record["answer"])))
    if fmt == "numeric":
        value = extract_number(response)
        if value is None:
            return Score(None, 0.0)
        return Score(repr(value), float(mra(value, float(record["answer"]))))
    if fmt == "free":
        if is_abstention(response, options):
            return Score(None, 0.0)
        said = normalize_text(response)
        truth = {normalize_text(record[k]) for k in ("answer", "answer_text", "label") if record.get(k)}
        return Score(said, float(said in truth))
    if fmt == "trajectory":
        return _score_trajectory(record, response)
    raise BadInput(f"QA {record.get('id')!r}: unknown answer_format {fmt!r}")


_TRAJ_ENTRY = re.compile(
    r"(\d+)\s*:\s*(?:\(\s*([-+]?\d*\.?\d+)\s*,\s*([-+]?\d*\.?\d+)\s*\)\s*(visible|occluded)?|(out\s+of\s+view))",
    re.I)
Trajectory = dict[int, tuple[float | None, float | None, str]]  # frame -> (x, y normalised, flag)


def extract_trajectory(response: str) -> Trajectory:
    """Lenient reading of a model's trajectory ("7: (0.12, 0.5) visible; 3: out of view"): any number of
    decimals, extra spaces, a missing flag (read as visible); the first entry per frame wins."""
    out: Trajectory = {}
    for m in _TRAJ_ENTRY.finditer(_clean(str(response))):
        frame = int(m.group(1))
        if frame in out:
            continue
        if m.group(5):
            out[frame] = (None, None, "out of view")
        else:
            out[frame] = (float(m.group(2)), float(m.group(3)), (m.group(4) or "visible").lower())
    return out


def requested_frames(record: Mapping[str, Any]) -> list[int]:
    """Clip frames a trajectory question asks for (the question names them; the answer lists exactly those)."""
    return sorted(parse_trajectory(str(record["answer"])))


def _score_trajectory(record: Mapping[str, Any], response: str) -> Score:
    """TAP-Vid average Jaccard of the predicted points at the requested frames, in the 256x256 raster TAP-Vid
    thresholds assume (normalised coordinates x 256); a requested frame the answer omits counts as predicted
    "out of view". A track never visible at the requested frames has no Jaccard: it scores the occlusion accuracy."""
    truth = parse_trajectory(str(record["answer"]))
    predicted = extract_trajectory(response)
    if not predicted:
        return Score(None, 0.0)
    frames = sorted(truth)
    missing = (None, None, "out of view")
    # Slot 0 is the (given, unscored) query; "strided" mode scores every other slot.
    gt = [missing] + [truth[f] for f in frames]
    pr = [missing] + [predicted.get(f, missing) for f in frames]

    def arrays(entries: list) -> tuple[np.ndarray, np.ndarray]:
        xy = np.array([[np.nan, np.nan] if x is None else [x, y] for x, y, _ in entries], np.float64)
        return xy[None] * TAPVID_SIZE, np.array([[flag != "visible" for _, _, flag in entries]])

    (gt_xy, gt_occ), (pr_xy, pr_occ) = arrays(gt), arrays(pr)
    extracted = json.dumps({str(f): list(predicted[f]) for f in sorted(predicted)})
    if gt_occ[0, 1:].all():
        return Score(extracted, float(np.mean(pr_occ[0, 1:])))
    metrics = tapvid_metrics(np.zeros(1), gt_occ, gt_xy, pr_occ, pr_xy, query_mode="strided")
    return Score(extracted, metrics["average_jaccard"])
