"""Category II, object motion: (3) rotation seen from above, (4) direction relative to the first view, (5) agent
motion in its own frame, (6) moved-distance comparison, (7) object-object distance change — table rows."""

from __future__ import annotations

from fourdpqa import labels, motion
from fourdpqa.questions import draws
from fourdpqa.questions.base import Ctx, QuestionType, cap, comparison_fact
from fourdpqa.questions.camera import DISTANCE_CHANGE, eligible
from fourdpqa.questions.specs import AgentSpec, MovedSpec, ObjectSpec, Spec


def _one(ctx: Ctx, **kw) -> list[ObjectSpec]:
    return [ObjectSpec((o,)) for o in eligible(ctx, **kw)]


def _yaw_change(ctx: Ctx, oid: int) -> float:
    yaw = motion.object_yaw_deg(ctx.motion.obj_rot[ctx.motion.index(oid)])
    return round(float(yaw[-1] - yaw[0]), 3)


def _scaled(th, scene, m):
    return labels.scale_translation(th, motion.median_depth(scene, m)) if th.translation_scale != "metres" else th


# ---------------------------------------------------------------------------------------------- (3) rotation


def derive_rotation(scene, m, spec, th) -> str | None:
    return labels.rotation_label(motion.object_yaw_deg(m.obj_rot[m.index(spec.objects[0])]), th)


def rotation_queries(label: str, spec: Spec) -> tuple[list[str], list[str]]:
    """A rotating object is asked its own sense (yes) or the other one (no). An object that does not rotate is
    not asked: "no" would come from seeing that it stands still, not from its sense of rotation (issue 24.1)."""
    return [label], [x for x in labels.ROTATION_LABELS if x != label]


TEMPLATES_T3 = {
    "yn": {
        "a": "Seen from above, does {o} rotate {q}?",
        "b": "Viewed from a top-down perspective, is {o} turning {q}?",
        "c": "Looking down on the scene from above, does {o} spin {q} during the video?",
        "d": "From a bird's-eye view, is the rotation of {o} {q}?",
    },
    "free": {
        "a": "Seen from above, in which direction does {o} rotate?",
        "b": "From a top-down view, is {o} rotating clockwise or counter-clockwise?",
        "c": "Looking down from above, which way does {o} turn during the video?",
        "d": "Describe the rotation direction of {o} as seen from a bird's-eye view.",
    },
}

ROTATION = QuestionType(
    3, "object_rotation", "object_motion", ("yn", "free"),
    assets=lambda ctx, fmt: _one(ctx, need_front=True), derive=derive_rotation, templates=TEMPLATES_T3,
    slots=lambda ctx, spec, refs: {"o": refs[0].text},
    askable=lambda label, fmt, spec: label in labels.ROTATION_LABELS,
    yn_queries=rotation_queries,
    values=lambda ctx, spec: {"yaw_change_deg": _yaw_change(ctx, spec.objects[0])}, reference_system="gravity",
)


# ---------------------------------------------------------------------------------------------- (4) direction

DIRECTION_TEXT = {"away from the camera": "Away from the camera", "toward the camera": "Toward the camera",
                  "left": "To the left", "right": "To the right"}


def derive_direction(scene, m, spec, th) -> str | None:
    return labels.direction_label(motion.object_positions(m, spec.objects[0], "heading"), _scaled(th, scene, m))


_T4 = {
    "a": "Relative to the camera's viewpoint in frame 0, in which direction does {o} move?",
    "b": "Taking the first frame's view as reference, where does {o} move during the video?",
    "c": "As seen from the camera position of the first frame, which way does {o} travel?",
    "d": "In the reference frame of the first frame's camera view, what is the direction of motion of {o}?",
}
TEMPLATES_T4 = {"mc": _T4, "free": dict(_T4)}


def _heading_change(ctx: Ctx, spec: Spec) -> dict:
    track = motion.object_positions(ctx.motion, spec.objects[0], "heading")
    return {"translation_heading": [round(float(x), 4) for x in track[-1] - track[0]]}


DIRECTION = QuestionType(
    4, "object_direction", "object_motion", ("mc", "free"),
    assets=lambda ctx, fmt: _one(ctx), derive=derive_direction, templates=TEMPLATES_T4,
    slots=lambda ctx, spec, refs: {"o": refs[0].text},
    askable=lambda label, fmt, spec: label in labels.DIRECTION_LABELS, text=DIRECTION_TEXT.__getitem__,
    distractors=lambda label, spec, rng: list(labels.DIRECTION_LABELS), mc_labels=labels.DIRECTION_LABELS,
    values=_heading_change,
    reference_system="first_camera_levelled",
)


# ---------------------------------------------------------------------------------------------- (5) agent motion


def derive_agent(scene, m, spec, th) -> str | None:
    oid = spec.objects[0]
    if spec.aspect == "move":
        return labels.agent_motion_label(motion.own_frame_displacement(m, oid), _scaled(th, scene, m))
    return labels.agent_turn_label(motion.object_yaw_deg(m.obj_rot[m.index(oid)]), th)


def _agent_assets(ctx: Ctx, fmt: str) -> list[AgentSpec]:
    """Agents (categories with intent, ``agent_categories``) with a front, each asked how it moves along its own
    heading (forward / backward) or how it turns ("straight" only of an agent that travels)."""
    out = []
    for oid in eligible(ctx, need_front=True, agents=True):
        aspects = ["move"] if fmt == "free" else list(ctx.rng.permutation(["move", "turn"]))
        out += [AgentSpec((oid,), aspect=str(a)) for a in aspects]
    return out


TURNS = ("left", "right")  # the turn labels asked: "straight" is what anyone sees of an agent that does not turn


def _agent_askable(label: str | None, fmt: str, spec: AgentSpec) -> bool:
    """Only agents that move (forward / backward) or turn (left / right) are asked: "no" to "is it moving
    forward?" of an agent standing still, or "yes" to "does it keep a straight heading?", would come from seeing
    that it does not move, not from its direction (issue 24.1)."""
    return label in (labels.AGENT_MOVE_LABELS if spec.aspect == "move" else TURNS)


def agent_queries(label: str, spec: AgentSpec) -> tuple[list[str], list[str]]:
    pool = labels.AGENT_MOVE_LABELS if spec.aspect == "move" else TURNS
    return [label], [x for x in pool if x != label]


TURN_QUERY = {"left": "turning to its left", "right": "turning to its right"}
TEMPLATES_T5 = {
    "yn_move": {
        "a": "Relative to the direction it is facing, is {o} moving {q}?",
        "b": "In its own reference frame, does {o} travel {q}?",
        "c": "From the point of view of {o} itself, is it going {q}?",
        "d": "Is {o} moving {q} with respect to where its front points?",
    },
    "yn_turn": {
        "a": "From its own point of view, is {o} {q}?",
        "b": "Relative to its own heading, is {o} {q}?",
        "c": "In its own reference frame, is {o} {q} during the video?",
        "d": "Seen from the perspective of {o}, is it {q}?",
    },
    "free": {
        "a": "Relative to the direction it is facing, is {o} moving forward or backward?",
        "b": "In its own reference frame, which way does {o} travel: forward or backward?",
        "c": "From the point of view of {o}, is it going forward or backward?",
        "d": "With respect to where its front points, does {o} move forward or backward?",
    },
}


def _agent_values(ctx: Ctx, spec: AgentSpec) -> dict:
    oid = spec.objects[0]
    return {"translation_own": [round(float(x), 4) for x in motion.own_frame_displacement(ctx.motion, oid)],
            "yaw_change_deg": _yaw_change(ctx, oid)}


AGENT = QuestionType(
    5, "agent_motion", "object_motion", ("yn", "free"),
    assets=_agent_assets, spec_type=AgentSpec, derive=derive_agent, templates=TEMPLATES_T5,
    slots=lambda ctx, spec, refs: {"o": refs[0].text}, askable=_agent_askable,
    variant=lambda fmt, spec: f"yn_{spec.aspect}" if fmt == "yn" else fmt, yn_queries=agent_queries,
    phrase=lambda query, spec: {"q": query if spec.aspect == "move" else TURN_QUERY[query]},
    values=_agent_values, reference_system="object",
)


# ---------------------------------------------------------------------------------------------- (6) moved distance

MC_OPTIONS = 4


def derive_moved(scene, m, spec, th) -> str | None:
    """MC: ``obj:<id>`` of the clear winner among the candidates; yes/no: compare_label of the first vs second."""
    objs = spec.objects
    lengths = [motion.path_length(m.obj_pos[m.index(o)]) for o in objs]
    if max(lengths) < _scaled(th, scene, m).translation_some_m:
        return None
    if spec.mode == "which":
        order = sorted(range(len(objs)), key=lambda i: -lengths[i])
        if labels.compare_label(lengths[order[0]], lengths[order[1]], th.moved_distance_margin_rel) != "greater":
            return None
        return f"obj:{objs[order[0]]}"
    return labels.compare_label(lengths[0], lengths[1], th.moved_distance_margin_rel)


def _moved_assets(ctx: Ctx, fmt: str) -> list[MovedSpec]:
    """MC: four candidates, every option an object (no filler options a model could learn to avoid); yes/no:
    pairs. Every object asked about translates: which of two travels farther must not be told by which of them
    moves at all (issue 24.1)."""
    objs = [o for o in eligible(ctx) if ctx.translates(o)]
    if fmt == "mc":
        return [MovedSpec(tuple(objs[:MC_OPTIONS]), mode="which")] if len(objs) >= MC_OPTIONS else []
    return [MovedSpec((a, b)) for a, b in draws.pairs(ctx.rng, objs)]


YN_Q6 = {"greater": "longer", "less": "shorter"}
TEMPLATES_T6 = {
    "mc": {
        "a": "Which of these travels the longest distance during the video?",
        "b": "Over the whole clip, which one covers the greatest distance?",
        "c": "Comparing the paths they follow, which one moves the farthest in total?",
        "d": "Which option travels the longest path from the first to the last frame?",
    },
    "yn": {
        "a": "Does {a} travel a {q} distance than {b} during the video?",
        "b": "Over the whole clip, is the path covered by {a} {q} than that of {b}?",
        "c": "Comparing total distance travelled, does {a} move a {q} way than {b}?",
        "d": "Is the distance {a} travels {q} than the distance {b} travels?",
    },
}


def _moved_values(ctx: Ctx, spec: MovedSpec) -> dict:
    m = ctx.motion
    # in spec order, the MC "which" mode included (one list type for the typed measurement column)
    return {"path_length_m": [round(motion.path_length(m.obj_pos[m.index(o)]), 4) for o in spec.objects]}


def _pair_slots(ctx: Ctx, spec: Spec, refs) -> dict[str, str]:
    return {"a": refs[0].text, "b": refs[1].text} if len(refs) == 2 else {}


MOVED = QuestionType(
    6, "moved_distance", "object_motion", ("mc", "yn"),
    assets=_moved_assets, spec_type=MovedSpec, derive=derive_moved, templates=TEMPLATES_T6, slots=_pair_slots,
    option_text=lambda label, refs: next(cap(r.text) for r in refs if f"obj:{r.object_id}" == label),
    distractors=lambda label, spec, rng: [f"obj:{o}" for o in spec.objects],
    queries=("greater", "less"), mirror=lambda spec: spec.with_(objects=spec.objects[::-1]),
    phrase=lambda query, spec: {"q": YN_Q6[query]}, values=_moved_values,
    fact=lambda spec, label: (label, tuple(sorted(spec.objects))) if spec.mode == "which"
    else comparison_fact(spec, label),
)


# ------------------------------------------------------------------------------------ (7) object-object distance


def derive_obj_obj_change(scene, m, spec, th) -> str | None:
    a, b = spec.objects
    return labels.distance_change_label(motion.object_object_distance(m, a, b), th)


def _obj_obj_assets(ctx: Ctx, fmt: str):
    """Pairs of objects visible throughout, drawn; in MC and yes/no at least one of them translates (two objects
    that stay in place keep their distance, which anyone sees without judging it)."""
    objs = eligible(ctx)
    moving = {o for o in objs if fmt == "free" or ctx.translates(o)}
    return (ObjectSpec((a, b)) for a, b in draws.pairs(ctx.rng, objs) if a in moving or b in moving)


TEMPLATES_T7 = {
    "mc": {
        "a": "How does the distance between {a} and {b} change during the video?",
        "b": "Over the clip, what happens to the gap between {a} and {b}?",
        "c": "Which option describes how far apart {a} and {b} are as the video progresses?",
        "d": "From the first to the last frame, how does the distance separating {a} and {b} evolve?",
    },
    "yn": {
        "a": "Does the distance between {a} and {b} {q} during the video?",
        "b": "Over the clip, does the gap between {a} and {b} {q}?",
        "c": "As the video progresses, does the separation of {a} and {b} {q}?",
        "d": "Does the distance from {a} to {b} {q} over the video?",
    },
    "free": {
        "a": "How does the distance between {a} and {b} change during the video?",
        "b": "Describe how the gap between {a} and {b} evolves over the clip.",
        "c": "What happens to the separation of {a} and {b} as the video plays?",
        "d": "From start to end, how does the distance from {a} to {b} change?",
    },
}

OBJ_OBJ_CHANGE = QuestionType(
    7, "object_object_distance_change", "object_motion", ("mc", "yn", "free"),
    assets=_obj_obj_assets,
    derive=derive_obj_obj_change, templates=TEMPLATES_T7, slots=_pair_slots,
    values=lambda ctx, spec: {"distance_m": [round(float(x), 4) for x in
                                             motion.object_object_distance(ctx.motion, *spec.objects)]},
    **DISTANCE_CHANGE,
)
