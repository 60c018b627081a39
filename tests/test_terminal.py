"""What a person sees in the terminal: a progress bar for each long step (clip export, the leakage and oracle
checks, each evaluated predictor) when attached to a terminal, and a train stage without stray warnings or
third-party progress bars."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from tests.helpers.vlm_data import write_export

from tests.helpers.dataset_data import small_params, toy_oracle, write_data_root

ROOT = Path(__file__).resolve().parents[1]


class Terminal(io.StringIO):
    """stderr as a terminal: tqdm draws its bars only when the stream is a tty."""

    def isatty(self) -> bool:
        return True


def test_long_steps_draw_progress_bars_on_a_terminal(tmp_path, monkeypatch):
    from fourdpqa.assemble import assemble
    from fourdpqa.params import Params
    from fourdpqa.evaluate import make_samples, predict_all
    from fourdpqa.predictors import build_predictor

    root = write_data_root(tmp_path / "data", n_videos=4, per_type=2)
    params = small_params(root, train_size=40, benchmark_size=20, benchmark_video_share=0.25)
    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    result = assemble(params, oracle=toy_oracle)
    samples = make_samples(result.benchmark.to_dicts(), root / "dataset")
    predict_all(build_predictor("random", Params(base={"data_root": str(root)})), samples, batch_size=8)
    shown = term.getvalue()
    assert "export clips: 100%" in shown and "check_leakage: 100%" in shown
    assert "check_answer_consistency: 100%" in shown
    assert "evaluate random: 100%|" in shown and f"{len(samples)}/{len(samples)}" in shown


@pytest.mark.slow
def test_train_stage_prints_no_stray_warnings(tmp_path):
    root = tmp_path / "data"
    write_export(root / "dataset" / "exports")
    params = {"base": {"data_root": str(root), "num_threads": 1},
              "train": {"tiny_hidden_size": 32, "tiny_layers": 1, "tiny_vision_depth": 1, "frames": 2,
                        "image_size": 28, "max_steps": 2, "batch_size": 2, "max_train_samples": None}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLFLOW_ALLOW_FILE_STORE": "true"}
    env.pop("MLFLOW_TRACKING_URI", None)
    proc = subprocess.run([sys.executable, "-m", "fourdpqa", "train", "--params", str(tmp_path / "params.yaml")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout + proc.stderr
    for noise in ("Writing model shards", "Loading weights", "Torchvision", "torchvision", "Warning:", "warn("):
        assert noise not in out, f"{noise!r} in the train stage output:\n{out[-3000:]}"
    assert json.loads((root / "metrics" / "train.json").read_text())["steps"] == 2
