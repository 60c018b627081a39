"""Oracle-2: a second, independent derivation of every QA answer — the blocking gate of validation.

It shares no measurement, label or geometry code with the generator (``fourdpqa.motion``, ``labels``,
``questions``, ``sampling``, ``prompts``, ``tracks``, ``geometry``, ``scene`` are never imported; a test checks the
import graph), and it measures differently: where the generator differences world poses, oracle-2 works in the
clip's first camera frame from the stored 3-D point tracks and the depth maps. For one record it

1. re-resolves the objects the question refers to from what the reader sees — captions in the text, named pixel
   coordinates, circles and boxes looked up in the instance masks — and checks they are the record's objects in
   the record's roles (:mod:`.references`);
2. measures the quantity: camera motion by rigid fits to the static background's tracks, object motion by rigid
   fits to the object's own tracks, turns about gravity, depth order from the depth map's pixels (:mod:`.measure`,
   :mod:`.evidence`);
3. labels it with the thresholds stored in the record and its own discretisation (:mod:`.labels`) and maps the
   label to the answer through the record's option labels / yes-no query.

A record is *derived* when steps 1-3 run; it then agrees or disagrees (a reference that designates no object, or
another object than the record's, disagrees too). It is *underivable* (reported, not failed) when a reference
designates several objects, when a measured value sits on a bound within oracle-2's own precision or the depth
maps leave an order open (*borderline*), or the type is outside oracle-2's scope (point-tracking trajectories:
their answers are the stored tracks themselves, so a re-derivation from them would be circular).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from fourdpqa.oracle2.evidence import Evidence, EvidenceError, load_evidence
from fourdpqa.oracle2.labels import BORDERLINE, Bounds, canonical
from fourdpqa.oracle2.measure import MEASURES, Clip
from fourdpqa.oracle2.references import Unresolved, resolve_all
from schemas.qa import present

__all__ = ["Evidence", "EvidenceError", "Verdict", "judge", "load_evidence"]

LETTERS = ("A", "B", "C", "D")
NUMERIC_TOLERANCE = 0.0051  # answers carry 2 decimals


@dataclass(frozen=True)
class Verdict:
    """status: agree | disagree | underivable. ``stored`` / ``derived``: the record's and oracle-2's answer
    (labels for free-form records); ``detail``: why, with the measured values; ``source``: where object motion
    came from (tracks, poses, pixels; ``camera:`` where the camera's own motion was measured)."""

    status: str
    stored: str
    derived: str
    detail: str
    source: str = ""


def _check_references(record: Mapping, spec: dict, ev: Evidence) -> str | None:
    """Why the question's own references do not designate the record's objects in its roles (None if they do).
    Objects named in MC options (``obj:<id>`` option labels, "which of these ...") are checked option by option."""
    frames = [int(f) for f in record["clip_frames"]]
    marks = present(record["marks"] or [])
    want = list(dict.fromkeys(int(o) for o in spec.get("objects", [])))
    in_options = []
    for option, label in zip(record["options"], spec.get("option_labels", []), strict=False):
        if str(label).startswith("obj:"):
            if resolve_all(option, ev, frames, marks) != [int(label[4:])]:
                return f"option {option!r} does not designate object {label[4:]}"
            in_options.append(int(label[4:]))
    seen = resolve_all(record["question"], ev, frames, marks)
    if in_options and not seen and sorted(in_options) == sorted(want):
        return None
    if seen != want:
        return f"the question refers to objects {seen}, the record's spec to {want}"
    return None


def _answer(record: Mapping, spec: dict, label: str) -> str:
    """The answer a derived label gives in the record's format (the record's labels read through
    :func:`~fourdpqa.oracle2.labels.canonical`)."""
    fmt = record["answer_format"]
    if fmt == "mc":
        options = [canonical(o) for o in spec["option_labels"]]
        return LETTERS[options.index(label)] if label in options else f"(label {label!r} is not an option)"
    if fmt == "yn":
        query = canonical(spec["query"])
        if int(record["question_type"]) == 1:  # a camera motion query asks about one component of the motion
            yes = label == "static" if query == "static" else query in label.split("+")
        else:
            yes = label == query
        return "yes" if yes else "no"
    return label  # free-form: compared with the stored label


def judge(record: Mapping, ev: Evidence) -> Verdict:
    """Oracle-2's verdict on one QA record (``schemas/qa.py`` fields) in scene ``ev``."""
    qtype, fmt = int(record["question_type"]), record["answer_format"]
    stored = canonical(record["label"]) if fmt == "free" else str(record["answer"]).strip()
    if qtype not in MEASURES or fmt == "trajectory":
        return Verdict("underivable", stored, "", f"type {qtype} ({fmt}) is outside oracle-2's scope")
    measurement = present(record["measurement"])
    spec = measurement["spec"]
    try:
        problem = _check_references(record, spec, ev)
    except Unresolved as exc:
        if exc.ambiguous:
            return Verdict("underivable", stored, "", f"ambiguous reference: {exc}")
        return Verdict("disagree", stored, "", f"wrong reference: {exc}")
    if problem:
        return Verdict("disagree", stored, "", problem)
    frames = np.asarray(record["clip_frames"], dtype=np.int64)
    stored_th = present(record["threshold"])
    depth = ev.median_depth(int(frames[0])) if stored_th.get("translation_scale") == "median_depth" else None
    clip = Clip(ev, frames, Bounds.from_record(stored_th, depth),
                str(measurement.get("values", {}).get("reference_system", "camera")))
    label, values = MEASURES[qtype](clip, spec)
    source = "+".join(clip.sources())
    if label == BORDERLINE:
        return Verdict("underivable", stored, "", f"borderline: a measured value sits on a bound: {values}", source)
    if label is None:
        return Verdict("disagree", stored, "(ambiguous)", f"geometry is ambiguous under the stored thresholds: {values}", source)
    if fmt == "numeric":
        ok = abs(float(label) - float(stored)) <= NUMERIC_TOLERANCE
        return Verdict("agree" if ok else "disagree", stored, f"{float(label):.2f}", str(values), source)
    derived = _answer(record, spec, str(label))
    return Verdict("agree" if derived == stored else "disagree", stored, derived, f"label {label!r}: {values}", source)
