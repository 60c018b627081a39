"""Training FLOP formula vs torch's FlopCounterMode on a tiny model, the 7B configuration vs the published one,
and parameter roles vs counts written out from the config sizes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers.benchmark_scripts import load_benchmark
from torch.utils.flop_counter import FlopCounterMode
from transformers import Qwen2_5_VLForConditionalGeneration

from fourdpqa.vlm.flops import (
    A100_PEAK,
    ParamCounts,
    mfu,
    paper_flops_per_sample,
    train_flops_per_sample,
    vision_attention_pairs,
)
from fourdpqa.vlm.model import arch_config, freeze_vision_tower, tiny_config
from fourdpqa.vlm.processor import VisionSpec, collate
from fourdpqa.vlm.tokenizer import train_tokenizer

# config.json of Qwen/Qwen2.5-VL-7B-Instruct (https://huggingface.co/Qwen/Qwen2.5-VL-7B-Instruct/blob/main/config.json;
# its vision_config lists hidden_size 1280 and patch 14, the other vision sizes are transformers'
# Qwen2_5_VLVisionConfig defaults, written out in full by later saves of the same model).
PUBLISHED_7B = {"hidden_size": 3584, "intermediate_size": 18944, "num_hidden_layers": 28, "num_attention_heads": 28,
                "num_key_value_heads": 4, "vocab_size": 152064, "tie_word_embeddings": False,
                "vision": {"depth": 32, "hidden_size": 1280, "intermediate_size": 3420, "num_heads": 16,
                           "out_hidden_size": 3584, "patch_size": 14, "spatial_merge_size": 2, "window_size": 112,
                           "fullatt_block_indexes": [7, 15, 23, 31]}}


@pytest.mark.parametrize("frames,size", [(4, 112), (8, 224)])
def test_formula_matches_flop_counter_on_a_training_step(frames, size):
    """One forward + backward with the vision tower frozen; eager attention so every matmul is counted."""
    bench = load_benchmark("train_throughput")
    cfg = tiny_config(train_tokenizer(["flops"], 300), 64, 2, 4)
    torch.manual_seed(0)
    model = Qwen2_5_VLForConditionalGeneration._from_config(cfg, attn_implementation="eager")
    freeze_vision_tower(model)
    model.train()
    ex = bench.synthetic_example(cfg, VisionSpec(), frames, size, 64, 8, np.random.default_rng(0))
    batch = collate([ex], cfg.text_config.pad_token_id or 0, cfg.video_token_id)
    with FlopCounterMode(display=False) as counter:
        model(**batch).loss.backward()
    counted = counter.get_flop_counts()
    flops = train_flops_per_sample(ParamCounts.of(model), cfg, len(ex.input_ids), ex.video_grid_thw.tolist())
    assert flops["llm_attention"] > 0.1 * flops["total"] and flops["vision_attention"] > 0.01 * flops["total"]
    assert flops["total"] == pytest.approx(counter.get_total_flops(), rel=0.1)
    visual = sum(counted["Qwen2_5_VLForConditionalGeneration.model.visual"].values())  # tower + merger, fwd + bwd
    assert flops["vision_dense"] + flops["vision_attention"] + flops["merger"] == pytest.approx(visual, rel=0.1)


def test_vision_attention_pairs_hand_cases():
    vc = arch_config("7b").vision_config  # windows of 4 x 4 merged tokens = 64 patches; 4 full-attention blocks
    # 2 temporal patches of 8 x 8: one window per frame, equal to the full-attention group
    assert vision_attention_pairs(vc, [(2, 8, 8)]) == 32 * 2 * 64**2
    # 10 x 6 patches = 5 x 3 merged: windows of 4 x 3 and 1 x 3 merged (48 and 12 patches)
    assert vision_attention_pairs(vc, [(1, 10, 6)]) == 4 * 60**2 + 28 * (48**2 + 12**2)


def test_vision_attention_groups_match_transformers_windows():
    vision_utils = pytest.importorskip("transformers.vision_utils")
    vc = arch_config("7b").vision_config
    grid = torch.tensor([[3, 12, 20], [1, 34, 18]])
    _, cu = vision_utils.get_vision_window_index(grid, vc.spatial_merge_size, vc.window_size, vc.patch_size)
    windows = int((torch.diff(cu).long() ** 2).sum())
    full = sum(t * (h * w) ** 2 for t, h, w in grid.tolist())
    assert vision_attention_pairs(vc, grid.tolist()) == 4 * full + 28 * windows


@pytest.fixture(scope="module")
def meta_7b():
    cfg = arch_config("7b")
    with torch.device("meta"):
        model = Qwen2_5_VLForConditionalGeneration._from_config(cfg)
    freeze_vision_tower(model)
    return cfg, ParamCounts.of(model)


def test_7b_configuration_is_the_published_one_and_params_split_by_role(meta_7b):
    cfg, counts = meta_7b
    tc, vc = cfg.text_config, cfg.vision_config
    for key, value in PUBLISHED_7B.items():
        if key != "vision":
            assert getattr(tc if key != "tie_word_embeddings" else cfg, key) == value, key
    for key, value in PUBLISHED_7B["vision"].items():
        assert getattr(vc, key) == value, key
    d, f, kv = 3584, 18944, 4 * 128
    layer = d * d + d + 2 * (d * kv + kv) + d * d + 3 * d * f + 2 * d  # q(+b), k, v (+b), o, gate/up/down, 2 norms
    assert counts.llm == 28 * layer + d + 152064 * d  # + final norm + untied lm_head
    assert counts.embedding == 152064 * d
    e, g = 1280, 3420
    block = e * 3 * e + 3 * e + e * e + e + 2 * (e * g + g) + g * e + e + 2 * e
    assert counts.vision == 3 * 2 * 14 * 14 * e + 32 * block  # bias-free Conv3d patch embedding + blocks
    assert counts.merger == e + (4 * e) ** 2 + 4 * e + 4 * e * d + d
    assert counts.frozen == counts.vision and counts.trainable == counts.llm + counts.merger + counts.embedding
    assert round((counts.trainable + counts.frozen) / 1e9, 2) == 8.29  # "8.29B params" on the model card


def test_paper_throughput_as_mfu():
    flops = paper_flops_per_sample(72)
    # 7.07e9 trainable LLM weights x 4170 tokens dominate; 32 frames x 448^2 = 16384 patches, 4096 visual tokens
    assert flops["llm_dense"] == pytest.approx(6 * 7.0706e9 * (4096 + 2 + 72), rel=1e-3)
    assert flops["vision_dense"] == pytest.approx(2 * 0.632e9 * 16384, rel=1e-2)
    assert 0.25 < mfu(flops["total"], 0.39, A100_PEAK) < 0.30
