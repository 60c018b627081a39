"""Fine-tuning throughput of a Qwen2.5-VL-architecture model, random init: samples/s, FLOPs per sample, MFU.

    python benchmarks/train_throughput.py --size tiny            # CPU-sized figure (small frames by default)
    python benchmarks/train_throughput.py --size 7b --steps 10   # 32 frames x 448^2, needs a >= 70 GiB GPU

One training step = forward + backward + AdamW update with the vision tower frozen (as in fourdpqa.train), bf16 on
CUDA. FLOPs per sample come from the formula in ``fourdpqa.vlm.flops`` (checked here against torch's
FlopCounterMode with ``--check-flops``, on by default for the tiny model); MFU divides the achieved FLOP/s by the
device's peak (bf16 dense datasheet peak on known GPUs, a measured matmul rate on CPU). The 4DP-QA paper's
~0.39 samples/s per A100 for its 7B fine-tuning (32 frames x 448^2) is converted to MFU with the same formula.
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
from fourdpqa.vlm.flops import (  # noqa: E402
    A100_PEAK,
    PAPER_FRAMES,
    PAPER_IMAGE_SIZE,
    PAPER_SAMPLES_PER_S_PER_A100,
    ParamCounts,
    mfu,
    paper_flops_per_sample,
    peak_flops,
    train_flops_per_sample,
)
from fourdpqa.vlm.model import arch_config, freeze_vision_tower, tiny_config  # noqa: E402
from fourdpqa.vlm.processor import IGNORE_INDEX, Encoded, VisionSpec, collate, patchify_video  # noqa: E402
from fourdpqa.vlm.tokenizer import train_tokenizer  # noqa: E402

MIN_GPU_GIB = {"3b": 40, "7b": 70}
PROMPT_LEN, ANSWER_LEN = 64, 8


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
    # eager attention on the tiny CPU model: FlopCounterMode counts its matmuls (not the fused CPU SDPA kernel)
    attn = {"attn_implementation": "eager"} if size == "tiny" else {}
    with device:
        model = Qwen2_5_VLForConditionalGeneration._from_config(cfg, dtype=dtype, **attn)
    freeze_vision_tower(model)
    return model, cfg


def counted_flops(model, batch: dict) -> float:
    """FLOPs torch's FlopCounterMode counts in one forward + backward of ``batch``."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        model(**batch).loss.backward()
    model.zero_grad(set_to_none=True)
    return float(counter.get_total_flops())


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=["tiny", "3b", "7b"], default="tiny")
    ap.add_argument("--frames", type=int, help="default: 32 (4 for tiny)")
    ap.add_argument("--image-size", type=int, help="default: 448 (112 for tiny)")
    ap.add_argument("--batch-size", type=int, default=1)
    ap.add_argument("--steps", type=int, default=5, help="timed steps (after --warmup untimed ones)")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--gradient-checkpointing", action="store_true", help="trade compute for activation memory")
    ap.add_argument("--check-flops", action=argparse.BooleanOptionalAction, default=None,
                    help="count one step with FlopCounterMode (default: on for tiny)")
    ap.add_argument("--tiny-hidden", type=int, default=64)
    ap.add_argument("--tiny-layers", type=int, default=2)
    ap.add_argument("--tiny-vision-depth", type=int, default=2)
    args = ap.parse_args(argv)
    tiny = args.size == "tiny"
    frames = args.frames or (4 if tiny else PAPER_FRAMES)
    image_size = args.image_size or (112 if tiny else PAPER_IMAGE_SIZE)

    device = resolve_device(args.device)
    torch.manual_seed(0)
    model, cfg = build(args.size, device, args.tiny_hidden, args.tiny_layers, args.tiny_vision_depth)
    if args.gradient_checkpointing:
        model.gradient_checkpointing_enable()
    model.train()
    spec = VisionSpec()
    rng = np.random.default_rng(0)
    examples = [synthetic_example(cfg, spec, frames, image_size, PROMPT_LEN, ANSWER_LEN, rng)
                for _ in range(args.batch_size)]
    batch = collate(examples, cfg.text_config.pad_token_id or 0, cfg.video_token_id)
    batch = {k: v.to(device) for k, v in batch.items()}
    counts = ParamCounts.of(model)
    flops = train_flops_per_sample(counts, cfg, len(examples[0].input_ids), examples[0].video_grid_thw.tolist())
    counted = counted_flops(model, batch) / args.batch_size if (tiny if args.check_flops is None else args.check_flops) else None
    seconds = _time_steps(model, batch, device, args.steps, args.warmup)
    sps = args.steps * args.batch_size / seconds
    peak, peak_source = peak_flops(device)
    out = {
        "size": args.size, "device": str(device),
        "params_trainable_m": round(counts.trainable / 1e6, 3), "params_frozen_m": round(counts.frozen / 1e6, 3),
        "frames": frames, "side": spec.side(image_size), "seq_len": int(batch["input_ids"].shape[1]),
        "batch_size": args.batch_size, "samples_per_s": round(sps, 4), "s_per_step": round(seconds / args.steps, 3),
        "flops_per_sample": flops["total"], "flop_counter_ratio": round(flops["total"] / counted, 4) if counted else None,
        "achieved_tflops": round(flops["total"] * sps / 1e12, 4), "peak_tflops": round(peak / 1e12, 2),
        "mfu": round(mfu(flops["total"], sps, peak), 4),
        "peak_gpu_gib": round(torch.cuda.max_memory_allocated(device) / 2**30, 1) if device.type == "cuda" else None,
    }
    paper = paper_flops_per_sample(PROMPT_LEN + ANSWER_LEN)
    out["paper_mfu"] = round(mfu(paper["total"], PAPER_SAMPLES_PER_S_PER_A100, A100_PEAK), 4)
    _report(out, flops, counted, peak_source, paper)
    return out


def _time_steps(model, batch: dict, device: torch.device, steps: int, warmup: int) -> float:
    """Seconds for ``steps`` training steps (forward, backward, AdamW) after ``warmup`` untimed ones."""
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            loss = model(**batch).loss
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def _report(out: dict, flops: dict, counted: float | None, peak_source: str, paper: dict) -> None:
    print(" ".join(f"{k}={v}" for k, v in out.items()))
    terms = " + ".join(f"{k} {v:.3g}" for k, v in flops.items() if k != "total")
    print(f"FLOPs/sample = 6*N_llm*T + 4*N_merger*V + 2*N_vision*P + 12*L*d*T^2 + 4*d_v*sum(s^2) = {terms} "
          f"= {flops['total']:.4g}")
    if counted:
        print(f"  formula vs torch FlopCounterMode: {flops['total']:.4g} vs {counted:.4g} (ratio {flops['total'] / counted:.3f})")
    print(f"{out['samples_per_s']:.4f} samples/s ({out['size']}, {out['frames']} frames x {out['side']}^2, "
          f"{out['device']}) = {out['achieved_tflops']:.4g} TFLOP/s = MFU {100 * out['mfu']:.2f}% of "
          f"{out['peak_tflops']:.4g} TFLOP/s ({peak_source})")
    print(f"paper: {PAPER_SAMPLES_PER_S_PER_A100} samples/s per A100 (7B, {PAPER_FRAMES} frames x {PAPER_IMAGE_SIZE}^2, "
          f"{PROMPT_LEN}+{ANSWER_LEN} text tokens assumed) x {paper['total']:.4g} FLOPs/sample = MFU "
          f"{100 * out['paper_mfu']:.1f}% of {A100_PEAK / 1e12:.0f} TFLOP/s")
    same = out["size"] == "7b" and (out["frames"], out["side"]) == (PAPER_FRAMES, PAPER_IMAGE_SIZE)
    print(f"MFU ratio to the paper: {out['mfu'] / out['paper_mfu']:.2f}x"
          + ("" if same else f" (not like for like: {out['size']} model, {out['frames']} frames x {out['side']}^2)"))


if __name__ == "__main__":
    main()
