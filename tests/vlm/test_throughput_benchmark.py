"""The throughput benchmark's synthetic batch has the model's input structure, and a tiny run completes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from fourdpqa.vlm.processor import IGNORE_INDEX, VisionSpec

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("train_throughput", ROOT / "benchmarks" / "train_throughput.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_synthetic_example_matches_the_7b_layout():
    bench = _bench()
    cfg = bench.arch_config("7b")
    assert (cfg.text_config.hidden_size, cfg.text_config.num_hidden_layers, cfg.vision_config.depth) == (3584, 28, 32)
    e = bench.synthetic_example(cfg, VisionSpec(), 32, 448, 64, 8, np.random.default_rng(0))
    assert e.video_grid_thw.tolist() == [[16, 32, 32]]  # 32 frames x 448^2 -> 16 x 32 x 32 patches
    assert int((e.input_ids == cfg.video_token_id).sum()) == 16 * 32 * 32 // 4
    assert int((e.labels != IGNORE_INDEX).sum()) == 8 and e.pixel_values_videos.shape == (16384, 1176)


def test_tiny_run_reports_a_throughput(capsys):
    out = _bench().main(["--size", "tiny", "--frames", "2", "--image-size", "28", "--steps", "1", "--warmup", "0",
                         "--device", "cpu", "--tiny-hidden", "32", "--tiny-layers", "1", "--tiny-vision-depth", "1"])
    assert out["samples_per_s"] > 0 and out["seq_len"] == 1 + 1 + 1 + 72
    assert "samples/s" in capsys.readouterr().out
