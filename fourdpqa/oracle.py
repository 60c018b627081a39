"""Re-derive a QA record's answer with the generator's own code (validation's answer-consistency check and the
oracle predictor).

The record's clip frames, measurement spec (objects, frames, query, option labels, tracking query) and threshold
JSON are enough: motion is recomputed from the scene's poses, depth and masks, labelled with the stored thresholds
and mapped to the answer exactly as the generator does (:func:`fourdpqa.questions.base.answer_for`). Being the
generator's path, it cannot catch a generator bug; the independent derivation is :mod:`fourdpqa.oracle2`.
"""

from __future__ import annotations

from collections.abc import Mapping

from fourdpqa.motion import clip_motion
from fourdpqa.questions import TYPES
from fourdpqa.questions.metric import format_number
from fourdpqa.scene import Scene
from fourdpqa.thresholds import LabelThresholds
from schemas.qa import LETTERS, present


def oracle_answer(record: Mapping, scene: Scene) -> str:
    """The answer string (same space as ``record["answer"]``) recomputed from ``scene``.

    Raises ValueError when the geometry no longer yields an unambiguous label (the record would be wrong).
    """
    rid = record.get("id")
    qtype = int(record["question_type"])
    if qtype not in TYPES:
        raise ValueError(f"record {rid!r}: unknown question_type {qtype}")
    qt = TYPES[qtype]
    spec = qt.spec_type.from_dict(present(record["measurement"])["spec"])
    th = LabelThresholds(**present(record["threshold"]))
    m = clip_motion(scene, list(record["clip_frames"]))
    derived = qt.derive(scene, m, spec, th)
    fmt = record["answer_format"]
    if fmt == "numeric":
        return format_number(float(derived))
    if fmt == "trajectory":
        return str(derived)
    if derived is None:
        raise ValueError(f"record {rid!r}: the geometry gives no unambiguous label")
    if fmt == "mc":
        if derived not in (spec.option_labels or ()):
            raise ValueError(f"record {rid!r}: re-derived label {derived!r} is not among the options")
        return LETTERS[spec.option_labels.index(derived)]
    if fmt == "yn":
        return "yes" if qt.yn(spec, derived) else "no"
    return qt.text(derived)
