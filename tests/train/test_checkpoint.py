"""Checkpoints: a killed run resumes the same loss curve and ends with a byte-identical model directory."""

from __future__ import annotations

import numpy as np
import torch
from tests.helpers.vlm_data import TINY_TRAIN as TINY

from fourdpqa.params import TrainParams
from fourdpqa.train import latest_checkpoint, train_model
from fourdpqa.vlm.model import load_vlm

CPU = torch.device("cpu")


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_resume_continues_the_same_loss_curve_and_model_bytes(convs, tmp_path):
    tp = TrainParams(**TINY, max_steps=8, batch_size=2, grad_accum=2, lr=5e-3, checkpoint_every=3)
    full = train_model(convs, tp, 1, CPU, tmp_path / "full", tmp_path / "ck_full")
    part = train_model(convs, tp, 1, CPU, tmp_path / "resumed", tmp_path / "ck", stop_after=5)  # "killed" at 5
    assert part.model_dir is None and len(part.losses) == 5
    assert latest_checkpoint(tmp_path / "ck").name == "step_00000003"  # only the newest is kept
    resumed = train_model(convs, tp, 1, CPU, tmp_path / "resumed", tmp_path / "ck")
    assert resumed.resumed_from == 3
    np.testing.assert_allclose(resumed.losses, full.losses, rtol=1e-5, atol=1e-6)
    a, b = load_vlm(str(tmp_path / "full")).model.state_dict(), load_vlm(str(tmp_path / "resumed")).model.state_dict()
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    # the resumed run reloads its tokenizer from the checkpoint; the saved configuration must not show it
    full_files, resumed_files = _files(tmp_path / "full"), _files(tmp_path / "resumed")
    assert set(full_files) == set(resumed_files)
    for name in set(full_files) - {"model.safetensors"}:  # weights agree to float tolerance (checked above)
        assert full_files[name] == resumed_files[name], name
    # a changed parameter set must not reuse the old checkpoint
    other = train_model(convs, tp.model_copy(update={"lr": 1e-3}), 1, CPU, None, tmp_path / "ck", stop_after=1)
    assert other.resumed_from == 0
