"""Qwen2.5-VL models: a tiny one built from a config in-process (no download), or real weights by id / path.

The tiny model keeps the whole chain (train -> evaluate) runnable on a CPU; the same code path fine-tunes a real
Qwen2.5-VL checkpoint when ``params.train.model`` names one.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoImageProcessor,
    AutoProcessor,
    AutoTokenizer,
    Qwen2_5_VLConfig,
    Qwen2_5_VLForConditionalGeneration,
    Qwen2VLImageProcessorPil,
)
from transformers.utils import logging as hf_logging

from fourdpqa.atomic import atomic_dir, write_json
from fourdpqa.vlm.processor import VisionSpec
from fourdpqa.vlm.tokenizer import IMAGE_PAD, VIDEO_PAD, VISION_END, VISION_START

log = logging.getLogger("fourdpqa.vlm")

RUN_CONFIG = "fourdpqa_vlm.json"  # frames / image size the model was trained with, read back by VLMRunner
TINY_HEAD_DIM = 16
VISION_PREFIX = "model.visual."
MERGER_PREFIX = "model.visual.merger."
LOAD_TIME_KEYS = ("is_local", "local_files_only")  # tokenizer_config.json keys that record how it was loaded

# Published Qwen2.5-VL architecture sizes (config.json of Qwen/Qwen2.5-VL-3B/7B-Instruct), for random-init benchmarks.
_ARCH = {
    "3b": dict(hidden=2048, inter=11008, layers=36, heads=16, kv=2, vocab=151936, tie=True,
               v_depth=32, v_hidden=1280, v_inter=3420, v_heads=16),
    "7b": dict(hidden=3584, inter=18944, layers=28, heads=28, kv=4, vocab=152064, tie=False,
               v_depth=32, v_hidden=1280, v_inter=3420, v_heads=16),
}


@dataclass
class LoadedVLM:
    model: Qwen2_5_VLForConditionalGeneration
    tokenizer: Any
    spec: VisionSpec
    run_config: dict


def _token_ids(tokenizer: Any) -> dict[str, int]:
    ids = {k: tokenizer.convert_tokens_to_ids(t) for k, t in (
        ("image_token_id", IMAGE_PAD), ("video_token_id", VIDEO_PAD),
        ("vision_start_token_id", VISION_START), ("vision_end_token_id", VISION_END))}
    if any(v is None or v == tokenizer.unk_token_id for v in ids.values()):
        raise ValueError(f"tokenizer lacks the Qwen vision special tokens: {ids}")
    return ids


def tiny_config(tokenizer: Any, hidden_size: int, layers: int, vision_depth: int) -> Qwen2_5_VLConfig:
    """A small Qwen2.5-VL config whose token ids come from ``tokenizer``; heads of 16 dims, M-RoPE split t/h/w."""
    if hidden_size % TINY_HEAD_DIM:
        raise ValueError(f"train.tiny_hidden_size must be a multiple of {TINY_HEAD_DIM}, got {hidden_size}")
    heads = hidden_size // TINY_HEAD_DIM
    half = TINY_HEAD_DIM // 2
    hw = half * 3 // 8
    return Qwen2_5_VLConfig(
        text_config=dict(
            vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=2 * hidden_size,
            num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=max(1, heads // 2),
            max_position_embeddings=32768,
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [half - 2 * hw, hw, hw]},
            bos_token_id=None, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        ),
        vision_config=dict(
            depth=vision_depth, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=hidden_size,
            fullatt_block_indexes=[vision_depth - 1], window_size=112,
        ),
        tie_word_embeddings=False,
        **_token_ids(tokenizer),
    )


def arch_config(size: str, vocab_size: int | None = None) -> Qwen2_5_VLConfig:
    """Random-init config with the published 3B / 7B sizes (throughput benchmarks; no weights involved)."""
    a = _ARCH[size]
    return Qwen2_5_VLConfig(
        text_config=dict(
            vocab_size=vocab_size or a["vocab"], hidden_size=a["hidden"], intermediate_size=a["inter"],
            num_hidden_layers=a["layers"], num_attention_heads=a["heads"], num_key_value_heads=a["kv"],
            max_position_embeddings=128000,
            rope_parameters={"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [16, 24, 24]},
            bos_token_id=151643, eos_token_id=151645,
        ),
        vision_config=dict(
            depth=a["v_depth"], hidden_size=a["v_hidden"], intermediate_size=a["v_inter"], num_heads=a["v_heads"],
            out_hidden_size=a["hidden"], fullatt_block_indexes=[7, 15, 23, 31], window_size=112,
        ),
        tie_word_embeddings=a["tie"],
    )


def build_tiny_model(tokenizer: Any, hidden_size: int, layers: int, vision_depth: int,
                     seed: int) -> Qwen2_5_VLForConditionalGeneration:
    """Randomly initialised tiny model; the same seed gives the same weights (resume rebuilds it this way)."""
    torch.manual_seed(seed)
    return Qwen2_5_VLForConditionalGeneration(tiny_config(tokenizer, hidden_size, layers, vision_depth)).eval()


def load_processor_parts(path_or_id: str) -> tuple[Any, Any]:
    """(tokenizer, image processor) of a checkpoint. ``AutoProcessor`` first (GPU installs with torchvision);
    without torchvision it cannot build the Qwen video processor, so fall back to its two torch-free parts."""
    try:
        proc = AutoProcessor.from_pretrained(path_or_id)
        return proc.tokenizer, proc.image_processor
    # the usual reason: torchvision is not installed (docs/DESIGN.md "CPU install and torchvision")
    except ImportError as exc:
        log.debug("AutoProcessor unavailable, loading the tokenizer and the PIL image processor: %s",
                  " ".join(str(exc).split()))
    return AutoTokenizer.from_pretrained(path_or_id), AutoImageProcessor.from_pretrained(path_or_id)


def load_vlm(path_or_id: str, device: torch.device | str = "cpu", dtype: torch.dtype | None = None) -> LoadedVLM:
    """Model + tokenizer + vision spec from a HF id or a local directory (ours or any Qwen2.5-VL checkpoint)."""
    tokenizer, image_processor = load_processor_parts(path_or_id)
    local = Path(path_or_id).is_dir()  # a hub id keeps its download bars
    with _no_progress_bars() if local else contextlib.nullcontext():
        model = Qwen2_5_VLForConditionalGeneration.from_pretrained(path_or_id, dtype=dtype or torch.float32)
    model.to(device)
    run_config: dict = {}
    cfg_path = Path(path_or_id) / RUN_CONFIG
    if cfg_path.is_file():
        run_config = json.loads(cfg_path.read_text())
    return LoadedVLM(model.eval(), tokenizer, VisionSpec.from_image_processor(image_processor), run_config)


def default_image_processor(spec: VisionSpec) -> Qwen2VLImageProcessorPil:
    return Qwen2VLImageProcessorPil(
        patch_size=spec.patch_size, temporal_patch_size=spec.temporal_patch_size, merge_size=spec.merge_size,
        image_mean=list(spec.image_mean), image_std=list(spec.image_std),
    )


@contextlib.contextmanager
def _no_progress_bars() -> Iterator[None]:
    """transformers draws a bar per save ("Writing model shards") and load ("Loading weights"): noise in dvc and
    Dagster logs for a local directory. Off for the call, restored after."""
    was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_on:
            hf_logging.enable_progress_bar()


def _drop_load_time_keys(tokenizer_dir: Path) -> None:
    """A tokenizer loaded with ``from_pretrained`` saves how it was loaded (``is_local``, ``local_files_only``); a
    resumed run would then write a different ``tokenizer_config.json`` than an uninterrupted one."""
    path = tokenizer_dir / "tokenizer_config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    write_json(path, {k: v for k, v in config.items() if k not in LOAD_TIME_KEYS})


def save_vlm(model: torch.nn.Module, tokenizer: Any, spec: VisionSpec, out_dir: str | Path,
             run_config: dict) -> Path:
    """Write a directory ``load_vlm`` (and ``from_pretrained`` / lmms-eval ``pretrained=``) can read, atomically;
    the same weights and tokenizer give the same bytes however the tokenizer was obtained."""
    with atomic_dir(out_dir) as tmp, _no_progress_bars():
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        _drop_load_time_keys(tmp)
        default_image_processor(spec).save_pretrained(tmp)
        write_json(tmp / RUN_CONFIG, run_config)
    return Path(out_dir)


def freeze_vision_tower(model: torch.nn.Module) -> None:
    """Freeze the ViT blocks and patch embedding; the merger (projector into the LLM) and the LLM stay trainable."""
    for name, p in model.named_parameters():
        if name.startswith(VISION_PREFIX) and not name.startswith(MERGER_PREFIX):
            p.requires_grad_(False)


def add_lora(model: torch.nn.Module, r: int) -> torch.nn.Module:
    """LoRA adapters on the LLM attention/MLP projections (not the ViT); the merger stays fully trainable."""
    from peft import LoraConfig, get_peft_model

    targets = r"model\.language_model\.layers\.\d+\.(self_attn\.(q|k|v|o)_proj|mlp\.(gate|up|down)_proj)"
    cfg = LoraConfig(r=r, lora_alpha=2 * r, lora_dropout=0.0, target_modules=targets,
                     modules_to_save=["model.visual.merger"])
    return get_peft_model(model, cfg)
