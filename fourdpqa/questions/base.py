"""Shared machinery of the question types: the generation context, the draft record, answer-format helpers.

A question type is a :class:`QuestionType`: ``build(ctx, fmt)`` samples assets and returns a :class:`Draft` (or
``None`` when this clip has no eligible asset), ``derive(scene, motion, spec, th)`` recomputes the label or value
from geometry alone. The answer of every format is a function of the derived label and the draft's ``spec``
(:func:`answer_for`), so generation and the oracle (:mod:`fourdpqa.oracle`) share one path from geometry to answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from fourdpqa.motion import ClipMotion
from fourdpqa.params import LabelThresholds, QAParams
from fourdpqa.sampling import Reference
from fourdpqa.scene import Scene
from schemas.qa import LETTERS


@dataclass
class Ctx:
    scene: Scene
    motion: ClipMotion
    th: LabelThresholds
    qa: QAParams
    rng: np.random.Generator
    depth_tolerance: float = 0.99  # occlusion depth test of point tracks (params.tracks.depth_tolerance)


@dataclass
class Draft:
    """A question before it becomes a record (ids, clip and seed are added by the generator)."""

    question_type: int
    question_name: str
    category: str
    answer_format: str
    question: str
    options: list[str]
    answer: str
    answer_text: str
    label: str
    spec: dict  # everything :func:`answer_for` and ``derive`` need (objects, frames, query, option labels)
    values: dict  # continuous measurements quoted in the record
    threshold: dict
    template_id: str
    refs: list[Reference] = field(default_factory=list)
    slots: list[str] = field(default_factory=list)  # strings a paraphrase must keep verbatim

    @property
    def object_ids(self) -> list[int]:
        return [r.object_id for r in self.refs if r.object_id > 0]  # 0 = a background tracking point

    @property
    def reference_mode(self) -> str:
        return self.refs[0].mode if self.refs else "none"

    @property
    def marks(self) -> list[dict]:
        return [mk for r in self.refs for mk in r.marks]


Derive = Callable[[Scene, ClipMotion, dict, LabelThresholds], "str | float | None"]


@dataclass(frozen=True)
class QuestionType:
    qtype: int
    name: str
    category: str
    formats: tuple[str, ...]
    build: Callable[[Ctx, str], Draft | None]
    derive: Derive
    # yes/no answer from (spec, derived label); default: the label equals the queried label
    yn: Callable[[dict, str], bool] = lambda spec, label: label == spec["query"]
    # free-form answer text of a label (the oracle uses it too)
    text: Callable[[str], str] = str
    # reference system the question is posed in (paper Sec. 3.2): camera, first_camera_levelled, gravity, object,
    # world, screen, query_camera_screen
    reference_system: str = "world"


def pick(rng: np.random.Generator, seq):
    seq = list(seq)
    return seq[int(rng.integers(len(seq)))]


def template(rng: np.random.Generator, table: dict[str, str], **slots) -> tuple[str, str]:
    """(template id, filled text) drawn uniformly from ``table``."""
    tid = pick(rng, sorted(table))
    return tid, table[tid].format(**slots)


def mc_layout(rng: np.random.Generator, correct: str, distractors: list[str]) -> list[str]:
    """Option labels in display order: 3 distractors drawn from ``distractors`` and the correct label at a
    uniformly drawn position (so letters are balanced by construction)."""
    pool = [d for d in dict.fromkeys(distractors) if d != correct]
    if len(pool) < 3:
        raise ValueError("need at least 3 distinct distractors")
    chosen = [pool[i] for i in rng.choice(len(pool), size=3, replace=False)]
    pos = int(rng.integers(4))
    return chosen[:pos] + [correct] + chosen[pos:]


def answer_for(qt: QuestionType, fmt: str, spec: dict, label: str, text_of: Callable[[str], str]) -> tuple[str, str]:
    """(answer, answer_text) of a question given the derived label."""
    if fmt == "mc":
        letter = LETTERS[spec["option_labels"].index(label)]
        return letter, text_of(label)
    if fmt == "yn":
        yes = qt.yn(spec, label)
        return ("yes" if yes else "no"), ("yes" if yes else "no")
    return text_of(label), text_of(label)


def want_yes(rng: np.random.Generator) -> bool:
    """Yes/no balance by construction: the answer is drawn first, the question built to match it."""
    return bool(rng.integers(2))



def finish(qt: QuestionType, ctx: Ctx, fmt: str, question: str, template_id: str, spec: dict, label: str,
           values: dict, refs: list[Reference], text_of: Callable[[str], str], slots: tuple[str, ...] = ()) -> Draft:
    """Assemble a :class:`Draft`: options, answer and the slot values a paraphrase has to keep."""
    answer, answer_text = answer_for(qt, fmt, spec, label, text_of)
    if fmt == "mc":
        options = [text_of(lab) for lab in spec["option_labels"]]
    elif fmt == "yn":
        options = ["yes", "no"]
    else:
        options = []
    ref_slots = [r.text for r in refs]
    return Draft(
        question_type=qt.qtype, question_name=qt.name, category=qt.category, answer_format=fmt,
        question=question, options=options, answer=answer, answer_text=answer_text, label=label, spec=spec,
        values={**values, "reference_system": qt.reference_system}, threshold=ctx.th.model_dump(), template_id=f"{qt.name}/{fmt}/{template_id}", refs=refs,
        slots=list(dict.fromkeys(ref_slots + [s for s in slots if s])),
    )


# Distance-change wording shared by camera-object (type 2) and object-object (type 7) questions.
DIST_TEXT = {
    "increasing": "It keeps increasing",
    "decreasing": "It keeps decreasing",
    "constant": "It stays about the same",
    "increasing then decreasing": "It first increases, then decreases",
    "decreasing then increasing": "It first decreases, then increases",
}
DIST_QUERY = {
    "increasing": "keep increasing",
    "decreasing": "keep decreasing",
    "constant": "stay about the same",
    "increasing then decreasing": "first increase and then decrease",
    "decreasing then increasing": "first decrease and then increase",
}


def dist_no_queries(label: str) -> list[str]:
    """Labels whose yes/no question is clearly answered "no" for the true ``label`` (a distance that rises then
    falls did increase for a while, so "does it keep increasing?" is avoided there)."""
    table = {
        "increasing": ["decreasing", "constant", "decreasing then increasing"],
        "decreasing": ["increasing", "constant", "increasing then decreasing"],
        "constant": ["increasing", "decreasing"],
        "increasing then decreasing": ["constant", "decreasing then increasing"],
        "decreasing then increasing": ["constant", "increasing then decreasing"],
    }
    return table[label]


def dist_text(label: str) -> str:
    return DIST_TEXT[label]
