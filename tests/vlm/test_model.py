"""Tiny model build -> save -> load through the real loading path -> batched greedy generation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fourdpqa.vlm import model as vlm_model
from fourdpqa.vlm.model import (
    RUN_CONFIG, add_lora, build_tiny_model, freeze_vision_tower, load_vlm, save_vlm, tiny_config,
)
from fourdpqa.vlm.processor import VisionSpec
from fourdpqa.vlm.runner import VLMRunner
from fourdpqa.vlm.tokenizer import VIDEO_PAD, VISION_START, train_tokenizer


@pytest.fixture(scope="module")
def tok():
    return train_tokenizer(["Is the camera moving to the left? Answer yes or no.", "yes", "no"], 300)


@pytest.fixture(scope="module")
def saved(tok, tmp_path_factory):
    model = build_tiny_model(tok, 32, 1, 1, seed=3)
    out = tmp_path_factory.mktemp("tiny") / "model"
    save_vlm(model, tok, VisionSpec(), out, {"frames": 4, "image_size": 28})
    return model, out


def test_config_takes_token_ids_from_tokenizer(tok):
    cfg = tiny_config(tok, 32, 1, 1)
    assert cfg.video_token_id == tok.convert_tokens_to_ids(VIDEO_PAD)
    assert cfg.vision_start_token_id == tok.convert_tokens_to_ids(VISION_START)
    assert cfg.text_config.vocab_size == len(tok)
    assert cfg.vision_config.out_hidden_size == cfg.text_config.hidden_size == 32
    assert sum(cfg.text_config.rope_parameters["mrope_section"]) * 2 == 16  # head dim
    with pytest.raises(ValueError, match="multiple of 16"):
        tiny_config(tok, 40, 1, 1)


def test_same_seed_same_weights(tok):
    a, b = build_tiny_model(tok, 32, 1, 1, seed=5), build_tiny_model(tok, 32, 1, 1, seed=5)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_save_load_roundtrip(saved, monkeypatch):
    model, out = saved
    calls = []
    real = vlm_model.AutoProcessor.from_pretrained
    monkeypatch.setattr(vlm_model.AutoProcessor, "from_pretrained", lambda p: calls.append(p) or real(p))
    loaded = load_vlm(str(out))
    assert calls == [str(out)]  # AutoProcessor tried first (falls back without torchvision)
    assert loaded.run_config == {"frames": 4, "image_size": 28}
    assert loaded.spec == VisionSpec()
    ref = model.state_dict()
    got = loaded.model.state_dict()
    assert ref.keys() == got.keys() and all(torch.equal(ref[k], got[k]) for k in ref)
    assert (out / RUN_CONFIG).is_file()


def test_runner_generates_and_batching_does_not_change_answers(saved):
    _, out = saved
    rng = np.random.default_rng(0)
    items = [([rng.integers(0, 256, (24 + 8 * k, 32, 3), dtype=np.uint8) for _ in range(3 + k)], q)
             for k, q in enumerate(["Is the camera moving to the left?", "Q?", "Answer yes or no please."])]
    runner = VLMRunner(out, device="cpu", batch_size=3)
    assert (runner.frames, runner.image_size) == (4, 28)
    batched = runner.generate(items, max_new_tokens=5)
    assert len(batched) == 3 and all(isinstance(a, str) for a in batched)
    single = [runner.generate([it], max_new_tokens=5)[0] for it in items]
    assert batched == single  # left padding + attention mask + 3D RoPE per row


def test_lora_trains_adapters_and_merger_only(tok):
    model = build_tiny_model(tok, 32, 1, 1, seed=0)
    freeze_vision_tower(model)
    names = [n for n, p in add_lora(model, 4).named_parameters() if p.requires_grad]
    assert names and all("lora_" in n or "merger" in n for n in names)
    assert any("merger" in n for n in names) and any("lora_A" in n for n in names)
    assert not any(".visual.blocks." in n for n in names)
