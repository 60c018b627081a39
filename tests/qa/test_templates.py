"""Prompt snapshots (like lmms-eval's): every question template of the type table, and the exact prompt a model
sees for it (:func:`fourdpqa.qa_format.format_prompt`, slots filled with their names), are frozen in
``snapshots/question_templates.json``. A wording change must be deliberate: rerun with
``FOURDPQA_UPDATE_SNAPSHOTS=1`` and commit the new snapshot with the change."""

from __future__ import annotations

import json
import os
import string
from pathlib import Path

from fourdpqa.labels import CAMERA_COMPONENTS, STATIC
from fourdpqa.qa_format import format_prompt
from fourdpqa.questions import TYPES, base, camera, object_motion, spatial

SNAPSHOT = Path(__file__).parent / "snapshots" / "question_templates.json"


# example values of the slots whose form the prompt depends on (frame numbers, coordinates); others show their name
EXAMPLES = {"k": "3", "i": "2", "j": "9", "x": "0.250", "y": "0.750", "f": "frames 4, 7"}


def _fill(template: str) -> str:
    names = [f for _, f, _, _ in string.Formatter().parse(template) if f]
    return template.format(**{n: EXAMPLES.get(n, f"<{n}>") for n in names})


def _prompt(question: str, fmt: str) -> str:
    options = [f"<option {k}>" for k in range(1, 5)] if fmt == "mc" else ["yes", "no"] if fmt == "yn" else []
    return format_prompt({"answer_format": fmt, "question": question, "options": options})


def current() -> dict:
    out = {}
    for qtype, qt in sorted(TYPES.items()):
        variants = {}
        for variant, table in sorted(qt.templates.items()):
            fmt = next(f for f in qt.formats if variant == f or variant.startswith(f + "_") or len(qt.formats) == 1)
            variants[variant] = {tid: {"template": text, "prompt": _prompt(_fill(text), fmt)}
                                 for tid, text in sorted(table.items())}
        out[f"{qtype:02d} {qt.name}"] = variants
    out["wording"] = {  # answer texts and yes/no query phrases, which options and questions are made of
        "camera": {c: camera.describe_camera(c) for c in (STATIC, *CAMERA_COMPONENTS)},
        "camera_queries": camera.YN_PHRASE, "distance": base.DIST_TEXT, "distance_queries": base.DIST_QUERY,
        "direction": object_motion.DIRECTION_TEXT, "agent_turn_queries": object_motion.TURN_QUERY,
        "moved_queries": object_motion.YN_Q6, "depth_queries": spatial.DEPTH_Q, "object_queries": spatial.OBJ_Q,
        "distance_compare": spatial.DIST_Q, "pair_queries": spatial.PAIR_Q,
    }
    return out


def test_question_templates_match_the_snapshot():
    got = current()
    if os.environ.get("FOURDPQA_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(got, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    assert got == json.loads(SNAPSHOT.read_text()), "question wording changed: update the snapshot deliberately"


def test_every_type_has_four_templates_per_variant():
    for qt in TYPES.values():
        assert qt.templates and all(len(table) >= 4 for table in qt.templates.values()), qt.name
        assert all(variant.split("_")[0] in qt.formats or len(qt.formats) == 1 for variant in qt.templates), qt.name
