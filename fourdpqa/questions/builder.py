"""The one builder every question type goes through: requirements -> label -> references -> answer format ->
template -> draft, driven by the type's table row (:class:`fourdpqa.questions.base.QuestionType`).

Yes/no questions are asked in both polarities: for each usable asset the builder returns the drafts of every query
answered "yes" and every query answered "no" (as far as the label allows), so assembly can pick, per fact, the
question that keeps every (type, query) balanced — the query word then carries no information about the answer.
"""

from __future__ import annotations

import re

from fourdpqa import sampling
from fourdpqa.questions.base import Ctx, Draft, QuestionType, answer_for, mc_layout, pick
from fourdpqa.questions.specs import Spec

FRAME_MENTION = re.compile(r"\bframes? \d+(?:, \d+)*")


def build(qt: QuestionType, ctx: Ctx, fmt: str, asked: set | frozenset = frozenset()) -> list[Draft]:
    """Drafts of the first asset of ``qt`` that can be asked in ``fmt`` and whose fact is not in ``asked`` (as
    ``(type, format, fact)``); empty when none can."""
    for spec in qt.assets(ctx, fmt):
        label = qt.label_of(ctx, spec)
        if not qt.askable(label, fmt, spec) or (qt.qtype, fmt, qt.fact(spec, str(label))) in asked:
            continue
        drafts = both_polarities(qt, ctx, spec, label) if fmt == "yn" else _single(qt, ctx, fmt, spec, label)
        if drafts:
            return drafts
    return []


def _single(qt: QuestionType, ctx: Ctx, fmt: str, spec: Spec, label) -> list[Draft]:
    refs = refer(qt, ctx, spec)
    if refs is None:
        return []
    if fmt == "mc":
        spec = spec.with_(option_labels=mc_layout(ctx.rng, label, qt.distractors(label, spec, ctx.rng)))
    return [draft(qt, ctx, fmt, spec, label, refs)]


def both_polarities(qt: QuestionType, ctx: Ctx, spec: Spec, label) -> list[Draft]:
    """Every yes/no question about one fact, in both polarities: for a comparison, each query word with the
    compared sides mirrored as needed to be answered yes and to be answered no; otherwise each query the label
    answers yes and each it answers no. Assembly picks among them per fact so every query word is answered yes
    as often as no."""
    variants = []
    if qt.mirror is not None:
        mirrored = qt.mirror(spec)
        m_label = qt.label_of(ctx, mirrored)
        for query in qt.queries:
            for s, lab in ((spec, label), (mirrored, m_label)):
                if lab is not None:
                    variants.append((s.with_(query=query), lab))
    else:
        yes, no = qt.yn_queries(label, spec)
        variants = [(spec.with_(query=q), label) for q in [*yes, *no]]
    out = []
    for s, lab in variants:
        refs = refer(qt, ctx, s)
        if refs is not None:
            out.append(draft(qt, ctx, "yn", s, lab, refs))
    return out


def refer(qt: QuestionType, ctx: Ctx, spec: Spec):
    """References to the spec's objects (none for camera questions), unambiguous and with non-overlapping marks."""
    if qt.references is not None:
        return qt.references(ctx, spec)
    if not spec.objects:
        return []
    return sampling.refer(ctx.scene, ctx.motion, list(spec.objects), qt.ref_frames(spec), ctx.rng,
                          qt.ref_modes(ctx, spec), ctx.th, (ctx.qa.out_width, ctx.qa.out_height),
                          ctx.qa.mark_max_other_share)


def draft(qt: QuestionType, ctx: Ctx, fmt: str, spec: Spec, label, refs) -> Draft:
    """Fill a template of the spec's variant and assemble the :class:`Draft` (options, answer, kept slots)."""
    slot_values = qt.slots(ctx, spec, refs)
    if fmt == "yn":
        slot_values.update(qt.phrase(spec.query, spec))
    variant = qt.variant(fmt, spec)
    table = qt.templates[variant]
    tid = pick(ctx.rng, sorted(table))
    question = table[tid].format(**slot_values)
    text_of = qt.text if qt.option_text is None else (lambda lab: qt.option_text(lab, refs))
    label = str(label)
    answer, answer_text = answer_for(qt, fmt, spec, label, text_of)
    options = ([text_of(lab) for lab in spec.option_labels] if fmt == "mc" else ["yes", "no"] if fmt == "yn" else [])
    kept = [v for v in slot_values.values() if v and not v.isdigit() and v in question]
    kept += FRAME_MENTION.findall(question)
    name = qt.name if qt.name_of is None else qt.name_of(spec)
    return Draft(
        question_type=qt.qtype, question_name=name, category=qt.category, answer_format=fmt, question=question,
        options=options, answer=answer, answer_text=answer_text, label=label, spec=spec,
        values={**qt.values(ctx, spec), "reference_system": qt.reference_system}, threshold=ctx.th.model_dump(),
        template_id=f"{name}/{fmt}/{tid}" if variant == fmt else f"{name}/{fmt}/{variant}-{tid}", refs=list(refs),
        slots=list(dict.fromkeys([r.text for r in refs] + kept)),
    )
