"""Training FLOPs per sample of a Qwen2.5-VL model with its vision tower frozen, and model FLOP utilisation (MFU).

Per sample, counting matrix-multiply FLOPs only (2 per multiply-add; norms, softmax, rotary embeddings and the loss
are left out), with T tokens in the LLM sequence of which V are visual, and P vision patches (V = P / merge^2)::

    6 * N_llm * T               trainable LLM: decoder layers and lm_head (the input embedding is a lookup, no FLOPs),
                                forward (2) + input gradients (2) + weight gradients (2)
  + 4 * N_merger * V            trainable merger: forward + weight gradients; no input gradient, the tower below it
                                is frozen
  + 2 * N_vision * P            frozen vision tower (patch embedding and blocks), forward only
  + 12 * L * d * T^2            LLM attention (scores and weighted values, 4 * d * T^2 forward per layer, twice that
                                backward; d = query heads x head dim; causal masking not subtracted, as kernels that
                                skip the masked half are not assumed)
  + 4 * d_v * sum_blocks sum_groups s^2
                                vision attention, forward only: each block attends within groups of s patches (one
                                group per temporal patch in the full-attention blocks, one per window in the others)

``tests/vlm/test_flops.py`` checks the total against ``torch.utils.flop_counter.FlopCounterMode`` on a tiny model.
MFU = FLOPs per sample x samples/s / peak FLOP/s of the device (dense bf16 datasheet figures for common GPUs; a
measured matmul rate on CPU or an unlisted GPU).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from fourdpqa.vlm.model import MERGER_PREFIX, VISION_PREFIX, arch_config, freeze_vision_tower
from fourdpqa.vlm.processor import VisionSpec

# Dense (no sparsity) bf16 tensor-core peaks from NVIDIA's datasheets, FLOP/s; matched against the device name in
# this order (more specific names first).
PEAK_BF16_DENSE = (
    ("H100 PCIe", 756e12),
    ("H100 NVL", 835e12),
    ("H100", 989e12),  # SXM
    ("H200", 989e12),
    ("GH200", 989e12),
    ("A100", 312e12),
    ("L40S", 362e12),
)
PAPER_SAMPLES_PER_S_PER_A100 = 0.39  # 4DP-QA paper, Qwen2.5-VL-7B fine-tuning, 32 frames x 448^2
PAPER_FRAMES, PAPER_IMAGE_SIZE = 32, 448
A100_PEAK = 312e12


@dataclass(frozen=True)
class ParamCounts:
    """Parameters by role in a Qwen2.5-VL model (tied weights counted once)."""

    llm: int  # LLM weights used in matmuls: decoder layers, final norm, lm_head (also when tied to the embedding)
    merger: int  # vision -> LLM merger
    vision: int  # vision tower below the merger: patch embedding and blocks
    embedding: int  # input token embedding (a lookup)
    trainable: int  # parameters with requires_grad
    frozen: int  # parameters without

    @classmethod
    def of(cls, model: torch.nn.Module) -> ParamCounts:
        named = dict(model.named_parameters())  # shared (tied) tensors appear once
        embed, head = model.get_input_embeddings().weight, model.get_output_embeddings().weight
        vision = sum(p.numel() for n, p in named.items() if n.startswith(VISION_PREFIX) and not n.startswith(MERGER_PREFIX))
        merger = sum(p.numel() for n, p in named.items() if n.startswith(MERGER_PREFIX))
        llm = sum(p.numel() for n, p in named.items() if not n.startswith(VISION_PREFIX) and p is not embed)
        trainable = sum(p.numel() for p in named.values() if p.requires_grad)
        return cls(llm=llm + (head.numel() if head is embed else 0), merger=merger, vision=vision,
                   embedding=embed.numel(), trainable=trainable, frozen=sum(p.numel() for p in named.values()) - trainable)


def train_flops_per_sample(counts: ParamCounts, config, seq_len: int, grid_thw: Sequence[Sequence[int]]) -> dict[str, float]:
    """The terms of the module formula for one sample: ``seq_len`` LLM tokens, videos/images of ``grid_thw`` patches
    (t, h, w) each; ``config`` is the model's Qwen2_5_VLConfig. The sum is under ``"total"``."""
    tc, vc = config.text_config, config.vision_config
    patches = sum(t * h * w for t, h, w in grid_thw)
    visual = patches // vc.spatial_merge_size**2
    head_dim = getattr(tc, "head_dim", None) or tc.hidden_size // tc.num_attention_heads
    terms = {
        "llm_dense": 6.0 * counts.llm * seq_len,
        "merger": 4.0 * counts.merger * visual,
        "vision_dense": 2.0 * counts.vision * patches,
        "llm_attention": 12.0 * tc.num_hidden_layers * tc.num_attention_heads * head_dim * seq_len**2,
        "vision_attention": 4.0 * vc.hidden_size * vision_attention_pairs(vc, grid_thw),
    }
    return terms | {"total": sum(terms.values())}


@functools.lru_cache(maxsize=4)
def paper_flops_per_sample(text_tokens: int = 72) -> dict[str, float]:
    """The formula for the paper's setting: Qwen2.5-VL-7B, ``PAPER_FRAMES`` frames x ``PAPER_IMAGE_SIZE``^2, vision
    tower frozen, ``text_tokens`` prompt + answer tokens around the video (parameters counted on a meta-device
    model: shapes only, no memory, no weights)."""
    from transformers import Qwen2_5_VLForConditionalGeneration

    cfg, spec = arch_config("7b"), VisionSpec()
    with torch.device("meta"):
        model = Qwen2_5_VLForConditionalGeneration._from_config(cfg)
    freeze_vision_tower(model)
    side = spec.side(PAPER_IMAGE_SIZE) // spec.patch_size
    grid = (PAPER_FRAMES // spec.temporal_patch_size, side, side)
    visual = grid[0] * grid[1] * grid[2] // spec.merge_size**2
    return train_flops_per_sample(ParamCounts.of(model), cfg, visual + 2 + text_tokens, [grid])


def vision_attention_pairs(vision_config, grid_thw: Sequence[Sequence[int]]) -> int:
    """Query-key pairs summed over the vision blocks: sum of s^2 over the groups each block attends within.

    Full-attention blocks (``fullatt_block_indexes``) attend within each temporal patch (s = h * w); the others
    within windows of ``window_size // spatial_merge_size // patch_size`` merged tokens per side (smaller at the
    right and bottom edges), as transformers' Qwen2.5-VL vision tower does.
    """
    m = vision_config.spatial_merge_size
    side = max(1, vision_config.window_size // m // vision_config.patch_size)
    full = windowed = 0
    for t, h, w in grid_thw:
        full += t * (h * w) ** 2
        rows = [min(side, h // m - i) for i in range(0, h // m, side)]
        cols = [min(side, w // m - j) for j in range(0, w // m, side)]
        windowed += t * sum((r * c * m * m) ** 2 for r in rows for c in cols)
    n_full = sum(1 for i in set(vision_config.fullatt_block_indexes) if 0 <= i < vision_config.depth)
    return n_full * full + (vision_config.depth - n_full) * windowed


def peak_flops(device: torch.device) -> tuple[float, str]:
    """(peak FLOP/s, where the figure comes from) for MFU: the bf16 dense datasheet peak of a listed GPU, else the
    rate of a large matmul measured here (fp32 on CPU, bf16 on an unlisted GPU)."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        for key, flops in PEAK_BF16_DENSE:
            if key in name:
                return flops, f"{name}: bf16 dense datasheet peak"
        return measured_matmul_flops(device, torch.bfloat16), f"{name}: measured bf16 matmul rate"
    return measured_matmul_flops(device, torch.float32), f"CPU, {torch.get_num_threads()} thread(s): measured fp32 matmul rate"


def measured_matmul_flops(device: torch.device, dtype: torch.dtype, n: int = 2048, repeats: int = 5) -> float:
    """Best FLOP/s of an n x n x n matmul on ``device`` (a practical peak: what a dense GEMM reaches there)."""
    a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
    best = float("inf")
    for _ in range(repeats + 1):  # the first run warms up kernels and caches
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        a @ b
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        best = min(best, time.perf_counter() - start)
    return 2.0 * n**3 / best


def mfu(flops_per_sample: float, samples_per_s: float, peak: float) -> float:
    """Model FLOP utilisation: the share of the device's peak the training step turns into model FLOPs."""
    return flops_per_sample * samples_per_s / peak
