"""Fine-tuning throughput (samples/s) of a Qwen2.5-VL-architecture model at 32 frames x 448^2, random init.

    python benchmarks/train_throughput.py --size tiny            # CPU-sized smoke figure
    python benchmarks/train_throughput.py --size 7b --steps 10   # needs a >= 70 GiB GPU (H100/H200/A100-80G)

One training step = forward + backward + AdamW update with the vision tower frozen (as in fourdpqa.train), bf16 on
CUDA. The 4DP-QA paper reports ~0.39 samples/s per A100 for its 7B fine-tuning; compare per-GPU figures.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fourdpqa.device import resolve_device  # noqa: E402
from fourdpqa.vlm.model import arch_config, freeze_vision_tower, tiny_config  # noqa: E402
from fourdpqa.vlm.processor import IGNORE_INDEX, Encoded, VisionSpec, collate, patchify_video  # noqa: E402
from fourdpqa.vlm.tokenizer import train_tokenizer  # noqa: E402

PAPER_SAMPLES_PER_S_PER_A100 = 0.39
MIN_GPU_GIB = {"3b": 40, "7b": 70}


def synthetic_example(cfg, spec: VisionSpec, frames: int, image_size: int, prompt_len: int, answer_len: int,
                      rng: np.random.Generator) -> Encoded:
    """Random frames + random text ids around the video placeholders; loss on the last ``answer_len`` tokens."""
    side = spec.side(image_size)
    clip = rng.integers(0, 256, (frames, side, side, 3), dtype=np.uint8)
    patches, grid = patchify_video(clip, spec)
    n_video = grid[0] * grid[1] * grid[2] // spec.merge_size**2
    special = {cfg.image_token_id, cfg.video_token_id, cfg.vision_start_token_id, cfg.vision_end_token_id}
    vocab = cfg.text_config.vocab_size
    text = [int(t) for t in rng.integers(0, vocab, prompt_len + answer_len) if int(t) not in special]
    text = (text * 2)[:prompt_len + answer_len]
    ids = ([cfg.vision_start_token_id] + [cfg.video_token_id] * n_video + [cfg.vision_end_token_id] + text)
    labels = [IGNORE_INDEX] * (len(ids) - answer_len) + ids[-answer_len:]
    return Encoded(torch.tensor(ids), torch.tensor(labels), torch.from_numpy(patches),
                   torch.tensor([grid]), torch.tensor([1.0]))


def build(size: str, device: torch.device, hidden: int, layers: int, vision_depth: int):
    if size == "tiny":
        cfg = tiny_config(train_tokenizer(["benchmark"], 300), hidden, layers, vision_depth)
    else:
        if device.type != "cuda":
            raise SystemExit(f"--size {size} needs a CUDA GPU")
        gib = torch.cuda.get_device_properties(device).total_memory / 2**30
        if gib < MIN_GPU_GIB[size]:
            raise SystemExit(f"--size {size} needs >= {MIN_GPU_GIB[size]} GiB of GPU memory, this GPU has {gib:.0f}")
        cfg = arch_config(size)
    from transformers import Qwen2_5_VLForConditionalGeneration

    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    with device:
        model = Qwen2_5_VLForConditionalGeneration._from_config(cfg, dtype=dtype)
    freeze_vision_tower(model)
    return model, cfg


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=["tiny", "3b", "7b"], default="tiny")
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--image-size", type=int, default=448)
    ap.add_argument("--batch-size", type=int, default=1)
    ap.add_argument("--steps", type=int, default=5, help="timed steps (after --warmup untimed ones)")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--gradient-checkpointing", action="store_true", help="trade compute for activation memory")
    ap.add_argument("--tiny-hidden", type=int, default=64)
    ap.add_argument("--tiny-layers", type=int, default=2)
    ap.add_argument("--tiny-vision-depth", type=int, default=2)
    args = ap.parse_args(argv)

    device = resolve_device(args.device)
    torch.manual_seed(0)
    model, cfg = build(args.size, device, args.tiny_hidden, args.tiny_layers, args.tiny_vision_depth)
    if args.gradient_checkpointing:
        model.gradient_checkpointing_enable()
    model.train()
    spec = VisionSpec()
    rng = np.random.default_rng(0)
    batch = collate([synthetic_example(cfg, spec, args.frames, args.image_size, 64, 8, rng)
                     for _ in range(args.batch_size)], cfg.text_config.pad_token_id or 0, cfg.video_token_id)
    batch = {k: v.to(device) for k, v in batch.items()}
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-5)

    def step() -> float:
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            loss = model(**batch).loss
        loss.backward()
        opt.step()
        return float(loss.detach())

    for _ in range(args.warmup):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - t0
    sps = args.steps * args.batch_size / seconds
    n_params = sum(p.numel() for p in model.parameters())
    out = {
        "size": args.size, "device": str(device), "params_m": round(n_params / 1e6, 2),
        "frames": args.frames, "side": spec.side(args.image_size), "seq_len": int(batch["input_ids"].shape[1]),
        "batch_size": args.batch_size, "samples_per_s": round(sps, 4), "s_per_step": round(seconds / args.steps, 3),
        "peak_gpu_gib": round(torch.cuda.max_memory_allocated(device) / 2**30, 1) if device.type == "cuda" else None,
    }
    print(" ".join(f"{k}={v}" for k, v in out.items()))
    print(f"{sps:.3f} samples/s ({args.size}, {args.frames} frames x {out['side']}^2, {device}); "
          f"paper reference ~{PAPER_SAMPLES_PER_S_PER_A100} samples/s per A100 (7B)")
    return out


if __name__ == "__main__":
    main()
