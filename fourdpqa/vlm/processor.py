"""Clip frames + prompt (+ answer) -> Qwen2.5-VL model inputs, with the loss mask on the answer tokens only.

Frames go in as one *video* (the Qwen2.5-VL format the paper fine-tunes on: frames paired by the temporal patch,
3D RoPE over time). transformers' video processor needs torchvision, which must stay out of the CPU install
(docs/DESIGN.md "CPU install and torchvision"), so the video is patchified here; ``tests/vlm/test_processor.py``
checks the layout against ``Qwen2VLImageProcessorPil`` (a still image is a 2-frame video of identical frames).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from fourdpqa.frames import load_frame, uniform_indices
from fourdpqa.vlm.tokenizer import IM_END, IM_START, SYSTEM_PROMPT, VIDEO_PAD, VISION_END, VISION_START

IGNORE_INDEX = -100  # label value the causal-LM loss skips
VIDEO_TOKEN_TYPE = 2  # mm_token_type_ids value of video placeholders (0 text, 1 image, 2 video)


@dataclass(frozen=True)
class VisionSpec:
    """How frames become patches; read from the model's image processor so real checkpoints keep their values."""

    patch_size: int = 14
    temporal_patch_size: int = 2
    merge_size: int = 2
    image_mean: tuple[float, float, float] = (0.48145466, 0.4578275, 0.40821073)
    image_std: tuple[float, float, float] = (0.26862954, 0.26130258, 0.27577711)

    @classmethod
    def from_image_processor(cls, proc: object) -> "VisionSpec":
        return cls(
            patch_size=int(proc.patch_size), temporal_patch_size=int(proc.temporal_patch_size),
            merge_size=int(proc.merge_size), image_mean=tuple(float(v) for v in proc.image_mean),
            image_std=tuple(float(v) for v in proc.image_std),
        )

    @property
    def factor(self) -> int:
        """Frame sides must be multiples of this (one merged token covers factor x factor pixels)."""
        return self.patch_size * self.merge_size

    def side(self, image_size: int) -> int:
        """``image_size`` rounded to the nearest usable square side."""
        return max(self.factor, round(image_size / self.factor) * self.factor)


@dataclass
class Encoded:
    """One example. input_ids/labels: (L,) int64; pixel_values_videos: (N, C*tp*p*p) float32;
    video_grid_thw: (1, 3) int64 patch grid (t, h, w); second_per_grid_ts: (1,) float32."""

    input_ids: torch.Tensor
    labels: torch.Tensor | None
    pixel_values_videos: torch.Tensor
    video_grid_thw: torch.Tensor
    second_per_grid_ts: torch.Tensor


def prepare_frames(frames: Sequence[np.ndarray | str | Path], n_frames: int, side: int) -> np.ndarray:
    """Sample ``n_frames`` uniformly, read and resize each to side x side (bicubic) -> (T, side, side, 3) uint8."""
    picked = [frames[i] for i in uniform_indices(len(frames), n_frames)]
    out = []
    for f in picked:
        rgb = load_frame(f)
        if rgb.shape[:2] != (side, side):
            rgb = np.asarray(Image.fromarray(rgb).resize((side, side), Image.Resampling.BICUBIC))
        out.append(rgb)
    return np.stack(out)


def patchify_video(frames: np.ndarray, spec: VisionSpec) -> tuple[np.ndarray, tuple[int, int, int]]:
    """(T, H, W, 3) uint8 with H, W multiples of ``spec.factor`` -> flat patches (t*h*w, 3*tp*p*p) float32 and the
    grid (t, h, w) in patches, in the Qwen2-VL order (merge windows contiguous, temporal pairs inside a patch).
    An odd frame count repeats the last frame, as the Qwen video processor does."""
    n, height, width, _ = frames.shape
    p, tp, m = spec.patch_size, spec.temporal_patch_size, spec.merge_size
    if height % spec.factor or width % spec.factor:
        raise ValueError(f"frame size {height}x{width} is not a multiple of {spec.factor}")
    x = frames.astype(np.float32) / 255.0
    x = (x - np.asarray(spec.image_mean, np.float32)) / np.asarray(spec.image_std, np.float32)
    x = x.transpose(0, 3, 1, 2)  # (T, C, H, W)
    if n % tp:
        x = np.concatenate([x, np.repeat(x[-1:], tp - n % tp, axis=0)])
    gt, gh, gw = x.shape[0] // tp, height // p, width // p
    c = x.shape[1]
    x = x.reshape(gt, tp, c, gh // m, m, p, gw // m, m, p)
    x = x.transpose(0, 3, 6, 4, 7, 2, 1, 5, 8)
    return np.ascontiguousarray(x.reshape(gt * gh * gw, c * tp * p * p)), (gt, gh, gw)


def prompt_text(prompt: str, n_video_tokens: int) -> str:
    """The chat text up to the assistant's answer (Qwen2.5-VL template, video placeholders expanded)."""
    return (
        f"{IM_START}system\n{SYSTEM_PROMPT}{IM_END}\n{IM_START}user\n"
        f"{VISION_START}{VIDEO_PAD * n_video_tokens}{VISION_END}{prompt}{IM_END}\n{IM_START}assistant\n"
    )


def encode(
    tokenizer: object,
    spec: VisionSpec,
    frames: Sequence[np.ndarray | str | Path],
    prompt: str,
    answer: str | None = None,
    n_frames: int = 32,
    image_size: int = 448,
    sample_fps: float = 2.0,
) -> Encoded:
    """One example. With ``answer``, labels are IGNORE_INDEX everywhere except the answer tokens and the closing
    ``<|im_end|>`` (so the model learns to stop); ``sample_fps`` is the rate of the sampled frames (time RoPE)."""
    clip = prepare_frames(frames, n_frames, spec.side(image_size))
    patches, grid = patchify_video(clip, spec)
    n_tokens = grid[0] * grid[1] * grid[2] // spec.merge_size**2
    ids = tokenizer(prompt_text(prompt, n_tokens), add_special_tokens=False)["input_ids"]
    labels = None
    if answer is not None:
        answer_ids = tokenizer(answer + IM_END, add_special_tokens=False)["input_ids"]
        labels = torch.tensor([IGNORE_INDEX] * len(ids) + answer_ids, dtype=torch.long)
        ids = ids + answer_ids
    return Encoded(
        input_ids=torch.tensor(ids, dtype=torch.long),
        labels=labels,
        pixel_values_videos=torch.from_numpy(patches),
        video_grid_thw=torch.tensor([grid], dtype=torch.long),
        second_per_grid_ts=torch.tensor([spec.temporal_patch_size / sample_fps], dtype=torch.float32),
    )


def collate(batch: Sequence[Encoded], pad_id: int, video_token_id: int, padding_side: str = "right") -> dict:
    """Pad to one length (right for training, left for generation) and stack the model's keyword arguments."""
    length = max(len(e.input_ids) for e in batch)
    ids = torch.full((len(batch), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), length), dtype=torch.long)
    labels = torch.full((len(batch), length), IGNORE_INDEX, dtype=torch.long)
    for row, e in enumerate(batch):
        n = len(e.input_ids)
        sl = slice(0, n) if padding_side == "right" else slice(length - n, length)
        ids[row, sl] = e.input_ids
        mask[row, sl] = 1
        if e.labels is not None:
            labels[row, sl] = e.labels
    out = {
        "input_ids": ids,
        "attention_mask": mask,
        "mm_token_type_ids": (ids == video_token_id).long() * VIDEO_TOKEN_TYPE,
        "pixel_values_videos": torch.cat([e.pixel_values_videos for e in batch]),
        "video_grid_thw": torch.cat([e.video_grid_thw for e in batch]),
        "second_per_grid_ts": torch.cat([e.second_per_grid_ts for e in batch]),
    }
    if any(e.labels is not None for e in batch):
        out["labels"] = labels
    return out
