"""Category I, camera motion: (1) camera movement, (2) camera-object distance change — table rows, their
derive functions, requirements and templates."""

from __future__ import annotations

import numpy as np

from fourdpqa import labels, motion, sampling
from fourdpqa.labels import CAMERA_COMPONENTS, STATIC
from fourdpqa.questions.base import DIST_QUERY, Ctx, QuestionType, dist_queries, dist_text, pick
from fourdpqa.questions.specs import ObjectSpec, Spec

MOVE = {"forward": "forward", "backward": "backward", "left": "to the left", "right": "to the right", "up": "up", "down": "down"}
# roll is told from the viewer's side too: what the picture does on screen
TURN = {
    "pan left": "pans left", "pan right": "pans right", "tilt up": "tilts up", "tilt down": "tilts down",
    "roll right": "rolls to its right (the image rotates counter-clockwise)",
    "roll left": "rolls to its left (the image rotates clockwise)",
}
YN_PHRASE = {
    "forward": "move forward", "backward": "move backward", "left": "move to the left", "right": "move to the right",
    "up": "move up", "down": "move down", "pan left": "pan left", "pan right": "pan right", "tilt up": "tilt up",
    "tilt down": "tilt down", "roll right": "roll to its right (the image rotating counter-clockwise)",
    "roll left": "roll to its left (the image rotating clockwise)",
}


def describe_camera(label: str) -> str:
    """"forward+pan left" -> "The camera moves forward while it pans left"."""
    if label == STATIC:
        return "The camera stays still"
    comps = labels.camera_components(label)
    parts = []
    moves = [MOVE[c] for c in comps if c in MOVE]
    if moves:
        parts.append("moves " + " and ".join(moves))
    turns = [TURN[c] for c in comps if c in TURN]
    if turns:
        parts.append(" and ".join(turns))
    return "The camera " + " while it ".join(parts)


def _canon(comps: list[str]) -> str:
    comps = sorted(set(comps), key=CAMERA_COMPONENTS.index)
    return "+".join(comps) if comps else STATIC


def same_kind(component: str) -> tuple[str, ...]:
    """The components of the kind of ``component``: the six translations or the six rotations."""
    n = 2 * len(labels.CAMERA_TRANSLATION_AXES)
    return CAMERA_COMPONENTS[:n] if component in CAMERA_COMPONENTS[:n] else CAMERA_COMPONENTS[n:]


def camera_distractors(label: str, spec: Spec, rng: np.random.Generator) -> list[str]:
    """Wrong labels that read like the truth. A motion of several components gets the same components with signs
    flipped by two random masks and their combination, so the four options are a coset of sign patterns: no
    option is structurally special (none is the "centre" the others were edited from) and none is an implausible
    mix of axes the truth never had. One component gets other components of its kind (a translation other
    translations, a rotation other rotations): an observer who sees only that the camera moves, or that it
    translates rather than turns, cannot rule any option out (issue 24.1). "static" is never offered: a still
    camera is asked in free form only."""
    comps = labels.camera_components(label)
    if len(comps) < 2:
        return [x for x in same_kind(label) if x != label]
    k = len(comps)
    m1, m2 = (int(v) for v in rng.choice(np.arange(1, 2**k), size=2, replace=False))

    def flipped(mask: int) -> str:
        return _canon([labels.opposite(c) if mask >> i & 1 else c for i, c in enumerate(comps)])

    return [flipped(m1), flipped(m2), flipped(m1 ^ m2)]


def derive_camera(scene, m, spec, th) -> str | None:
    """The camera label in the levelled first-camera frame, or None (not asked) when the first camera's own view
    gives another one: a pitched camera moving along its optical axis also moves down in the levelled frame, so
    the two readings of "forward" and "up" disagree there, and no wording could make the answer unambiguous."""
    th = labels.scale_translation(th, motion.median_depth(scene, m)) if th.translation_scale != "metres" else th
    levelled = labels.camera_movement_label(motion.camera_levelled_track(m), motion.camera_rotation(m), th)
    own = labels.camera_movement_label(motion.camera_own_track(m), motion.camera_own_rotation(m), th)
    return levelled if levelled == own else None


def yn_camera(spec: Spec, label: str) -> bool:
    return spec.query in labels.camera_components(label)


def camera_queries(label: str, spec: Spec) -> tuple[list[str], list[str]]:
    """yes: the label's components; no: the other components of the kinds it has (a translating camera is asked
    about other translations, a turning one about other rotations), so knowing that the camera moves, or whether
    it translates or turns, answers none of them."""
    comps = labels.camera_components(label)
    kinds = {c for comp in comps for c in same_kind(comp)}
    return comps, [c for c in CAMERA_COMPONENTS if c in kinds and c not in comps]


def camera_phrase(query: str, spec: Spec) -> dict[str, str]:
    verb, _, rest = YN_PHRASE[query].partition(" ")
    return {"q": YN_PHRASE[query], "q3": f"{verb}s {rest}".strip()}


def camera_values(ctx: Ctx, spec: Spec) -> dict:
    return {"translation_fwd_left_up": motion.camera_levelled_track(ctx.motion)[-1].tolist(),
            "rotation_yaw_pitch_roll_deg": motion.camera_rotation(ctx.motion)[-1].tolist()}


# Every template names the frame: the first camera's own view (forward = where it first looks, up = the top of
# its first picture). Answers are computed in the levelled frame and asked only where the two agree.
TEMPLATES_T1 = {
    "mc": {
        "a": "Relative to its own view in the first frame, how does the camera move during the video?",
        "b": "Taking the camera's first view as the reference (forward = where it looks, up = the top of that "
             "image), which option best describes its motion over the clip?",
        "c": "Relative to its initial viewing direction and the top of its first image, how does the camera move "
             "over the clip?",
        "d": "Measured in the camera's own frame at the start of the video, what camera motion does the video show?",
    },
    "yn": {
        "a": "Relative to its own view in the first frame, does the camera {q} during the video?",
        "b": "Taking the camera's first view as the reference (forward = where it looks, up = the top of that "
             "image), does the camera {q} over the clip?",
        "c": "Relative to its initial viewing direction and the top of its first image, does the camera {q}?",
        "d": "Measured in the camera's own frame at the start, is it true that the camera {q3} in this video?",
    },
    "free": {
        "a": "Relative to its own view in the first frame, describe how the camera moves during the video.",
        "b": "How does the camera move relative to its initial viewing direction and the top of its first image?",
        "c": "Taking the camera's first view as the reference (forward = where it looks, up = the top of that "
             "image), what is the motion of the camera in this clip?",
        "d": "Measured in the camera's own frame at the start, summarise the camera's translation and rotation "
             "over the video.",
    },
}

CAMERA_MOVEMENT = QuestionType(
    1, "camera_movement", "camera_motion", ("mc", "yn", "free"),
    assets=lambda ctx, fmt: [ObjectSpec()], derive=derive_camera, templates=TEMPLATES_T1,
    slots=lambda ctx, spec, refs: {},
    # a still camera gives its answer away to anyone who sees that nothing moves: asked in free form only
    askable=lambda label, fmt, spec: label is not None and (fmt == "free" or label != STATIC),
    text=describe_camera, distractors=camera_distractors, yn_queries=camera_queries, yn=yn_camera,
    phrase=camera_phrase, values=camera_values, reference_system="first_camera_levelled",
)


# ------------------------------------------------------------------------------ (2) camera-object distance change


def eligible(ctx: Ctx, need_front: bool = False, agents: bool = False) -> list[int]:
    """Objects a whole-clip question may be about (posed, visible throughout), shuffled; optionally only those
    with a front, or only agents (:func:`fourdpqa.labels.is_agent`)."""
    s, m = ctx.scene, ctx.motion
    out = [o for o in m.object_ids if sampling.has_pose(m, o) and sampling.visible_throughout(s, m, o, ctx.th)
           and (not need_front or bool(s.object_row(o)["has_front"]))
           and (not agents or labels.is_agent(str(s.object_row(o)["category"]), ctx.th))]
    ctx.rng.shuffle(out)
    return out


def derive_cam_obj_distance(scene, m, spec, th) -> str | None:
    return labels.distance_change_label(motion.camera_object_distance(m, spec.objects[0]), th)


TEMPLATES_T2 = {
    "mc": {
        "a": "How does the distance between the camera and {o} change during the video?",
        "b": "Over the clip, what happens to the distance from the camera to {o}?",
        "c": "Which option describes how far {o} is from the camera as the video progresses?",
        "d": "From the first to the last frame, how does the distance from the camera to {o} evolve?",
    },
    "yn": {
        "a": "Does the distance between the camera and {o} {q} during the video?",
        "b": "Over the clip, does the distance from the camera to {o} {q}?",
        "c": "As the video progresses, does the camera's distance to {o} {q}?",
        "d": "Does the gap between {o} and the camera {q} over the video?",
    },
    "free": {
        "a": "How does the distance between the camera and {o} change during the video?",
        "b": "Describe how the distance from the camera to {o} evolves over the clip.",
        "c": "What happens to the distance between {o} and the camera as the video plays?",
        "d": "From start to end, how does the distance from the camera to {o} change?",
    },
}

STEADY = ("increasing", "decreasing", "constant")
TURNING = ("increasing then decreasing", "decreasing then increasing")


def distance_distractors(label: str, spec: Spec, rng: np.random.Generator) -> list[str]:
    """The 3 wrong options of a distance-change MC question (5 labels, 4 options): the steady labels are always
    offered, plus one turning label (the answer's own when it turns, else one drawn at random). A distance that
    turns within a short clip is rare (14 of 119 default-run questions), so offering a turning label as often as
    a steady one, as a uniform draw of 3 of the 4 other labels does, made it an option that is almost never right
    and lifted the correct-when-shown rate of the steady ones above their answer share (text-only TF-IDF 0.43 on
    camera-object distance, chance 0.25). With the steady labels always on offer their correct-when-shown rate is
    their answer share, which assembly bounds (``validate.max_option_ratio``), and a turning label's is lower."""
    turning = label if label in TURNING else pick(rng, TURNING)
    return [x for x in (*STEADY, turning) if x != label]


DISTANCE_CHANGE = dict(
    text=dist_text, distractors=distance_distractors,
    mc_labels=labels.DISTANCE_CHANGE_LABELS, yn_queries=dist_queries,
    phrase=lambda query, spec: {"q": DIST_QUERY[query]},
)

def _cam_obj_assets(ctx: Ctx, fmt: str) -> list[ObjectSpec]:
    """Objects visible throughout; in MC and yes/no only while the camera or the object translates (when neither
    does, anyone who sees that nothing travels knows the distance stays the same)."""
    moving_camera = fmt == "free" or ctx.translates()
    return [ObjectSpec((o,)) for o in eligible(ctx) if moving_camera or ctx.translates(o)]


CAM_OBJ_DISTANCE = QuestionType(
    2, "camera_object_distance", "camera_motion", ("mc", "yn", "free"),
    assets=_cam_obj_assets, derive=derive_cam_obj_distance,
    templates=TEMPLATES_T2, slots=lambda ctx, spec, refs: {"o": refs[0].text},
    values=lambda ctx, spec: {"distance_m": [round(float(x), 4) for x in
                                             motion.camera_object_distance(ctx.motion, spec.objects[0])]},
    reference_system="camera", **DISTANCE_CHANGE,
)
