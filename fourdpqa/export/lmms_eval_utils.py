"""lmms-eval hooks for the 4DP-QA benchmark task; the exported task's ``utils.py``
(:mod:`fourdpqa.export.lmms_eval_task_utils`) re-exports them, binding the clip root to the export's folder.

Answers are extracted with :mod:`fourdpqa.answers` (install this project in the lmms-eval environment:
``pip install -e .[lmms]``), the same extractor every other predictor in the project is scored with.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from fourdpqa.answers import extract_choice, extract_yes_no
from fourdpqa.clips import mux_frames

QUESTION_NAMES = (
    "camera_movement", "camera_object_distance", "object_rotation", "object_direction", "agent_motion",
    "moved_distance", "object_object_distance_change", "depth", "object_object_distance", "multiview_depth",
    "multiview_object_distance",
)
CATEGORIES = ("camera_motion", "object_motion", "spatial")
METRICS = ("fourdpqa_acc", *(f"fourdpqa_{c}" for c in CATEGORIES), *(f"fourdpqa_{q}" for q in QUESTION_NAMES))


def visual_hook(default_root: str | Path) -> Callable[[dict], list]:
    """``doc_to_visual`` reading clips below ``$FOURDPQA_MEDIA_ROOT`` if set, else below ``default_root``."""

    def doc_to_visual(doc: dict) -> list:
        """The clip as lmms-eval video input, [mp4 path]: the exported mp4, or (``assemble.export_mp4: false``) one
        muxed from the clip's JPEG files on first use, bytes unchanged, into ``$FOURDPQA_VIDEO_CACHE`` (default: a
        folder in the system temp dir), named by the content key ``clip_key``."""
        root = os.environ.get("FOURDPQA_MEDIA_ROOT") or str(default_root)
        if doc["video"]:
            return [os.path.join(root, doc["video"])]
        cache = Path(os.environ.get("FOURDPQA_VIDEO_CACHE") or Path(tempfile.gettempdir()) / "fourdpqa-videos")
        frames = [Path(root, f) for f in doc["frames"]]
        return [str(mux_frames(frames, cache / f"{doc['clip_key']}.mp4", float(doc["fps"])))]

    return doc_to_visual


def doc_to_text(doc: dict, lmms_eval_specific_kwargs: dict | None = None) -> str:
    """The exported prompt (question, lettered options, answer instruction) with optional pre/post prompts."""
    kwargs = lmms_eval_specific_kwargs or {}
    return f"{kwargs.get('pre_prompt', '')}{doc['prompt']}{kwargs.get('post_prompt', '')}"


def extract_answer(doc: dict, response: str) -> str | None:
    if doc["answer_format"] == "mc":
        return extract_choice(response, doc["options"])
    return extract_yes_no(response)


def process_results(doc: dict, results: list) -> dict:
    """Exact match of the extracted letter / yes-no against the key; the same record feeds every metric."""
    pred = extract_answer(doc, results[0] if results else "")
    record = {"id": doc["id"], "question_name": doc["question_name"], "category": doc["category"],
              "pred": pred, "answer": doc["answer"], "correct": float(pred == doc["answer"])}
    return {metric: record for metric in METRICS}


def _accuracy(results: list[dict], keep: Callable[[dict], bool]) -> float:
    """Accuracy in percent over the kept records; NaN when the benchmark has none of them."""
    kept = [r["correct"] for r in results if keep(r)]
    return 100.0 * sum(kept) / len(kept) if kept else math.nan


def aggregate_overall(results: list[dict]) -> float:
    return _accuracy(results, lambda r: True)


def _make_aggregator(field: str, value: str) -> Callable[[list[dict]], float]:
    def aggregate(results: list[dict]) -> float:
        return _accuracy(results, lambda r: r[field] == value)

    aggregate.__name__ = f"aggregate_{value}"
    return aggregate


for _category in CATEGORIES:
    globals()[f"aggregate_{_category}"] = _make_aggregator("category", _category)
for _name in QUESTION_NAMES:
    globals()[f"aggregate_{_name}"] = _make_aggregator("question_name", _name)
