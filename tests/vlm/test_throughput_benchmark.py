"""The throughput benchmark's synthetic batch has the model's input structure, and a tiny run reports throughput,
trainable and frozen parameters apart, FLOPs that torch's counter confirms, and MFU."""

from __future__ import annotations

import numpy as np
from helpers.benchmark_scripts import load_benchmark

from fourdpqa.vlm.processor import IGNORE_INDEX, VisionSpec


def test_synthetic_example_matches_the_7b_layout():
    bench = load_benchmark("train_throughput")
    cfg = bench.arch_config("7b")
    assert (cfg.text_config.hidden_size, cfg.text_config.num_hidden_layers, cfg.vision_config.depth) == (3584, 28, 32)
    e = bench.synthetic_example(cfg, VisionSpec(), 32, 448, 64, 8, np.random.default_rng(0))
    assert e.video_grid_thw.tolist() == [[16, 32, 32]]  # 32 frames x 448^2 -> 16 x 32 x 32 patches
    assert int((e.input_ids == cfg.video_token_id).sum()) == 16 * 32 * 32 // 4
    assert int((e.labels != IGNORE_INDEX).sum()) == 8 and e.pixel_values_videos.shape == (16384, 1176)


def test_tiny_run_reports_throughput_flops_and_mfu(capsys):
    out = load_benchmark("train_throughput").main(
        ["--size", "tiny", "--frames", "2", "--image-size", "28", "--steps", "1", "--warmup", "0", "--device", "cpu",
         "--tiny-hidden", "32", "--tiny-layers", "1", "--tiny-vision-depth", "1"])
    assert out["samples_per_s"] > 0 and out["seq_len"] == 1 + 1 + 1 + 72
    assert 0 < out["params_frozen_m"] < out["params_trainable_m"]  # the vision blocks are frozen, the rest trains
    assert 0.9 < out["flop_counter_ratio"] < 1.1 and 0 < out["mfu"] < 1
    assert 0.25 < out["paper_mfu"] < 0.30
    text = capsys.readouterr().out
    assert "samples/s" in text and "MFU" in text and "FlopCounterMode" in text
