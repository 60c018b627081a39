"""A tiny conversation export (JSONL + jpg frames / an mp4) in a temp folder, shaped like assemble's export."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

# the smallest Qwen2.5-VL the training tests build (TrainParams fields)
TINY_TRAIN = dict(tiny_hidden_size=32, tiny_layers=1, tiny_vision_depth=1, frames=4, image_size=28,
                  max_train_samples=None)

QA = [
    ("Is the camera moving to the left? Answer yes or no.", "yes", "yn"),
    ("Is the red cube getting closer to the camera? Answer yes or no.", "no", "yn"),
    ("Which way does the sphere move?\nA. left\nB. right\nC. up\nD. down\nAnswer with the letter.", "B", "mc"),
    ("How far did the cylinder move, in metres?", "1.5", "numeric"),
]


def write_export(root: Path, n_frames: int = 4, size: int = 32, video_for_last: bool = True) -> Path:
    """One record per QA: jpg frames with relative paths (the last record: only an mp4) -> the JSONL path."""
    rng = np.random.default_rng(0)
    rows = []
    for k, (prompt, answer, fmt) in enumerate(QA):
        clip = rng.integers(0, 256, (n_frames, size, size, 3), dtype=np.uint8)
        rec = {"id": f"proc_{k:05d}-c0-q00-000", "answer_format": fmt, "messages": [
            {"role": "user", "content": [{"type": "video"}, {"type": "text", "text": prompt}]},
            {"role": "assistant", "content": [{"type": "text", "text": answer}]},
        ]}
        if video_for_last and k == len(QA) - 1:
            path = root / "clips" / f"{k}.mp4"
            path.parent.mkdir(parents=True, exist_ok=True)
            vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 4.0, (size, size))
            for f in clip:
                vw.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
            vw.release()
            rec["video"] = f"clips/{k}.mp4"
        else:
            names = []
            for t, f in enumerate(clip):
                name = f"frames/{k}/{t:03d}.jpg"
                (root / name).parent.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(root / name), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
                names.append(name)
            rec["frames"] = names
        rows.append(rec)
    out = root / "train_conversations.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return out
