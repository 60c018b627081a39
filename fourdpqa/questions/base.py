"""The question-type table and what its rows share: the generation context, the draft record, answer helpers.

A question type is one :class:`QuestionType` row of data: its requirements (``assets``: candidate measurement
specs), its ``derive`` function (geometry -> label), its formats and template tables, its yes/no queries, MC
distractors and answer wording. :mod:`fourdpqa.questions.builder` turns any row into drafts with one code path;
the answer of every format is a function of the derived label and the draft's ``spec`` (:func:`answer_for`), so
generation and the oracle (:mod:`fourdpqa.oracle`) share one path from geometry to answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from fourdpqa import labels, motion
from fourdpqa.motion import ClipMotion
from fourdpqa.params import QAParams
from fourdpqa.questions.specs import ObjectSpec, Spec
from fourdpqa.sampling import Reference
from fourdpqa.scene import Scene
from fourdpqa.thresholds import LabelThresholds
from fourdpqa.tracks import Tracks
from schemas.qa import LETTERS


@dataclass
class Ctx:
    scene: Scene
    motion: ClipMotion
    th: LabelThresholds
    qa: QAParams
    rng: np.random.Generator
    depth_tolerance: float = 0.99  # occlusion depth test of point tracks (params.tracks.depth_tolerance)
    tracks: Tracks | None = None  # the stored point tracks of the video (data/tracks/<video>.npz), if any

    @cached_property
    def metres(self) -> LabelThresholds:
        """``th`` with translation thresholds in metres (scaled by the median depth for ``median_depth``)."""
        if self.th.translation_scale == "metres":
            return self.th
        return labels.scale_translation(self.th, motion.median_depth(self.scene, self.motion))

    def translates(self, object_id: int | None = None) -> bool:
        """The object (None: the camera) clearly translates: its centre gets ``translation_some_m`` from where it
        started. What a motion detector sees (issue 24.1): an MC or yes/no question must not be answerable from
        it, so facts it gives away are asked in free form only."""
        m = self.motion
        pos = m.cam_pos if object_id is None else m.obj_pos[m.index(object_id)]
        return bool(np.linalg.norm(pos - pos[0], axis=-1).max() >= self.metres.translation_some_m)

    def rotates(self, object_id: int | None = None) -> bool:
        """The object's heading (None: the camera's yaw, pitch or roll) clearly turns (``rotation_some_deg``)."""
        m = self.motion
        angles = motion.camera_rotation(m) if object_id is None else \
            motion.object_yaw_deg(m.obj_rot[m.index(object_id)])[:, None]
        return bool(np.abs(angles - angles[0]).max() >= self.th.rotation_some_deg)


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
    spec: Spec  # everything :func:`answer_for` and ``derive`` need (objects, frames, query, option labels)
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


Derive = Callable[[Scene, ClipMotion, Any, LabelThresholds], Any]  # the spec is the row's ``spec_type``


def _no_queries(label: str, spec: Spec) -> tuple[list[str], list[str]]:
    return [], []


@dataclass(frozen=True)
class QuestionType:
    """One row of the question-type table (paper Table 1 numbering; 0 = metric questions).

    ``assets(ctx, fmt)`` yields candidate specs (``spec_type`` instances, :mod:`.specs`) in the order to try (each
    holds ``objects``: the ids to refer to, in template-slot order); ``derive`` labels a spec from geometry (``None`` = ambiguous, not asked);
    ``askable(label, fmt, spec)`` says whether that label may be asked in that format; ``templates`` maps a
    variant (``variant(fmt, spec)``, by default the format) to ``{template id: text}``; ``slots(ctx, spec, refs)``
    fills the template slots, ``phrase(query, spec)`` the yes/no query slots. Yes/no questions: ``yn_queries``
    gives the queries answered yes and no for a label; a comparison (``mirror`` set) instead draws a query from
    ``queries`` and mirrors its pair so the answer is the one wanted. ``fact(spec, label)`` is the independent fact
    a question asks (at most one benchmark question per fact and video).
    """

    qtype: int
    name: str
    category: str
    formats: tuple[str, ...]
    assets: Callable[[Ctx, str], Iterable[Any]]
    derive: Derive
    templates: dict[str, dict[str, str]]
    slots: Callable[[Ctx, dict, list[Reference]], dict[str, str]]
    spec_type: type[Spec] = ObjectSpec  # the layout of its specs (how a record's stored spec is read back)
    askable: Callable[[Any, str, Any], bool] = lambda label, fmt, spec: label is not None
    variant: Callable[[str, Any], str] = lambda fmt, spec: fmt
    text: Callable[[str], str] = str  # answer text of a label (free-form answers, MC options; the oracle too)
    option_text: Callable[[str, list[Reference]], str] | None = None  # MC option text when it names references
    distractors: Callable[[str, Any, np.random.Generator], list[str]] = lambda label, spec, rng: []
    mc_labels: tuple[str, ...] = ()  # the fixed MC label space, when there is one (label shares are judged on it)
    yn_queries: Callable[[str, Any], tuple[list[str], list[str]]] = _no_queries
    yn: Callable[[Any, str], bool] = lambda spec, label: label == spec.query
    phrase: Callable[[str, Any], dict[str, str]] = lambda query, spec: {"q": query}
    queries: tuple[str, ...] = ()
    mirror: Callable[[Any], Any] | None = None
    references: Callable[[Ctx, Any], list[Reference] | None] | None = None  # default: sampling.refer
    ref_frames: Callable[[Any], list[int | None]] = lambda spec: [None] * len(spec.objects)
    ref_modes: Callable[[Ctx, Any], dict[str, float]] = lambda ctx, spec: ctx.qa.reference_mode_mix
    values: Callable[[Ctx, Any], dict] = lambda ctx, spec: {}
    fact: Callable[[Any, str], tuple] = lambda spec, label: (label, tuple(sorted(spec.objects)))
    measure: Callable[[Ctx, Any], Any] | None = None  # how generation measures (default: ``derive``)
    redraws: bool = False  # ``assets`` draws a random part (frames, window, query) anew on each call
    name_of: Callable[[Any], str] | None = None  # question_name of a spec (metric kinds), default ``name``
    # reference system the question is posed in (paper Sec. 3.2): camera, first_camera_levelled, gravity, object,
    # world, screen, query_camera_screen
    reference_system: str = "world"

    def label_of(self, ctx: Ctx, spec: Spec):
        if self.measure is not None:
            return self.measure(ctx, spec)
        return self.derive(ctx.scene, ctx.motion, spec, ctx.th)


def pick(rng: np.random.Generator, seq):
    seq = list(seq)
    return seq[int(rng.integers(len(seq)))]


def mc_layout(rng: np.random.Generator, correct: str, distractors: list[str]) -> list[str]:
    """Option labels in display order: 3 distractors drawn from ``distractors`` and the correct label at a
    uniformly drawn position (so letters are balanced by construction)."""
    pool = [d for d in dict.fromkeys(distractors) if d != correct]
    if len(pool) < 3:
        raise ValueError("need at least 3 distinct distractors")
    chosen = [pool[i] for i in rng.choice(len(pool), size=3, replace=False)]
    pos = int(rng.integers(4))
    return chosen[:pos] + [correct] + chosen[pos:]


def answer_for(qt: QuestionType, fmt: str, spec: Spec, label: str, text_of: Callable[[str], str]) -> tuple[str, str]:
    """(answer, answer_text) of a question given the derived label."""
    if fmt == "mc":
        letter = LETTERS[spec.option_labels.index(label)]
        return letter, text_of(label)
    if fmt == "yn":
        yes = qt.yn(spec, label)
        return ("yes" if yes else "no"), ("yes" if yes else "no")
    return text_of(label), text_of(label)


def comparison_fact(spec: Spec, label: str) -> tuple:
    """A comparison asks about a set of objects; its mirrored question (swapped sides, flipped label) and the same
    objects compared at other frames are not independent facts, so the fact is the object set alone."""
    return ("compare", tuple(sorted(set(spec.objects))))


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


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


def dist_queries(label: str, spec: Spec) -> tuple[list[str], list[str]]:
    """Yes/no queries of a distance-change label: yes = the label; no = labels clearly false for it (a distance
    that rises then falls did increase for a while, so "does it keep increasing?" is not asked there)."""
    table = {
        "increasing": ["decreasing", "constant", "decreasing then increasing"],
        "decreasing": ["increasing", "constant", "increasing then decreasing"],
        "constant": ["increasing", "decreasing"],
        "increasing then decreasing": ["constant", "decreasing then increasing"],
        "decreasing then increasing": ["constant", "increasing then decreasing"],
    }
    return [label], table[label]


def dist_text(label: str) -> str:
    return DIST_TEXT[label]
