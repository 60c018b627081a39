"""The fine-tuning loop (paper §4.2): loss on answer tokens only, vision tower frozen (merger/projector + LLM
trained, or LoRA on the LLM), AdamW with warm-up + cosine schedule, gradient accumulation, bf16 autocast on CUDA,
DDP across processes, checkpoints that resume the same loss curve. Drivers observe it through a
:class:`TrainCallback`; the loop itself logs nowhere but the progress bar.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm
from transformers import AutoTokenizer, get_cosine_schedule_with_warmup

from fourdpqa.params import TrainParams
from fourdpqa.seeding import numbered_rng
from fourdpqa.train.checkpoint import (
    TOKENIZER_DIR, Resumed, fingerprint, latest_checkpoint, restore_checkpoint, save_checkpoint,
)
from fourdpqa.train.data import BalancedOrder, Conversation, balanced_batch_indices, micro_batch_indices
from fourdpqa.train.distributed import DistInfo
from fourdpqa.vlm.model import add_lora, build_tiny_model, freeze_vision_tower, load_vlm, save_vlm
from fourdpqa.vlm.processor import Encoded, VisionSpec, collate, encode
from fourdpqa.vlm.runner import PRIOR_KEY, candidate_logprobs, prior_key
from fourdpqa.vlm.tokenizer import train_tokenizer

log = logging.getLogger("fourdpqa.train")
# Answers of the constrained formats, and how many training questions of each estimate the model's answer prior.
CHOICES = {"yn": ("yes", "no"), "mc": ("A", "B", "C", "D")}
PRIOR_SAMPLES = 32


class TrainCallback:
    """Hooks a driver attaches to the loop; called on rank 0 only. Defaults do nothing."""

    def on_step(self, step: int, loss: float, lr: float) -> None:
        """After optimizer step ``step`` (1-based): its mean answer-token loss and the learning rate it used."""

    def checkpoint_state(self) -> dict:
        """Small JSON-able state saved with every checkpoint and found again on resume (``checkpoint_extra``)."""
        return {}


@dataclass
class TrainResult:
    losses: list[float]  # mean answer-token loss of each optimizer step 1..steps
    lrs: list[float]
    steps: int
    resumed_from: int
    seconds: float
    samples_per_s: float
    model_dir: Path | None
    fingerprint: str


def answer_loss(forward: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Cross-entropy over each sample's answer tokens, averaged per sample, then over the batch.

    A token-level mean lets the long trajectory answers (tracking is ~20% of samples but most answer tokens)
    drown the one-token MC / yes-no answers; weighting samples equally keeps every question type's signal.
    """
    labels = batch["labels"]
    logits = forward(**{k: v for k, v in batch.items() if k != "labels"}).logits[:, :-1].float()
    target = labels[:, 1:]
    tok = torch.nn.functional.cross_entropy(logits.transpose(1, 2), target, ignore_index=-100, reduction="none")
    mask = (target != -100).to(tok.dtype)
    return ((tok * mask).sum(1) / mask.sum(1).clamp(min=1)).mean()


def build_model(tp: TrainParams, seed: int, conversations: Sequence[Conversation], device: torch.device,
                resume_dir: Path | None) -> tuple[torch.nn.Module, Any, VisionSpec]:
    """Model (vision tower frozen, LoRA if asked) + tokenizer + vision spec, rebuilt identically on resume."""
    if tp.model:
        # LoRA on a GPU keeps the frozen base in bf16 (peft keeps adapters fp32); full fine-tuning keeps fp32
        # master weights under bf16 autocast. A 7B model in full fine-tuning needs sharding (FSDP/DeepSpeed),
        # which this loop does not do: use LoRA for 7B on one 80 GB GPU.
        dtype = torch.bfloat16 if device.type == "cuda" and tp.lora else torch.float32
        loaded = load_vlm(tp.model, "cpu", dtype)
        model, tokenizer, spec = loaded.model, loaded.tokenizer, loaded.spec
    else:
        if resume_dir is not None:
            tokenizer = AutoTokenizer.from_pretrained(resume_dir / TOKENIZER_DIR)
        else:
            tokenizer = train_tokenizer(t for c in conversations for t in (c.prompt, c.answer))
        model = build_tiny_model(tokenizer, tp.tiny_hidden_size, tp.tiny_layers, tp.tiny_vision_depth, seed)
        spec = VisionSpec()
    freeze_vision_tower(model)
    if tp.lora:
        model = add_lora(model, tp.lora_r)
    return model.to(device), tokenizer, spec


@dataclass
class _Trainer:
    """One optimizer step at a time over the seeded data order; ``forward`` is the DDP wrapper when world > 1."""

    model: torch.nn.Module
    forward: torch.nn.Module
    opt: torch.optim.Optimizer
    sched: Any
    tokenizer: Any
    spec: VisionSpec
    conversations: Sequence[Conversation]
    tp: TrainParams
    seed: int
    device: torch.device
    dist: DistInfo
    order: BalancedOrder | None = None  # the balanced data order (train.balanced), else a plain shuffle per epoch

    def micro_batch(self, micro_step: int) -> dict[str, torch.Tensor]:
        pad_id = self.tokenizer.pad_token_id
        pad_id = pad_id if pad_id is not None else self.tokenizer.eos_token_id
        global_micro = micro_step * self.dist.world + self.dist.rank
        if self.order is not None:
            idx = balanced_batch_indices(self.order, self.tp.batch_size, global_micro)
        else:
            idx = micro_batch_indices(len(self.conversations), self.tp.batch_size, global_micro, self.seed)
        enc: list[Encoded] = [encode(self.tokenizer, self.spec, self.conversations[i].load_frames(),
                                     self.conversations[i].prompt, self.conversations[i].answer, self.tp.frames,
                                     self.tp.image_size) for i in idx]
        batch = collate(enc, pad_id, self.model.config.video_token_id)
        return {k: v.to(self.device) for k, v in batch.items()}

    def step(self, step: int) -> tuple[float, float]:
        """Optimizer step ``step`` (0-based) over ``grad_accum`` micro-batches -> (mean loss, learning rate)."""
        self.opt.zero_grad(set_to_none=True)
        total = torch.zeros((), device=self.device)
        accum = self.tp.grad_accum
        for j in range(accum):
            batch = self.micro_batch(step * accum + j)
            ddp_quiet = self.dist.world > 1 and j < accum - 1
            with self.forward.no_sync() if ddp_quiet else contextlib.nullcontext():
                with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.device.type == "cuda"):
                    loss = answer_loss(self.forward, batch) / accum
                loss.backward()
            total += loss.detach()
        if self.dist.world > 1:
            torch.distributed.all_reduce(total)
            total /= self.dist.world
        torch.nn.utils.clip_grad_norm_([p for p in self.model.parameters() if p.requires_grad], 1.0)
        lr = self.sched.get_last_lr()[0]
        self.opt.step()
        self.sched.step()
        return float(total), lr


def _make_trainer(tp: TrainParams, seed: int, conversations: Sequence[Conversation], device: torch.device,
                  resume: Path | None, dist_info: DistInfo) -> tuple[_Trainer, Resumed]:
    model, tokenizer, spec = build_model(tp, seed, conversations, device, resume)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=tp.lr,
                            weight_decay=tp.weight_decay)
    sched = get_cosine_schedule_with_warmup(opt, round(tp.warmup_ratio * tp.max_steps), tp.max_steps)
    if resume is not None:
        curve = restore_checkpoint(resume, model, opt, sched)
        log.info("resumed from %s (step %d)", resume, curve.step)
    else:
        torch.manual_seed(seed)
        curve = Resumed(0, [], [])
    model.train()
    forward = model
    if dist_info.world > 1:
        from torch.nn.parallel import DistributedDataParallel

        forward = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    order = BalancedOrder(list(conversations), seed) if tp.balanced else None
    return _Trainer(model, forward, opt, sched, tokenizer, spec, conversations, tp, seed, device, dist_info, order), curve


def train_model(
    conversations: Sequence[Conversation],
    tp: TrainParams,
    seed: int,
    device: torch.device,
    out_dir: str | Path | None,
    checkpoint_dir: str | Path | None = None,
    stop_after: int | None = None,
    callback: TrainCallback | None = None,
    dist_info: DistInfo = DistInfo(),
) -> TrainResult:
    """Train for ``tp.max_steps`` optimizer steps (resuming from the newest matching checkpoint) and save the model
    to ``out_dir``. ``stop_after`` ends the run early without a final save (used to simulate an interruption).
    With ``dist_info.world > 1`` (an initialised process group) every rank takes its own micro-batches, DDP averages
    the gradients (effective batch = batch_size x grad_accum x world) and rank 0 alone checkpoints and saves."""
    t0 = time.perf_counter()
    callback = callback if callback is not None and dist_info.main else TrainCallback()
    fp = fingerprint(tp, seed, conversations)
    trainer, curve = _make_trainer(tp, seed, conversations, device, latest_checkpoint(checkpoint_dir, fp), dist_info)
    start = curve.step
    end = tp.max_steps if stop_after is None else min(tp.max_steps, stop_after)
    bar = tqdm(range(start, end), desc="train", unit="step", disable=None if dist_info.main else True,
               initial=start, total=tp.max_steps)
    for step in bar:
        loss, lr = trainer.step(step)
        curve.losses.append(loss)
        curve.lrs.append(lr)
        bar.set_postfix(loss=f"{loss:.4f}")
        callback.on_step(step + 1, loss, lr)
        if checkpoint_dir is not None and ((step + 1) % tp.checkpoint_every == 0 or step + 1 == tp.max_steps):
            if dist_info.main:
                save_checkpoint(Path(checkpoint_dir), step + 1, trainer.model, trainer.opt, trainer.sched,
                                trainer.tokenizer, curve, fp, callback.checkpoint_state())
            if dist_info.world > 1:
                torch.distributed.barrier()
    trainer.model.eval()
    seconds = time.perf_counter() - t0
    saved = None
    if out_dir is not None and end == tp.max_steps and dist_info.main:
        final = trainer.model.merge_and_unload() if tp.lora else trainer.model
        prior = answer_prior(final, trainer.tokenizer, trainer.spec, conversations, tp, seed, device)
        saved = save_vlm(final, trainer.tokenizer, trainer.spec, out_dir,
                         {"frames": tp.frames, "image_size": tp.image_size, "steps": end, "fingerprint": fp,
                          PRIOR_KEY: prior})
    samples = (end - start) * tp.batch_size * tp.grad_accum * dist_info.world
    return TrainResult(curve.losses, curve.lrs, end, start, seconds, samples / max(seconds, 1e-9), saved, fp)


def answer_prior(model: torch.nn.Module, tokenizer: Any, spec: VisionSpec, conversations: Sequence[Conversation],
                 tp: TrainParams, seed: int, device: torch.device) -> dict[str, list[float]]:
    """The trained model's mean log-likelihood of each yes / no and MC-letter answer over up to
    :data:`PRIOR_SAMPLES` training questions of that format (a seeded sample), saved with the model so that
    constrained answers are calibrated (:meth:`fourdpqa.vlm.runner.VLMRunner.choose`): a small model's
    question-independent lean towards one answer would otherwise answer every question the same way."""
    prior = {}
    for fmt, candidates in CHOICES.items():
        pool = [c for c in conversations if c.answer_format == fmt]
        if not pool:
            continue
        pick = numbered_rng(seed, 2).permutation(len(pool))[:PRIOR_SAMPLES]
        scores = torch.stack([candidate_logprobs(model, tokenizer, spec, pool[i].load_frames(), pool[i].prompt,
                                                 candidates, tp.frames, tp.image_size, device) for i in pick])
        prior[prior_key(candidates)] = [round(float(v), 6) for v in scores.mean(0)]
    return prior
