"""The training loop: loss goes down, the vision tower stays frozen, real checkpoints and LoRA train, callbacks see
every step once."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tests.helpers.vlm_data import TINY_TRAIN as TINY

from fourdpqa.params import TrainParams
from fourdpqa.train import TrainCallback, checkpoint_extra, train_model
from fourdpqa.vlm.model import MERGER_PREFIX, VISION_PREFIX, build_tiny_model, load_vlm

CPU = torch.device("cpu")


def test_loss_decreases_on_repeated_batch(convs):
    tp = TrainParams(**TINY, max_steps=30, batch_size=2, lr=1e-2, warmup_ratio=0.1)
    res = train_model(convs[:2], tp, seed=0, device=CPU, out_dir=None)
    assert len(res.losses) == 30 and res.steps == 30
    assert np.mean(res.losses[-5:]) < 0.5 * np.mean(res.losses[:5])


class Recorder(TrainCallback):
    def __init__(self) -> None:
        self.steps: list[tuple[int, float, float]] = []

    def on_step(self, step: int, loss: float, lr: float) -> None:
        self.steps.append((step, loss, lr))

    def checkpoint_state(self) -> dict:
        return {"seen": len(self.steps)}


def test_callback_sees_each_step_with_the_curve_values(convs, tmp_path):
    tp = TrainParams(**TINY, max_steps=5, batch_size=2, lr=5e-3, warmup_ratio=0.4, checkpoint_every=2)
    rec = Recorder()
    res = train_model(convs, tp, 0, CPU, None, tmp_path / "ck", callback=rec)
    assert [s for s, _, _ in rec.steps] == [1, 2, 3, 4, 5]
    assert [loss for _, loss, _ in rec.steps] == res.losses and [lr for _, _, lr in rec.steps] == res.lrs
    # linear warm-up over round(0.4 * 5) = 2 steps: the first step runs at lr 0, the second at half the peak
    assert res.lrs[:2] == pytest.approx([0.0, 2.5e-3])
    assert checkpoint_extra(tmp_path / "ck", res.fingerprint) == {"seen": 5}  # state saved with the last checkpoint


def test_vision_tower_frozen_llm_and_merger_trained(convs, tmp_path):
    tp = TrainParams(**TINY, max_steps=4, batch_size=2, lr=5e-3)
    res = train_model(convs, tp, 2, CPU, tmp_path / "m", None)
    trained = load_vlm(str(res.model_dir))
    init = build_tiny_model(trained.tokenizer, 32, 1, 1, seed=2).state_dict()
    after = trained.model.state_dict()
    vision = [k for k in init if k.startswith(VISION_PREFIX) and not k.startswith(MERGER_PREFIX)]
    merger = [k for k in init if k.startswith(MERGER_PREFIX)]
    llm = [k for k in init if k.startswith("model.language_model.") or k.startswith("lm_head.")]
    assert vision and merger and llm
    assert all(torch.equal(init[k], after[k]) for k in vision)
    assert all(not torch.equal(init[k], after[k]) for k in merger if k.endswith("weight"))
    assert sum(not torch.equal(init[k], after[k]) for k in llm) >= len(llm) - 1  # all but perhaps unused rows


def test_fine_tunes_a_local_checkpoint_through_the_real_loading_path(convs, tmp_path):
    tp = TrainParams(**TINY, max_steps=6, batch_size=4, lr=1e-2)
    base = train_model(convs, tp, 0, CPU, tmp_path / "base", None)
    tuned = train_model(convs, tp.model_copy(update={"model": str(base.model_dir), "max_steps": 2}), 0, CPU,
                        tmp_path / "tuned", None)
    assert tuned.losses[0] < base.losses[0]  # starts from the trained weights, not a fresh init
    a, b = load_vlm(str(base.model_dir)).model.state_dict(), load_vlm(str(tuned.model_dir)).model.state_dict()
    vision = [k for k in a if k.startswith(VISION_PREFIX) and not k.startswith(MERGER_PREFIX)]
    assert all(torch.equal(a[k], b[k]) for k in vision)


def test_lora_option_trains_and_saves_a_plain_model(convs, tmp_path):
    tp = TrainParams(**TINY, max_steps=3, batch_size=2, lr=5e-3, lora=True, lora_r=4)
    res = train_model(convs, tp, 0, CPU, tmp_path / "lora", None)
    loaded = load_vlm(str(res.model_dir))  # merged: loads as a plain Qwen2.5-VL model
    assert not any("lora" in k for k in loaded.model.state_dict())


def test_the_saved_model_carries_its_answer_prior(convs, tmp_path):
    """``answer_prior`` = the model's mean log-likelihood of each yes/no and MC answer over the training questions
    of that format, recomputed here from the saved model's own loss (mean cross-entropy x answer tokens)."""
    from fourdpqa.vlm.processor import IGNORE_INDEX, collate, encode

    tp = TrainParams(**TINY, max_steps=2, batch_size=2)
    train_model(convs, tp, seed=0, device=CPU, out_dir=tmp_path / "m")
    loaded = load_vlm(str(tmp_path / "m"))
    prior = loaded.run_config["answer_prior"]
    assert set(prior) == {"yes|no", "A|B|C|D"}  # the export has yes/no and MC questions
    pad = loaded.tokenizer.pad_token_id
    for key, fmt in (("yes|no", "yn"), ("A|B|C|D", "mc")):
        pool = [c for c in convs if c.answer_format == fmt]
        for j, cand in enumerate(key.split("|")):
            lls = []
            for c in pool:
                enc = encode(loaded.tokenizer, loaded.spec, c.load_frames(), c.prompt, cand, tp.frames, tp.image_size)
                batch = collate([enc], pad, loaded.model.config.video_token_id)
                with torch.no_grad():
                    lls.append(-float(loaded.model(**batch).loss) * int((batch["labels"] != IGNORE_INDEX).sum()))
            assert prior[key][j] == pytest.approx(np.mean(lls), abs=2e-5)
