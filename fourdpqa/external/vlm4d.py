"""VLM4D (ICCV 2025) evaluation from a local copy of its published QA files and videos.

Layout expected under ``data_dir``: ``real_mc.json`` and/or ``synthetic_mc.json`` (as in the VLM4D repo's
``data/``), and the videos at the path their ``video`` URL has after ``/resolve/main/`` (e.g.
``videos_real/davis/city-ride.mp4``). Entries: id, video, question_type, question, choices {A..D: text}, answer
(the option *text*, sometimes an int, with stray spaces or other capitalisation). Ids restart per split, so
questions are keyed by (split, id).

Prompts are the official multiple-choice CoT / direct-output templates (VLM4D ``utils/constant.py``); answers are
scored with :func:`fourdpqa.answers.extract_choice` instead of the official LLM judge (offline, deterministic);
statistics follow the official ``acc_final_statistics.py``: Real exo-centric (id number <= 922) / ego-centric
(> 922), Synthetic false-positive (answer "no" or starting "no ") / directional, overall micro accuracy.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fourdpqa import markdown
from fourdpqa.answers import LETTERS, extract_choice
from fourdpqa.errors import BadInput
from fourdpqa.frames import read_video
from fourdpqa.predictors.base import Predictor, Sample

log = logging.getLogger(__name__)

SPLIT_FILES = {"real": "real_mc.json", "synthetic": "synthetic_mc.json"}
EXO_MAX_ID = 922  # real ids 1..922 are DAVIS + YouTube-VOS (exo-centric), the rest Ego4D

COT_PROMPT = (
    "\nQuestion: {question}\n{optionized}\n\nAnswer the given multiple-choice question step by step. Begin by "
    "explaining your reasoning process clearly. In the last sentence of your response, you must conclude by stating "
    "the final answer using the following format: 'Therefore, the final answer is: $LETTER' (without quotes), where "
    "$LETTER must be only one of the options (A or B or C or D). Think step by step before answering.")
DIRECT_PROMPT = (
    "\nQuestion: {question}\n{optionized}\n\nDo not generate any intermediate reasoning process. Answer directly "
    "with the option letter from the given choices.\n")
PROMPTS = {"cot": COT_PROMPT, "direct-output": DIRECT_PROMPT}


class VLM4DError(BadInput):
    """A malformed VLM4D file or entry (the message names the file and the question id)."""


@dataclass(frozen=True)
class VLM4DItem:
    split: str  # "real" | "synthetic"
    id: str  # e.g. "validation_160" (unique within its split only)
    video: str  # path relative to the data folder, e.g. "videos_real/davis/city-ride.mp4"
    question: str
    choices: tuple[tuple[str, Any], ...]  # (letter, value as published: str with its spaces, or int)
    answer: Any  # as published (option text or int)
    gt_letters: tuple[str, ...]  # usually one; a few published questions list the right text twice

    @property
    def key(self) -> tuple[str, str]:
        return self.split, self.id

    @property
    def number(self) -> int:
        return int(self.id.split("_")[-1])

    def prompt(self, style: str = "cot") -> str:
        optionized = "\n".join(f"{k}: {v}" for k, v in self.choices)
        return PROMPTS[style].format(question=self.question, optionized=optionized)

    def record(self) -> dict[str, Any]:
        """The record a predictor sees (the QA-record fields our predictors read)."""
        return {"id": f"{self.split}/{self.id}", "video_id": self.video, "question": self.question,
                "question_name": "vlm4d", "question_type": 0, "category": "vlm4d", "answer_format": "mc",
                "options": [str(v) for _, v in self.choices], "answer": self.gt_letters[0],
                "answer_text": str(self.answer)}


def _norm(value: Any) -> str:
    return str(value).strip().lower()


def video_relpath(url: str) -> str:
    """HF dataset URL (or an already relative path) -> path inside the local VLM4D folder."""
    marker = "/resolve/main/"
    return url.split(marker, 1)[1] if marker in url else url.lstrip("/")


def parse_entry(entry: Mapping[str, Any], split: str, source: str) -> VLM4DItem:
    """One published entry -> :class:`VLM4DItem`; the ground-truth letters are the choices equal to the answer
    (compared as stripped, lower-case strings, so 1 == "1" and "Right" == "right "). Real-split questions such as
    validation_633 list the right text under two letters; either is right, as for the official text-based judge."""
    qid = entry.get("id", "?")
    missing = {"id", "video", "question", "choices", "answer"} - set(entry)
    if missing:
        raise VLM4DError(f"{source}: question {qid!r}: missing fields {sorted(missing)}")
    choices = entry["choices"]
    if not isinstance(choices, Mapping) or sorted(choices) != list(LETTERS[: len(choices)]) or len(choices) < 2:
        raise VLM4DError(f"{source}: question {qid!r}: choices must be a dict with keys A, B, ...; got {choices!r}")
    ordered = tuple((k, choices[k]) for k in sorted(choices))
    hits = [k for k, v in ordered if _norm(v) == _norm(entry["answer"])]
    if not hits:
        raise VLM4DError(f"{source}: question {qid!r}: answer {entry['answer']!r} matches none of the choices "
                         f"{dict(ordered)!r}")
    try:
        int(str(qid).split("_")[-1])
    except ValueError as exc:
        raise VLM4DError(f"{source}: question id {qid!r} does not end in a number") from exc
    return VLM4DItem(split, str(qid), video_relpath(str(entry["video"])), str(entry["question"]), ordered,
                     entry["answer"], tuple(hits))


def load_vlm4d(data_dir: str | Path, splits: Iterable[str] = ("real", "synthetic")) -> list[VLM4DItem]:
    """Items of every requested split whose file exists (at least one must); duplicate ids within a split fail."""
    data_dir = Path(data_dir)
    items: list[VLM4DItem] = []
    found = False
    for split in splits:
        path = data_dir / SPLIT_FILES[split]
        if not path.exists():
            log.warning("VLM4D: %s not found, split %r skipped", path, split)
            continue
        found = True
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise VLM4DError(f"{path}: cannot read VLM4D questions: {exc}") from exc
        if not isinstance(entries, list):
            raise VLM4DError(f"{path}: expected a JSON list of questions")
        seen: set[str] = set()
        for entry in entries:
            item = parse_entry(entry, split, str(path))
            if item.id in seen:
                raise VLM4DError(f"{path}: question id {item.id!r} appears twice")
            seen.add(item.id)
            items.append(item)
    if not found:
        raise VLM4DError(f"{data_dir}: none of {sorted(SPLIT_FILES.values())} found")
    return items


@dataclass
class VLM4DRun:
    """Scored predictions (one dict per answered question) and the questions whose video was missing."""

    rows: list[dict[str, Any]]
    missing_videos: list[str]


def evaluate_vlm4d(items: list[VLM4DItem], predictor: Predictor, data_dir: str | Path, n_frames: int = 32,
                   prompt_style: str = "cot", batch_size: int = 4) -> VLM4DRun:
    """Run ``predictor`` on every item whose video exists; missing videos are listed, not scored."""
    data_dir = Path(data_dir)
    rows: list[dict[str, Any]] = []
    missing: list[str] = []
    pending: list[tuple[VLM4DItem, Sample]] = []
    frames_cache: dict[str, list[np.ndarray]] = {}

    def flush() -> None:
        responses = predictor.answer([s for _, s in pending])
        for (item, _), response in zip(pending, responses, strict=True):
            rows.append(score_item(item, response))
        pending.clear()

    for item in items:
        path = data_dir / item.video
        if not path.exists():
            missing.append(f"{item.split}/{item.id}: {path}")
            continue
        if item.video not in frames_cache:
            frames_cache.clear()  # questions of a video are consecutive in the files; keep one video decoded
            frames_cache[item.video] = read_video(path, n_frames)
        pending.append((item, Sample(frames_cache[item.video], item.prompt(prompt_style), item.record())))
        if len(pending) >= batch_size:
            flush()
    if pending:
        flush()
    if missing:
        log.warning("VLM4D: %d of %d questions skipped, video file missing (first: %s)",
                    len(missing), len(items), missing[0])
    return VLM4DRun(rows, missing)


def score_item(item: VLM4DItem, response: str) -> dict[str, Any]:
    """Processed-output row in the official field names (id, correct, ground_truth_answer, ...) plus the split."""
    extracted = extract_choice(response, [v for _, v in item.choices])
    return {"split": item.split, "id": item.id, "question": item.question, "choices": dict(item.choices),
            "response": response, "ground_truth_answer": item.answer, "ground_truth_letters": list(item.gt_letters),
            "extracted_answer": extracted, "correct": extracted in item.gt_letters}


def is_fp(answer: Any) -> bool:
    """Synthetic false-positive question: the right answer denies the premise ("no", "no <object> there")."""
    ans = str(answer).strip().lower()
    return ans == "no" or ans.startswith("no ")


STAT_COLUMNS = ["Real Ego-centric", "Real Exo-centric", "Real Overall", "Synthetic Directional", "Synthetic FP",
                "Synthetic Overall", "Overall"]


def statistics(rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, float | int]]:
    """``{column: {"n": count, "accuracy": percent rounded to 2}}`` as acc_final_statistics.py computes them
    (an empty subset scores 0, as there)."""
    groups: dict[str, list[bool]] = {c: [] for c in STAT_COLUMNS}
    for r in rows:
        ok = bool(r["correct"])
        if r["split"] == "real":
            exo = int(str(r["id"]).split("_")[-1]) <= EXO_MAX_ID
            groups["Real Exo-centric" if exo else "Real Ego-centric"].append(ok)
            groups["Real Overall"].append(ok)
        else:
            groups["Synthetic FP" if is_fp(r["ground_truth_answer"]) else "Synthetic Directional"].append(ok)
            groups["Synthetic Overall"].append(ok)
        groups["Overall"].append(ok)
    return {c: {"n": len(v), "accuracy": round(100 * sum(v) / len(v), 2) if v else 0} for c, v in groups.items()}


def statistics_markdown(stats_by_run: Mapping[str, Mapping[str, Mapping[str, float | int]]]) -> str:
    """Table like the paper's Table 3 (with the official sub-splits): one row per run, n in the last row."""
    rows = [[run] + [f"{stats[c]['accuracy']:.2f}" for c in STAT_COLUMNS] for run, stats in stats_by_run.items()]
    if stats_by_run:
        first = next(iter(stats_by_run.values()))
        rows.append(["n"] + [str(first[c]["n"]) for c in STAT_COLUMNS])
    return markdown.table(["Model", *STAT_COLUMNS], rows, ["left"] + ["right"] * len(STAT_COLUMNS)) + "\n"
