"""Category I, camera motion: (1) camera movement, (2) camera-object distance change."""

from __future__ import annotations

import itertools

from fourdpqa import labels, motion, sampling
from fourdpqa.labels import CAMERA_COMPONENTS, STATIC
from fourdpqa.questions.base import (
    DIST_QUERY, Ctx, Draft, QuestionType, dist_no_queries, dist_text, finish, mc_layout, pick, template, want_yes,
)

MOVE = {"forward": "forward", "backward": "backward", "left": "to the left", "right": "to the right", "up": "up", "down": "down"}
TURN = {
    "pan left": "pans left", "pan right": "pans right", "tilt up": "tilts up", "tilt down": "tilts down",
    "roll clockwise": "rolls clockwise", "roll counter-clockwise": "rolls counter-clockwise",
}
YN_PHRASE = {
    "forward": "move forward", "backward": "move backward", "left": "move to the left", "right": "move to the right",
    "up": "move up", "down": "move down", "pan left": "pan left", "pan right": "pan right", "tilt up": "tilt up",
    "tilt down": "tilt down", "roll clockwise": "roll clockwise", "roll counter-clockwise": "roll counter-clockwise",
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


def camera_distractors(label: str) -> list[str]:
    """Wrong labels of the truth's complexity, drawn from the whole label space (every valid combination of as many
    axes), not made by editing the truth: edited distractors cluster around the answer, so a text-only model picks
    the option sharing most components with the others (the blind-bias audit flagged exactly that)."""
    comps = labels.camera_components(label)
    k = max(len(comps), 1)
    out = [STATIC] if len(comps) == 1 else []
    for combo in itertools.combinations(CAMERA_COMPONENTS, k):
        if len({labels.camera_axis_of(c) for c in combo}) == k:
            out.append(_canon(list(combo)))
    return [d for d in dict.fromkeys(out) if d != label]


def derive_camera(scene, m, spec, th) -> str | None:
    return labels.camera_movement_label(motion.camera_local_track(m), motion.camera_rotation(m), th)


def yn_camera(spec: dict, label: str) -> bool:
    q = spec["query"]
    return label == STATIC if q == STATIC else q in labels.camera_components(label)


MC_T1 = {
    "a": "How does the camera move during the video?",
    "b": "Which option best describes the camera's motion from the first to the last frame?",
    "c": "Relative to its initial viewing direction, how does the camera move over the clip?",
    "d": "What camera motion does this video show?",
}
YN_T1 = {
    "a": "Does the camera {q} during the video?",
    "b": "Over the course of the clip, does the camera {q}?",
    "c": "Relative to its initial viewing direction, does the camera {q}?",
    "d": "Is it true that the camera {q3} in this video?",
}
YN_STATIC_T1 = {
    "a": "Is the camera stationary during the whole video?",
    "b": "Does the camera stay still throughout the clip?",
    "c": "Is the video filmed from a fixed, non-moving camera?",
    "d": "Is the camera static in this video?",
}
FREE_T1 = {
    "a": "Describe how the camera moves during the video.",
    "b": "How does the camera move relative to its initial viewing direction?",
    "c": "What is the motion of the camera in this clip?",
    "d": "Summarise the camera's translation and rotation over the video.",
}


def build_camera_movement(ctx: Ctx, fmt: str) -> Draft | None:
    m = ctx.motion
    label = derive_camera(ctx.scene, m, {}, ctx.th)
    if label is None:
        return None
    values = {"translation_fwd_left_up": motion.camera_local_track(m)[-1].tolist(),
              "rotation_yaw_pitch_roll_deg": motion.camera_rotation(m)[-1].tolist()}
    spec: dict = {}
    slots: tuple[str, ...] = ()
    if fmt == "mc":
        spec["option_labels"] = mc_layout(ctx.rng, label, camera_distractors(label))
        tid, q = template(ctx.rng, MC_T1)
    elif fmt == "yn":
        comps = labels.camera_components(label)
        if want_yes(ctx.rng):
            query = STATIC if label == STATIC else pick(ctx.rng, comps)
        else:
            wrong = [c for c in CAMERA_COMPONENTS if c not in comps]
            query = pick(ctx.rng, wrong + ([STATIC] if comps else []))
        spec["query"] = query
        if query == STATIC:
            tid, q = template(ctx.rng, YN_STATIC_T1)
        else:
            tid, q = template(ctx.rng, YN_T1, q=YN_PHRASE[query], q3=_third_person(YN_PHRASE[query]))
            slots = (YN_PHRASE[query].split()[-1],)
    else:
        tid, q = template(ctx.rng, FREE_T1)
    return finish(CAMERA_MOVEMENT, ctx, fmt, q, tid, spec, label, values, [], describe_camera, slots)


def _third_person(phrase: str) -> str:
    verb, _, rest = phrase.partition(" ")
    return f"{verb}s {rest}".strip()


def derive_cam_obj_distance(scene, m, spec, th) -> str | None:
    return labels.distance_change_label(motion.camera_object_distance(m, spec["objects"][0]), th)


MC_T2 = {
    "a": "How does the distance between the camera and {o} change during the video?",
    "b": "Over the clip, what happens to the distance from the camera to {o}?",
    "c": "Which option describes how far {o} is from the camera as the video progresses?",
    "d": "From the first to the last frame, how does the distance from the camera to {o} evolve?",
}
YN_T2 = {
    "a": "Does the distance between the camera and {o} {q} during the video?",
    "b": "Over the clip, does the distance from the camera to {o} {q}?",
    "c": "As the video progresses, does the camera's distance to {o} {q}?",
    "d": "Does the gap between {o} and the camera {q} over the video?",
}
FREE_T2 = {
    "a": "How does the distance between the camera and {o} change during the video?",
    "b": "Describe how the distance from the camera to {o} evolves over the clip.",
    "c": "What happens to the distance between {o} and the camera as the video plays?",
    "d": "From start to end, how does the distance from the camera to {o} change?",
}


def build_cam_obj_distance(ctx: Ctx, fmt: str) -> Draft | None:
    s, m, th = ctx.scene, ctx.motion, ctx.th
    cands = [o for o in m.object_ids if sampling.has_pose(m, o) and sampling.visible_throughout(s, m, o, th)]
    ctx.rng.shuffle(cands)
    for oid in cands:
        spec = {"objects": [oid]}
        label = derive_cam_obj_distance(s, m, spec, th)
        if label is None:
            continue
        refs = sampling.refer(s, m, [oid], [None], ctx.rng, ctx.qa.reference_mode_mix, th)
        if refs is None:
            continue
        d = motion.camera_object_distance(m, oid)
        values = {"distance_m": [round(float(x), 4) for x in d]}
        return distance_change_question(CAM_OBJ_DISTANCE, ctx, fmt, spec, label, values, refs, MC_T2, YN_T2, FREE_T2,
                                        o=refs[0].text)
    return None


def distance_change_question(qt: QuestionType, ctx: Ctx, fmt: str, spec: dict, label: str, values: dict, refs,
                             mc_t: dict, yn_t: dict, free_t: dict, **names: str) -> Draft | None:
    """MC / yes-no / free question about a distance-change label (shared by types 2 and 7)."""
    slots: tuple[str, ...] = ()
    if fmt == "mc":
        spec["option_labels"] = mc_layout(ctx.rng, label, list(labels.DISTANCE_CHANGE_LABELS))
        tid, q = template(ctx.rng, mc_t, **names)
    elif fmt == "yn":
        query = label if want_yes(ctx.rng) else pick(ctx.rng, dist_no_queries(label))
        spec["query"] = query
        tid, q = template(ctx.rng, yn_t, q=DIST_QUERY[query], **names)
        slots = (DIST_QUERY[query],)
    else:
        tid, q = template(ctx.rng, free_t, **names)
    return finish(qt, ctx, fmt, q, tid, spec, label, values, refs, dist_text, slots)


CAMERA_MOVEMENT = QuestionType(1, "camera_movement", "camera_motion", ("mc", "yn", "free"), build_camera_movement,
                               derive_camera, yn_camera, describe_camera, reference_system="camera")
CAM_OBJ_DISTANCE = QuestionType(2, "camera_object_distance", "camera_motion", ("mc", "yn", "free"),
                                build_cam_obj_distance, derive_cam_obj_distance, text=dist_text,
                                reference_system="camera")
