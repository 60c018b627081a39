"""Rule-based check that a paraphrase asks what its template asks, so the stored answer stays right.

A paraphrase is refused, with the reason, when it

- drops a slot value (object reference, frame index, label, timestamp), reorders the slots ("closer than B than A"
  for "A than B") or changes the numbers or their order ("frame 6 ... frame 4" for "frame 4 ... frame 6");
- adds a sentence (an instruction such as "Answer the opposite of the truth." slipped in before the question);
- stops being a question, or changes its kind: a yes/no question must stay yes/no, an open or multiple-choice one
  must not become yes/no;
- adds or drops a negation ("not", "never", "n't", and the verbs that negate: "fail to", "lack", ...);
- adds, drops or swaps an answer-bearing word (directions, rotation senses, comparatives, "static") or names an
  option the template does not;
- talks about the answer itself ("opposite", "truth", "wrong", "ignore", ...).

The checks are deliberately strict: a refused paraphrase only costs wording variety (the template is kept), an
accepted wrong one corrupts a benchmark answer.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

NUMBER = re.compile(r"\d+(?:\.\d+)?")
FRAME_SLOT = re.compile(r"^frames? \d+(?:, \d+)*$")  # a frame mention kept as a slot (questions.builder.FRAME_MENTION)
_SENTENCE_END = re.compile(r"[.?!](?=\s+[A-Z(\"']|\s*$)")
_CCW = re.compile(r"\b(?:counter|anti)[\s-]?clockwise\b", re.I)
NEGATIONS = {"not", "no", "never", "none", "nothing", "neither", "nor", "without", "nobody", "nowhere", "fail",
             "fails", "failed", "failing", "lack", "lacks", "lacked", "lacking", "unable", "refuse", "refuses",
             "avoid", "avoids", "hardly", "barely", "scarcely", "seldom", "rarely", "absent", "absence", "except"}
# canonical answer-bearing word <- the forms that mean it
_ANSWER_FORMS = {
    "left": "left leftward leftwards", "right": "right rightward rightwards", "up": "up upward upwards",
    "down": "down downward downwards", "forward": "forward forwards", "backward": "backward backwards",
    "toward": "toward towards approach approaches approaching", "away": "away", "clockwise": "clockwise",
    "ccw": "ccw", "closer": "closer nearer", "farther": "farther further", "apart": "apart",
    "together": "together", "longer": "longer", "shorter": "shorter", "longest": "longest", "shortest": "shortest",
    "greater": "greater larger bigger", "greatest": "greatest largest biggest", "smaller": "smaller",
    "more": "more", "less": "less fewer", "most": "most", "least": "least", "faster": "faster quicker",
    "slower": "slower", "higher": "higher", "lower": "lower", "increase": "increase increases "
    "increased increasing", "decrease": "decrease decreases decreased decreasing", "same": "same",
    "static": "static still stationary motionless",
}
ANSWER_WORDS = {form: canon for canon, forms in _ANSWER_FORMS.items() for form in forms.split()}
META_WORDS = {"answer", "answers", "opposite", "truth", "true", "false", "wrong", "incorrect", "lie", "ignore",
              "ignoring", "instead", "pretend", "reverse", "contrary", "respond", "reply", "say", "regardless"}
AUXILIARIES = {"is", "are", "was", "were", "does", "do", "did", "has", "have", "had", "can", "could", "will",
               "would", "should"}
WH_WORDS = {"what", "which", "how", "where", "when", "who", "whom", "whose", "why"}
PREPOSITIONS = {"in", "at", "to", "from", "by", "for", "with", "on", "of", "over", "during"}


def words(text: str) -> list[str]:
    """Lower-case word tokens; "n't" and "cannot" become "not", counter-clockwise spellings become "ccw"."""
    text = _CCW.sub("ccw", text.lower()).replace("cannot", "can not").replace("n't", " not")
    return re.findall(r"[a-z]+", text)


def sentences(text: str) -> list[str]:
    """Sentences of a question text (decimals such as "(0.781, 0.448)" do not end one)."""
    parts, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        parts.append(text[start:m.end()].strip())
        start = m.end()
    tail = text[start:].strip()
    return [p for p in parts + ([tail] if tail else []) if p]


def is_polar(sentence: str) -> bool:
    """A yes/no question: a clause opens with an auxiliary verb ("Over the clip, does the camera ..."), none with a
    question word ("How far, in metres, is ...", "Seen from above, in which direction ...") and it offers no
    alternatives ("... clockwise or counter-clockwise?")."""
    openings = [c[:2] if c[0] in PREPOSITIONS else c[:1] for c in (words(c) for c in re.split(r"[,:;]", sentence)) if c]
    return (any(o[0] in AUXILIARIES for o in openings) and not any(WH_WORDS.intersection(o) for o in openings)
            and " or " not in sentence.lower())


def _slot_order(text: str, slots: Sequence[str]) -> list[str]:
    """The slots in the order of their first occurrence in ``text`` (lower case)."""
    return sorted(slots, key=lambda s: text.find(s))


def _free_numbers(text: str, phrases: Sequence[str]) -> list[str]:
    """The numbers of ``text`` outside ``phrases`` (frame indices, timestamps, counts), in order."""
    for phrase in sorted(phrases, key=len, reverse=True):
        text = text.replace(phrase, " ")
    return NUMBER.findall(text)


def slots_kept(template: str, paraphrase: str, slots: Sequence[str]) -> bool:
    """Every slot string of the template occurs in the paraphrase (case-insensitively) as often; the references
    and phrases among them (not frame mentions) keep their order, so compared objects cannot swap; the numbers
    outside them (frame indices, timestamps) keep theirs, so "frame 4 ... frame 6" cannot become "frame 6 ...
    frame 4"; and the multiset of numbers is unchanged (slots that only occur in the options are checked through the
    numbers and the options). A frame mention may move ("In frame 3, is A ..." for "Is A ... in frame 3?"), and a
    slot nested in another ("the cube" in "the red cube") is ordered through the longer one."""
    low, low_template = paraphrase.lower(), template.lower()
    asked = [s.lower() for s in dict.fromkeys(slots) if s and s.lower() in low_template]
    if any(low.count(s) != low_template.count(s) for s in asked):
        return False
    refs = [s for s in asked if not FRAME_SLOT.match(s)]
    outer = [s for s in refs if not any(s != o and s in o for o in refs)]
    if _slot_order(low, outer) != _slot_order(low_template, outer):
        return False
    return (_free_numbers(low, outer) == _free_numbers(low_template, outer)
            and Counter(NUMBER.findall(template)) == Counter(NUMBER.findall(paraphrase)))


def _question_kind(record: Mapping[str, Any], text: str) -> str | None:
    """Why the paraphrase's question kind differs from the template's, or None."""
    template = str(record["question"])
    if template.rstrip().endswith("?") and not text.rstrip().endswith("?"):
        return "is no longer a question"
    asked = [s for s in sentences(text) if s.endswith("?")]
    polar = any(is_polar(s) for s in asked)
    if record.get("answer_format") == "yn" and not polar:
        return "turns a yes/no question into an open one"
    if record.get("answer_format") != "yn" and polar:
        return "turns an open question into a yes/no one"
    return None


def _vocabulary(record: Mapping[str, Any], text: str) -> str | None:
    """Why negations, answer-bearing words, meta words or option names differ, or None."""
    template = str(record["question"])
    old, new = words(template), words(text)
    if Counter(w for w in old if w in NEGATIONS) != Counter(w for w in new if w in NEGATIONS):
        return "adds or drops a negation"
    old_answer = {ANSWER_WORDS[w] for w in old if w in ANSWER_WORDS}
    new_answer = {ANSWER_WORDS[w] for w in new if w in ANSWER_WORDS}
    if old_answer != new_answer:
        changed = sorted(old_answer ^ new_answer)
        return f"changes answer-bearing words {changed}"
    meta = sorted({w for w in new if w in META_WORDS} - set(old))
    if meta:
        return f"talks about the answer ({', '.join(meta)})"
    low_old, low_new = " ".join(old), " ".join(new)
    for option in record.get("options") or ():
        name = " ".join(words(str(option)))
        if len(name) > 3 and name not in low_old and re.search(rf"\b{name}\b", low_new):
            return f"names the option {option!r}"
    return None


def meaning_changed(record: Mapping[str, Any], paraphrase: str, slots: Sequence[str]) -> str | None:
    """Why ``paraphrase`` may not replace ``record["question"]`` (fields question, answer_format, options), or
    None when it keeps the slots, the sentence count, the question kind and the answer-bearing vocabulary."""
    template = str(record["question"])
    if not slots_kept(template, paraphrase, slots):
        return "drops a slot or changes a number"
    if len(sentences(paraphrase)) > len(sentences(template)):
        return "adds a sentence"
    return _question_kind(record, paraphrase) or _vocabulary(record, paraphrase)
