"""The exact text a model sees and must produce for a QA record — one place, used by export, training and
evaluation alike (so a prompt change cannot silently diverge between them)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from fourdpqa.errors import BadInput
from schemas.qa import LETTERS, TRAJECTORY_ENTRY

INSTRUCTIONS = {
    "mc": "Answer with the option's letter from the given choices directly.",
    "yn": "Answer with yes or no.",
    "free": "Answer with a short phrase.",
    "trajectory": ("Answer with one entry per requested frame, separated by '; ', each as "
                   "'<frame>: (x, y) visible', '<frame>: (x, y) occluded' or '<frame>: out of view', "
                   "with x and y normalised to [0, 1] and rounded to 3 decimals."),
    "numeric": "Answer with a single number only.",
}


FRAME_NOTE = "Frames are numbered from 0."
COORD_NOTE = "Image coordinates (x, y) are normalised to [0, 1], with (0, 0) at the top-left corner."
FRAME_WORD = re.compile(r"\bframes? \d")
COORD = re.compile(r"\(\d\.\d{3}, \d\.\d{3}\)")


def format_prompt(record: Mapping) -> str:
    """Question, lettered options (``A. text`` lines) for MC, conventions the question relies on (frame numbering,
    normalised coordinates), then the answer instruction."""
    fmt = record["answer_format"]
    if fmt not in INSTRUCTIONS:
        raise BadInput(f"record {record.get('id')!r}: unknown answer_format {fmt!r}")
    question = record["question"]
    lines = [question]
    if fmt == "mc":
        lines += [f"{letter}. {text}" for letter, text in zip(LETTERS, record["options"], strict=True)]
    text = " ".join([question, *record["options"]])
    notes = [FRAME_NOTE] if FRAME_WORD.search(text) else []
    if COORD.search(text):
        notes.append(COORD_NOTE)
    lines += notes + [INSTRUCTIONS[fmt]]
    return "\n".join(lines)


def format_target(record: Mapping) -> str:
    """The assistant answer: the letter for MC, yes/no, the free text, the trajectory or the number."""
    return str(record["answer"])


def normalise_xy(x: float, y: float, width: int, height: int) -> tuple[float, float]:
    """Pixel (x, y) (OpenCV pixel centres) -> ((x + 0.5) / W, (y + 0.5) / H) rounded to 3 decimals."""
    return round((x + 0.5) / width, 3), round((y + 0.5) / height, 3)


def serialise_trajectory(entries: list[tuple[int, float | None, float | None, str]]) -> str:
    """``[(frame, x_norm, y_norm, flag)]`` in the given order -> ``"7: (0.123, 0.456) visible; 3: out of view"``.

    flag is ``visible``, ``occluded`` or ``out of view`` (then x, y are None)."""
    parts = []
    for frame, x, y, flag in entries:
        if flag == "out of view":
            parts.append(f"{int(frame)}: out of view")
        elif flag in ("visible", "occluded"):
            parts.append(f"{int(frame)}: ({x:.3f}, {y:.3f}) {flag}")
        else:
            raise BadInput(f"unknown trajectory flag {flag!r}")
    return "; ".join(parts)


def parse_trajectory(text: str) -> dict[int, tuple[float | None, float | None, str]]:
    """Inverse of :func:`serialise_trajectory`; entries that do not parse are skipped (model outputs are noisy)."""
    out: dict[int, tuple[float | None, float | None, str]] = {}
    for entry in text.strip().split(";"):
        m = TRAJECTORY_ENTRY.match(entry.strip())
        if not m:
            continue
        frame = int(m.group(1))
        if m.group(5):
            out[frame] = (None, None, "out of view")
        else:
            out[frame] = (float(m.group(2)), float(m.group(3)), m.group(4))
    return out
