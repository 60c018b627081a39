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


PRIOR_KEY = "answer_prior"  # run-config entry: candidates "A|B|C|D" / "yes|no" -> mean log-likelihood of each


def prior_key(candidates: Sequence[str]) -> str:
    return "|".join(candidates)


@torch.inference_mode()
def candidate_logprobs(model: torch.nn.Module, tokenizer, spec, frames: Clip, prompt: str, candidates: Sequence[str],
                       n_frames: int, image_size: int, device: torch.device) -> torch.Tensor:
    """(len(candidates),) log-likelihood of each candidate answer (its tokens and the closing ``<|im_end|>``) after
    ``prompt`` on ``frames``; the clip is encoded once and each candidate appends its answer tokens."""
    pad = tokenizer.pad_token_id
    base = encode(tokenizer, spec, list(frames), prompt, None, n_frames, image_size)
    encoded = []
    for c in candidates:
        ans = torch.tensor(tokenizer(c + IM_END, add_special_tokens=False)["input_ids"], dtype=torch.long)
        encoded.append(dataclasses.replace(base, input_ids=torch.cat([base.input_ids, ans]),
                                           labels=torch.cat([torch.full_like(base.input_ids, IGNORE_INDEX), ans])))
    batch = {k: v.to(device) for k, v in collate(encoded, pad if pad is not None else tokenizer.eos_token_id,
                                                 model.config.video_token_id).items()}
    batch["pixel_values_videos"] = batch["pixel_values_videos"].to(model.dtype)
    labels = batch.pop("labels")[:, 1:]
    logp = model(**batch).logits[:, :-1].float().log_softmax(-1)
    picked = logp.gather(-1, labels.clamp(min=0)[..., None])[..., 0]
    return picked.masked_fill(labels == IGNORE_INDEX, 0.0).sum(1).cpu()


class VLMRunner:
    """``VLMRunner(path_or_id).generate([(frames, prompt), ...], max_new_tokens) -> [answer, ...]``.

    Frames are sampled uniformly to ``frames`` and resized to ``image_size`` squares; both default to what the
    checkpoint was trained with (``fourdpqa_vlm.json``), else the paper's 32 frames x 448 px. A run config that
    holds an ``answer_prior`` (written by our training, :func:`fourdpqa.train.loop.answer_prior`) makes
    :meth:`choose` calibrated.
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
        self.prior: dict[str, list[float]] = loaded.run_config.get(PRIOR_KEY, {})

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

    def choose(self, items: Sequence[tuple[Clip, str, Sequence[str]]]) -> list[str]:
        """For each (frames, prompt, candidates): the candidate answer with the highest log-likelihood under the
        model (summed over its tokens and the closing ``<|im_end|>``): constrained decoding over the allowed
        answers, so a weak model still gives a format-valid answer. With an answer prior for these candidates,
        the highest log-likelihood *above the model's average for that answer* (contextual calibration: a bias
        shared by every question, e.g. towards "no", does not decide the answer; what the clip and question
        change does)."""
        chosen = []
        for frames, prompt, candidates in items:
            total = candidate_logprobs(self.model, self.tokenizer, self.spec, frames, prompt, candidates, self.frames,
                                       self.image_size, self.device)
            prior = self.prior.get(prior_key(candidates))
            if prior is not None:
                total = total - torch.tensor(prior)
            chosen.append(candidates[int(total.argmax())])
        return chosen
