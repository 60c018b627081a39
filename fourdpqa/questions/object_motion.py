"""Category II, object motion: (3) rotation seen from above, (4) direction relative to the first view, (5) agent
motion in its own frame, (6) moved-distance comparison, (7) object-object distance change."""

from __future__ import annotations

from itertools import combinations

from fourdpqa import labels, motion, sampling
from fourdpqa.questions.base import Ctx, Draft, QuestionType, dist_text, finish, mc_layout, pick, template, want_yes
from fourdpqa.questions.camera import distance_change_question


def _eligible(ctx: Ctx, need_front: bool = False) -> list[int]:
    s, m = ctx.scene, ctx.motion
    out = [o for o in m.object_ids if sampling.has_pose(m, o) and sampling.visible_throughout(s, m, o, ctx.th)
           and (not need_front or bool(s.object_row(o)["has_front"]))]
    ctx.rng.shuffle(out)
    return out


def _refer(ctx: Ctx, oids: list[int]):
    return sampling.refer(ctx.scene, ctx.motion, oids, [None] * len(oids), ctx.rng, ctx.qa.reference_mode_mix, ctx.th)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


# ---------------------------------------------------------------------------------------------- (3) rotation


def derive_rotation(scene, m, spec, th) -> str | None:
    return labels.rotation_label(motion.object_yaw_deg(m.obj_rot[m.index(spec["objects"][0])]), th)


YN_T3 = {
    "a": "Seen from above, does {o} rotate {q}?",
    "b": "Viewed from a top-down perspective, is {o} turning {q}?",
    "c": "Looking down on the scene from above, does {o} spin {q} during the video?",
    "d": "From a bird's-eye view, is the rotation of {o} {q}?",
}
FREE_T3 = {
    "a": "Seen from above, in which direction does {o} rotate?",
    "b": "From a top-down view, is {o} rotating clockwise or counter-clockwise?",
    "c": "Looking down from above, which way does {o} turn during the video?",
    "d": "Describe the rotation direction of {o} as seen from a bird's-eye view.",
}


def build_rotation(ctx: Ctx, fmt: str) -> Draft | None:
    for oid in _eligible(ctx, need_front=True):
        spec = {"objects": [oid]}
        label = derive_rotation(ctx.scene, ctx.motion, spec, ctx.th)
        if label not in labels.ROTATION_LABELS:
            continue
        refs = _refer(ctx, [oid])
        if refs is None:
            continue
        yaw = motion.object_yaw_deg(ctx.motion.obj_rot[ctx.motion.index(oid)])
        values = {"yaw_change_deg": round(float(yaw[-1] - yaw[0]), 3)}
        slots: tuple[str, ...] = ()
        if fmt == "yn":
            query = label if want_yes(ctx.rng) else next(x for x in labels.ROTATION_LABELS if x != label)
            spec["query"] = query
            tid, q = template(ctx.rng, YN_T3, o=refs[0].text, q=query)
            slots = (query,)
        else:
            tid, q = template(ctx.rng, FREE_T3, o=refs[0].text)
        return finish(ROTATION, ctx, fmt, q, tid, spec, label, values, refs, str, slots)
    return None


# ---------------------------------------------------------------------------------------------- (4) direction

DIRECTION_TEXT = {"away from the camera": "Away from the camera", "toward the camera": "Toward the camera",
                  "left": "To the left", "right": "To the right"}


def derive_direction(scene, m, spec, th) -> str | None:
    return labels.direction_label(motion.object_positions(m, spec["objects"][0], "heading"), th)


MC_T4 = {
    "a": "Relative to the camera's viewpoint in frame 0, in which direction does {o} move?",
    "b": "Taking the first frame's view as reference, where does {o} move during the video?",
    "c": "As seen from the camera position of the first frame, which way does {o} travel?",
    "d": "In the reference frame of the first frame's camera view, what is the direction of motion of {o}?",
}
FREE_T4 = dict(MC_T4)


def build_direction(ctx: Ctx, fmt: str) -> Draft | None:
    for oid in _eligible(ctx):
        spec = {"objects": [oid]}
        label = derive_direction(ctx.scene, ctx.motion, spec, ctx.th)
        if label not in labels.DIRECTION_LABELS:
            continue
        refs = _refer(ctx, [oid])
        if refs is None:
            continue
        track = motion.object_positions(ctx.motion, oid, "heading")
        values = {"translation_heading": [round(float(x), 4) for x in track[-1] - track[0]]}
        if fmt == "mc":
            spec["option_labels"] = mc_layout(ctx.rng, label, list(labels.DIRECTION_LABELS))
            tid, q = template(ctx.rng, MC_T4, o=refs[0].text)
        else:
            tid, q = template(ctx.rng, FREE_T4, o=refs[0].text)
        return finish(DIRECTION, ctx, fmt, q, tid, spec, label, values, refs, DIRECTION_TEXT.__getitem__)
    return None


# ---------------------------------------------------------------------------------------------- (5) agent motion


def derive_agent(scene, m, spec, th) -> str | None:
    oid = spec["objects"][0]
    if spec["aspect"] == "move":
        return labels.agent_motion_label(motion.own_frame_displacement(m, oid), th)
    return labels.agent_turn_label(motion.object_yaw_deg(m.obj_rot[m.index(oid)]), th)


YN_MOVE_T5 = {
    "a": "Relative to the direction it is facing, is {o} moving {q}?",
    "b": "In its own reference frame, does {o} travel {q}?",
    "c": "From the point of view of {o} itself, is it going {q}?",
    "d": "Is {o} moving {q} with respect to where its front points?",
}
YN_TURN_T5 = {
    "a": "From its own point of view, is {o} {q}?",
    "b": "Relative to its own heading, is {o} {q}?",
    "c": "In its own reference frame, is {o} {q} during the video?",
    "d": "Seen from the perspective of {o}, is it {q}?",
}
TURN_QUERY = {"left": "turning to its left", "right": "turning to its right", "straight": "keeping a straight heading"}
FREE_T5 = {
    "a": "Relative to the direction it is facing, is {o} moving forward or backward?",
    "b": "In its own reference frame, which way does {o} travel: forward or backward?",
    "c": "From the point of view of {o}, is it going forward or backward?",
    "d": "With respect to where its front points, does {o} move forward or backward?",
}


def build_agent(ctx: Ctx, fmt: str) -> Draft | None:
    for oid in _eligible(ctx, need_front=True):
        aspect = "move" if fmt == "free" else pick(ctx.rng, ["move", "turn"])
        spec = {"objects": [oid], "aspect": aspect}
        label = derive_agent(ctx.scene, ctx.motion, spec, ctx.th)
        moving = labels.agent_motion_label(motion.own_frame_displacement(ctx.motion, oid), ctx.th)
        if aspect == "move" and label not in labels.AGENT_MOVE_LABELS:
            continue
        if aspect == "turn" and (label is None or (label == "straight" and moving not in labels.AGENT_MOVE_LABELS)):
            continue
        refs = _refer(ctx, [oid])
        if refs is None:
            continue
        yaw = motion.object_yaw_deg(ctx.motion.obj_rot[ctx.motion.index(oid)])
        values = {"translation_own": [round(float(x), 4) for x in motion.own_frame_displacement(ctx.motion, oid)],
                  "yaw_change_deg": round(float(yaw[-1] - yaw[0]), 3)}
        slots: tuple[str, ...] = ()
        if fmt == "yn":
            pool = labels.AGENT_MOVE_LABELS if aspect == "move" else labels.AGENT_TURN_LABELS
            query = label if want_yes(ctx.rng) else pick(ctx.rng, [x for x in pool if x != label])
            spec["query"] = query
            phrase = query if aspect == "move" else TURN_QUERY[query]
            tid, q = template(ctx.rng, YN_MOVE_T5 if aspect == "move" else YN_TURN_T5, o=refs[0].text, q=phrase)
            slots = (phrase,)
        else:
            tid, q = template(ctx.rng, FREE_T5, o=refs[0].text)
        return finish(AGENT, ctx, fmt, q, tid, spec, label, values, refs, str, slots)
    return None


# ---------------------------------------------------------------------------------------------- (6) moved distance

SAME, NONE_MOVED = "same", "none moved"


def derive_moved(scene, m, spec, th) -> str | None:
    """MC: ``obj:<id>`` of the clear winner among the candidates; yes/no: compare_label of the first vs second."""
    objs = spec["objects"]
    lengths = [motion.path_length(m.obj_pos[m.index(o)]) for o in objs]
    if max(lengths) < th.translation_some_m:
        return None
    if "option_labels" in spec or spec.get("mode") == "which":
        order = sorted(range(len(objs)), key=lambda i: -lengths[i])
        if labels.compare_label(lengths[order[0]], lengths[order[1]], th.moved_distance_margin_rel) != "greater":
            return None
        return f"obj:{objs[order[0]]}"
    return labels.compare_label(lengths[0], lengths[1], th.moved_distance_margin_rel)


MC_T6 = {
    "a": "Which of these travels the longest distance during the video?",
    "b": "Over the whole clip, which one covers the greatest distance?",
    "c": "Comparing the paths they follow, which one moves the farthest in total?",
    "d": "Which option travels the longest path from the first to the last frame?",
}
YN_T6 = {
    "a": "Does {a} travel a {q} distance than {b} during the video?",
    "b": "Over the whole clip, is the path covered by {a} {q} than that of {b}?",
    "c": "Comparing total distance travelled, does {a} move a {q} way than {b}?",
    "d": "Is the distance {a} travels {q} than the distance {b} travels?",
}
YN_Q6 = {"greater": "longer", "less": "shorter"}


def build_moved(ctx: Ctx, fmt: str) -> Draft | None:
    m, th = ctx.motion, ctx.th
    objs = _eligible(ctx)
    if len(objs) < 2:
        return None
    lengths = {o: motion.path_length(m.obj_pos[m.index(o)]) for o in objs}
    if fmt == "mc":
        chosen = objs[:4]
        spec = {"objects": chosen, "mode": "which"}
        label = derive_moved(ctx.scene, m, spec, th)
        if label is None:
            return None
        refs = _refer(ctx, chosen)
        if refs is None:
            return None
        text = {f"obj:{r.object_id}": _cap(r.text) for r in refs}
        text[SAME] = "They all travel about the same distance"
        text[NONE_MOVED] = "None of them moves"
        distractors = [k for k in text if k.startswith("obj:") and k != label] + [SAME, NONE_MOVED]
        spec["option_labels"] = mc_layout(ctx.rng, label, distractors[:3])
        tid, q = template(ctx.rng, MC_T6)
        values = {"path_length_m": {str(o): round(lengths[o], 4) for o in chosen}}
        return finish(MOVED, ctx, "mc", q, tid, spec, label, values, refs, text.__getitem__)
    for a, b in combinations(objs, 2):
        lab = labels.compare_label(lengths[a], lengths[b], th.moved_distance_margin_rel)
        if lab is None or max(lengths[a], lengths[b]) < th.translation_some_m:
            continue
        query = pick(ctx.rng, ["greater", "less"])
        if (lab == query) != want_yes(ctx.rng):
            a, b = b, a
        spec = {"objects": [a, b], "query": query}
        label = derive_moved(ctx.scene, m, spec, th)
        refs = _refer(ctx, [a, b])
        if refs is None:
            continue
        tid, q = template(ctx.rng, YN_T6, a=refs[0].text, b=refs[1].text, q=YN_Q6[query])
        values = {"path_length_m": [round(lengths[a], 4), round(lengths[b], 4)]}
        return finish(MOVED, ctx, "yn", q, tid, spec, label, values, refs, str, (YN_Q6[query],))
    return None


# ------------------------------------------------------------------------------------ (7) object-object distance


def derive_obj_obj_change(scene, m, spec, th) -> str | None:
    a, b = spec["objects"]
    return labels.distance_change_label(motion.object_object_distance(m, a, b), th)


MC_T7 = {
    "a": "How does the distance between {a} and {b} change during the video?",
    "b": "Over the clip, what happens to the gap between {a} and {b}?",
    "c": "Which option describes how far apart {a} and {b} are as the video progresses?",
    "d": "From the first to the last frame, how does the distance separating {a} and {b} evolve?",
}
YN_T7 = {
    "a": "Does the distance between {a} and {b} {q} during the video?",
    "b": "Over the clip, does the gap between {a} and {b} {q}?",
    "c": "As the video progresses, does the separation of {a} and {b} {q}?",
    "d": "Does the distance from {a} to {b} {q} over the video?",
}
FREE_T7 = {
    "a": "How does the distance between {a} and {b} change during the video?",
    "b": "Describe how the gap between {a} and {b} evolves over the clip.",
    "c": "What happens to the separation of {a} and {b} as the video plays?",
    "d": "From start to end, how does the distance from {a} to {b} change?",
}


def build_obj_obj_change(ctx: Ctx, fmt: str) -> Draft | None:
    for a, b in combinations(_eligible(ctx), 2):
        spec = {"objects": [a, b]}
        label = derive_obj_obj_change(ctx.scene, ctx.motion, spec, ctx.th)
        if label is None:
            continue
        refs = _refer(ctx, [a, b])
        if refs is None:
            continue
        d = motion.object_object_distance(ctx.motion, a, b)
        values = {"distance_m": [round(float(x), 4) for x in d]}
        return distance_change_question(OBJ_OBJ_CHANGE, ctx, fmt, spec, label, values, refs, MC_T7, YN_T7, FREE_T7,
                                        a=refs[0].text, b=refs[1].text)
    return None


ROTATION = QuestionType(3, "object_rotation", "object_motion", ("yn", "free"), build_rotation, derive_rotation,
                        reference_system="gravity")
DIRECTION = QuestionType(4, "object_direction", "object_motion", ("mc", "free"), build_direction, derive_direction,
                         text=DIRECTION_TEXT.__getitem__, reference_system="first_camera_levelled")
AGENT = QuestionType(5, "agent_motion", "object_motion", ("yn", "free"), build_agent, derive_agent,
                     reference_system="object")
MOVED = QuestionType(6, "moved_distance", "object_motion", ("mc", "yn"), build_moved, derive_moved)
OBJ_OBJ_CHANGE = QuestionType(7, "object_object_distance_change", "object_motion", ("mc", "yn", "free"),
                              build_obj_obj_change, derive_obj_obj_change, text=dist_text)
