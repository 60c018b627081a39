"""Training conversations (JSONL, one QA per line) in the two layouts fine-tuning code expects:
Qwen2.5-VL ``messages`` (typed content with the clip video) and LLaVA ``conversations`` (``<video>`` token).
Media paths are relative to the dataset directory; the prompt/target text comes from :mod:`fourdpqa.qa_format`,
the same functions training and evaluation use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from fourdpqa.atomic import write_jsonl
from fourdpqa.qa_format import format_prompt, format_target


def visual_item(record: dict) -> dict[str, Any]:
    """The clip as a Qwen2.5-VL content item: the mp4 when exported, else the list of frame images."""
    return {"type": "video", "video": record["video"] or list(record["frames"])}


def conversation(record: dict) -> dict[str, Any]:
    prompt, target = format_prompt(record), format_target(record)
    return {
        "id": record["id"],
        "video": record["video"],
        "frames": list(record["frames"]),
        "question_type": record["question_type"],
        "answer_format": record["answer_format"],
        "messages": [
            {"role": "user", "content": [visual_item(record), {"type": "text", "text": prompt}]},
            {"role": "assistant", "content": [{"type": "text", "text": target}]},
        ],
        "conversations": [{"from": "human", "value": "<video>\n" + prompt}, {"from": "gpt", "value": target}],
    }


def write_conversations(train: pl.DataFrame, path: str | Path) -> Path:
    write_jsonl(path, [conversation(r) for r in train.sort("id").iter_rows(named=True)])
    return Path(path)
