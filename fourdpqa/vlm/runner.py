"""Batched greedy generation with a Qwen2.5-VL checkpoint (ours or any HF id / local path)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from fourdpqa.device import resolve_device
from fourdpqa.vlm.model import load_vlm
from fourdpqa.vlm.processor import IGNORE_INDEX, IM_END, collate, encode

Clip = Sequence[np.ndarray | str | Path] | np.ndarray  # frames in order: RGB uint8 (H, W, 3) arrays or image paths


class VLMRunner:
    """``VLMRunner(path_or_id).generate([(frames, prompt), ...], max_new_tokens) -> [answer, ...]``.

    Frames are sampled uniformly to ``frames`` and resized to ``image_size`` squares; both default to what the
    checkpoint was trained with (``fourdpqa_vlm.json``), else the paper's 32 frames x 448 px.
    """

    def __init__(self, model_path_or_id: str | Path, device: str = "auto", frames: int | None = None,
                 image_size: int | None = None, batch_size: int = 4, dtype: torch.dtype | None = None) -> None:
        self.device = resolve_device(device)
        if dtype is None and self.device.type == "cuda":
            dtype = torch.bfloat16
        loaded = load_vlm(str(model_path_or_id), self.device, dtype)
        self.model, self.tokenizer, self.spec = loaded.model, loaded.tokenizer, loaded.spec
        self.frames = frames or int(loaded.run_config.get("frames", 32))
        self.image_size = image_size or int(loaded.run_config.get("image_size", 448))
        self.batch_size = batch_size
        self.video_token_id = self.model.config.video_token_id
        pad = self.tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else self.tokenizer.eos_token_id

    @torch.inference_mode()
    def generate(self, items: Sequence[tuple[Clip, str]], max_new_tokens: int = 16) -> list[str]:
        """One decoded answer per (frames, prompt), greedy, special tokens stripped."""
        answers: list[str] = []
        for start in range(0, len(items), self.batch_size):
            chunk = items[start:start + self.batch_size]
            encoded = [encode(self.tokenizer, self.spec, list(frames), prompt, None, self.frames, self.image_size)
                       for frames, prompt in chunk]
            batch = collate(encoded, self.pad_id, self.video_token_id, padding_side="left")
            batch = {k: v.to(self.device) for k, v in batch.items()}
            batch["pixel_values_videos"] = batch["pixel_values_videos"].to(self.model.dtype)
            out = self.model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False,
                                      pad_token_id=self.pad_id, eos_token_id=self.tokenizer.eos_token_id)
            new = out[:, batch["input_ids"].shape[1]:]
            answers.extend(t.strip() for t in self.tokenizer.batch_decode(new, skip_special_tokens=True))
        return answers

    @torch.inference_mode()
    def choose(self, items: Sequence[tuple[Clip, str, Sequence[str]]]) -> list[str]:
        """For each (frames, prompt, candidates): the candidate answer with the highest log-likelihood under the
        model (summed over its tokens and the closing ``<|im_end|>``): constrained decoding over the allowed
        answers, so a weak model still gives a format-valid answer."""
        chosen = []
        for frames, prompt, candidates in items:
            base = encode(self.tokenizer, self.spec, list(frames), prompt, None, self.frames, self.image_size)
            encoded = []
            for c in candidates:  # the clip is encoded once; each candidate appends its answer tokens
                ans = torch.tensor(self.tokenizer(c + IM_END, add_special_tokens=False)["input_ids"], dtype=torch.long)
                encoded.append(dataclasses.replace(base, input_ids=torch.cat([base.input_ids, ans]),
                                                   labels=torch.cat([torch.full_like(base.input_ids, IGNORE_INDEX), ans])))
            batch = {k: v.to(self.device) for k, v in collate(encoded, self.pad_id, self.video_token_id).items()}
            batch["pixel_values_videos"] = batch["pixel_values_videos"].to(self.model.dtype)
            labels = batch.pop("labels")[:, 1:]
            logp = self.model(**batch).logits[:, :-1].float().log_softmax(-1)
            picked = logp.gather(-1, labels.clamp(min=0)[..., None])[..., 0]
            total = picked.masked_fill(labels == IGNORE_INDEX, 0.0).sum(1)
            chosen.append(candidates[int(total.argmax())])
        return chosen
