"""A reviewer's answers: one JSON line per click in ``answers.jsonl`` (kept outside the review stage's DVC
output, so rebuilding the page never loses them), and human-label agreement per question type.

A line is ``{"id": <QA id>, "answer": <A-D | yes | no | agree | disagree | unsure>, "seconds": <time spent>}``.
MC and yes/no cards are answered blind (the key is shown only afterwards) and agree when the reviewer's answer
equals the key; free-form, numeric and trajectory cards show the key and the reviewer judges it (agree /
disagree). ``unsure`` ("can't tell from the video") is counted apart: it says the question is not answerable by a
person, which is a finding of its own. The last answer per id counts.
"""

from __future__ import annotations

import json
import os
import statistics
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from schemas.qa import LETTERS

ANSWERS = "human_review/answers.jsonl"  # under the data root, outside the review stage's (rebuilt) output
UNSURE = "unsure"
JUDGED = ("agree", "disagree")


def allowed_answers(record: Mapping[str, Any]) -> tuple[str, ...]:
    """What a reviewer may answer on this record's card."""
    fmt = record["answer_format"]
    if fmt == "mc":
        return (*LETTERS[: len(record["options"])], UNSURE)
    if fmt == "yn":
        return ("yes", "no", UNSURE)
    return (*JUDGED, UNSURE)


class AnswerLog:
    """Append-only JSONL of answers; each line is flushed and fsynced before the call returns, so a closed
    browser or a killed server loses nothing already acknowledged. Thread-safe."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()

    def append(self, entry: Mapping[str, Any]) -> None:
        line = json.dumps(dict(entry), sort_keys=True) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())

    def latest(self) -> dict[str, dict[str, Any]]:
        """id -> the last answer recorded for it (a half-written last line, from a crash, is skipped)."""
        out: dict[str, dict[str, Any]] = {}
        if not self.path.exists():
            return out
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            out[str(entry["id"])] = entry
        return out


def agrees(record: Mapping[str, Any], answer: str) -> bool | None:
    """Whether an answer agrees with the record's label (None for ``unsure``)."""
    if answer == UNSURE:
        return None
    if record["answer_format"] in ("mc", "yn"):
        return answer == str(record["answer"])
    return answer == "agree"


def agreement(records: Iterable[Mapping[str, Any]], answers: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Human-label agreement per question name and overall: answered, agree, unsure, agreement (agree / answered
    without unsure), and the median seconds per answer (what 100 questions cost a reviewer)."""
    per: dict[str, dict[str, int]] = {}
    seconds = []
    for r in records:
        entry = answers.get(r["id"])
        if entry is None:
            continue
        row = per.setdefault(r["question_name"], {"answered": 0, "agree": 0, "unsure": 0})
        row["answered"] += 1
        verdict = agrees(r, str(entry["answer"]))
        row["agree"] += verdict is True
        row["unsure"] += verdict is None
        if isinstance(entry.get("seconds"), (int, float)):
            seconds.append(float(entry["seconds"]))

    def rate(row: dict[str, int]) -> float | None:
        sure = row["answered"] - row["unsure"]
        return round(row["agree"] / sure, 4) if sure else None

    total = {k: sum(r[k] for r in per.values()) for k in ("answered", "agree", "unsure")}
    median = statistics.median(seconds) if seconds else None
    return {"per_type": {k: {**v, "agreement": rate(v)} for k, v in sorted(per.items())},
            "overall": {**total, "agreement": rate(total)},
            "median_seconds": median, "minutes_per_100": round(median * 100 / 60, 1) if median is not None else None}
