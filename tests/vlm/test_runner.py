"""Constrained answers of a Qwen2.5-VL checkpoint: the most likely allowed answer, checked against the model's own
training loss per candidate; the HF predictor then answers MC with a letter and yes/no with yes or no."""

from __future__ import annotations

import numpy as np
import pytest

from fourdpqa.predictors.base import Sample
from fourdpqa.predictors.hf import HFPredictor
from fourdpqa.vlm.model import build_tiny_model, save_vlm
from fourdpqa.vlm.processor import IGNORE_INDEX, VisionSpec, collate, encode
from fourdpqa.vlm.runner import VLMRunner
from fourdpqa.vlm.tokenizer import train_tokenizer

PROMPT = "Which way does the sphere move?\nA. left\nB. right\nC. up\nD. down\nAnswer with the letter."


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    tok = train_tokenizer([PROMPT, "Is it moving? Answer yes or no.", "yes", "no", "A B C D", "1.5"], 300)
    out = tmp_path_factory.mktemp("tiny") / "model"
    save_vlm(build_tiny_model(tok, 32, 1, 1, seed=7), tok, VisionSpec(), out, {"frames": 4, "image_size": 28})
    return out


def clip(seed: int) -> list[np.ndarray]:
    return list(np.random.default_rng(seed).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8))


def test_choose_picks_the_candidate_with_the_lowest_summed_training_loss(checkpoint):
    runner = VLMRunner(checkpoint, device="cpu")
    for seed in range(3):
        candidates = ["A", "B", "C", "D", "yes"]
        nll = []
        for c in candidates:  # the model's own loss: mean cross-entropy over the answer tokens
            enc = encode(runner.tokenizer, runner.spec, clip(seed), PROMPT, c, runner.frames, runner.image_size)
            batch = collate([enc], runner.pad_id, runner.video_token_id)
            n_tokens = int((batch["labels"] != IGNORE_INDEX).sum())
            nll.append(float(runner.model(**batch).loss) * n_tokens)
        assert runner.choose([(clip(seed), PROMPT, candidates)]) == [candidates[int(np.argmin(nll))]]


def test_constrained_predictor_answers_in_the_records_format(checkpoint):
    records = [{"answer_format": "mc", "options": ["left", "right", "up", "down"]},
               {"answer_format": "yn", "options": ["yes", "no"]},
               {"answer_format": "numeric", "options": []}]
    batch = [Sample(clip(i), PROMPT, r) for i, r in enumerate(records)]
    constrained = HFPredictor(checkpoint, device="cpu", max_new_tokens=3, constrained=True).predict(batch)
    assert constrained[0] in "ABCD" and len(constrained[0]) == 1 and constrained[1] in ("yes", "no")
    free = HFPredictor(checkpoint, device="cpu", max_new_tokens=3).predict(batch)
    assert free[2] == constrained[2]  # other formats are generated either way


def test_an_answer_prior_calibrates_the_choice(checkpoint, tmp_path):
    """With ``answer_prior`` in the run config, choose = argmax of (log-likelihood - prior): a prior that holds
    the model's own score of its favourite answer on this clip flips the choice to the runner-up."""
    from fourdpqa.vlm.runner import candidate_logprobs

    runner = VLMRunner(checkpoint, device="cpu")
    candidates = ["yes", "no"]
    lp = candidate_logprobs(runner.model, runner.tokenizer, runner.spec, clip(0), PROMPT, candidates, runner.frames,
                            runner.image_size, runner.device).numpy()
    best = int(np.argmax(lp))
    prior = [0.0, 0.0]
    prior[best] = float(lp[best] - lp[1 - best]) + 1.0  # the favourite loses by one nat once calibrated
    out = tmp_path / "calibrated"
    save_vlm(runner.model, runner.tokenizer, runner.spec, out,
             {"frames": 4, "image_size": 28, "answer_prior": {"yes|no": prior}})
    assert runner.choose([(clip(0), PROMPT, candidates)]) == [candidates[best]]
    assert VLMRunner(out, device="cpu").choose([(clip(0), PROMPT, candidates)]) == [candidates[1 - best]]
